"""Conversion's half of the fast row (raw_row.py): raw values → the spool's columns.

Each rule here is `extract.extract_event`'s rule for the same field, applied to a chunk of
rows at once; `tests/test_raw_row.py` proves that a fast row and `extract_event`'s row of
the same payload convert to the same event. A line written by `extract_event` (a marker,
a failure, a spool from an older version) has none of the raw fields and no empty
strings, and every rule leaves its columns as they are: the rules run on every row,
which costs less than finding out which rows are fast ones.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from .attempt_times import YEAR_3000
from .payload_fields import INT32_MAX
from .schema import SPOOL_SCHEMA

# Strings the fast row spools as read; extract_event turns an empty one into None.
_STRING_COLUMNS = (
    "trace_id", "model_group", "team_id", "team_alias", "org_id", "route", "service_tier",
    "key_hash", "key_alias", "user_id", "session_id",
)  # fmt: skip


def normalise(table: pa.Table) -> pa.Table:
    """A table read with SPOOL_READ_SCHEMA → the same rows in SPOOL_SCHEMA."""
    column = table.column
    replaced = {name: _blank_as_null(column(name)) for name in _STRING_COLUMNS}
    call_id = column("call_id")
    response_id = _blank_as_null(column("response_id"))
    same = pc.fill_null(pc.equal(response_id, call_id), False)
    replaced["response_id"] = pc.if_else(same, pa.scalar(None, pa.string()), response_id)
    replaced["end_ts"] = pc.coalesce(column("end_ts"), _epoch_us(column("end_s"), False))
    replaced["first_token_ts"] = pc.coalesce(
        column("first_token_ts"), _epoch_us(column("first_token_s"), True)
    )
    replaced["cache_read_tokens"] = pc.coalesce(
        column("cache_read_tokens"), _first_count(column("cache_read_a"), column("cache_read_b"))
    )
    replaced["cache_write_tokens"] = pc.coalesce(
        column("cache_write_tokens"),
        _first_count(column("cache_write_a"), column("cache_write_b"), column("cache_write_c")),
    )
    replaced["retries"] = pc.coalesce(column("retries"), _int32(column("retries_a")))
    # LiteLLM's count, else the fallback depth; a reported 0 stays 0.
    replaced["fallbacks"] = pc.coalesce(
        column("fallbacks"),
        _first_count(_int32(column("fallbacks_a")), _int32(column("fallback_depth"))),
    )
    replaced["client_retry_count"] = pc.coalesce(
        column("client_retry_count"), _retry_count(column("client_retry_s"))
    )
    columns = [
        replaced[field.name].cast(field.type) if field.name in replaced else column(field.name)
        for field in SPOOL_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=SPOOL_SCHEMA)


def _blank_as_null(values: pa.ChunkedArray) -> pa.ChunkedArray:
    # A null value makes a null condition, and if_else gives null for it: as it was.
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)


def _epoch_us(seconds: pa.ChunkedArray, positive: bool) -> pa.ChunkedArray:
    """A plausible epoch time, as `extract_event` takes one, then whole µs; a first token at 0
    counts as none."""
    low = pc.greater(seconds, 0.0) if positive else pc.greater_equal(seconds, 0.0)
    plausible = pc.and_(low, pc.less(seconds, YEAR_3000))
    micros = pc.multiply(seconds, 1_000_000.0)
    # Truncated toward zero, as int() does; the range test keeps the cast exact.
    whole = pc.trunc(micros).cast(pa.int64(), safe=False)
    return pc.if_else(pc.fill_null(plausible, False), whole, pa.scalar(None, pa.int64()))


def _first_count(*counts: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """`payload_fields.first_count`: the first positive count, 0 if a field said 0 (or less),
    None if none was reported."""
    none = pa.scalar(None, pa.int64())
    unreported = pc.is_null(counts[0])
    for count in counts[1:]:
        unreported = pc.and_(unreported, pc.is_null(count))
    chosen = pc.if_else(unreported, none, 0)
    for count in reversed(counts):
        chosen = pc.if_else(pc.fill_null(pc.greater(count, 0), False), count, chosen)
    return chosen


def _retry_count(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """`payload_fields.client_retry_count`: 1 to 9 ASCII digits, else None (the cast of anything
    else would fail the whole chunk, so it is left out before the cast)."""
    digits = pc.fill_null(pc.match_substring_regex(values, r"^[0-9]{1,9}$"), False)
    return pc.if_else(digits, values, pa.scalar(None, pa.string())).cast(pa.int32())


def _int32(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Counts beyond int32 are malformed: None, as `payload_fields.as_int32` makes them."""
    fits = pc.and_(pc.greater_equal(values, -INT32_MAX), pc.less_equal(values, INT32_MAX))
    return pc.if_else(pc.fill_null(fits, False), values, pa.scalar(None, pa.int64()))

