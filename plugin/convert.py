"""Spool segment → Arrow tables per date partition, deterministic and duplicate-free.

Converting the same segment twice yields the same files under the same names, which is
what makes crash recovery exactly-once: a crash after the rename but before the segment
is deleted just rewrites identical files.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from .schema import (
    DERIVED_COLUMNS,
    EVENT_SCHEMA,
    SPOOL_SCHEMA,
    TIMESTAMP_COLUMNS,
    WRITER_COLUMNS,
)
from .spool import valid_lines

_PARSE = pajson.ParseOptions(explicit_schema=SPOOL_SCHEMA, unexpected_field_behavior="ignore")
_READ = pajson.ReadOptions(block_size=8 << 20)


def _read(data: bytes) -> pa.Table:
    return pajson.read_json(io.BytesIO(data), read_options=_READ, parse_options=_PARSE)


def _parse_each_good_line(lines: list[bytes]) -> list[pa.Table]:
    """Bisect down to the lines that do not parse and leave only those out."""
    try:
        return [_read(b"\n".join(lines) + b"\n")]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(lines) == 1:
            return []
    middle = len(lines) // 2
    return _parse_each_good_line(lines[:middle]) + _parse_each_good_line(lines[middle:])


def _parse(data: bytes) -> pa.Table:
    try:
        return _read(data)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # A failed or torn write can leave a fragment mid-file, and a row can hold a
        # value the schema refuses: keep every row that parses, lose only the bad ones.
        cleaned = valid_lines(data)
        tables = _parse_each_good_line(cleaned.splitlines()) if cleaned else []
        if not tables:
            return SPOOL_SCHEMA.empty_table()
        return pa.concat_tables(tables)


def _derived(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    """Durations in ms from the µs timestamps (the hot path writes only the timestamps)."""
    start = table.column("ts")
    end_name = {"latency_ms": "end_ts", "ttft_ms": "first_token_ts"}[name]
    if end_name not in table.column_names:
        return None
    micros = pc.subtract(table.column(end_name), start)
    # Unsafe: a malformed payload's duration past 2**53 µs (285 years) must lose precision,
    # not fail the whole segment's conversion.
    return pc.divide(micros.cast(pa.float64(), safe=False), 1000.0)


def _conform(table: pa.Table, constants: Mapping[str, object]) -> pa.Table:
    """Every schema column, in schema order, with the schema's types."""
    columns = []
    for field in EVENT_SCHEMA:
        column: pa.ChunkedArray | pa.Array | None = None
        if field.name in WRITER_COLUMNS:
            value = constants.get(field.name)
            column = pa.repeat(pa.scalar(value, field.type), table.num_rows)
        elif field.name in DERIVED_COLUMNS:
            column = _derived(table, field.name)
            if column is None:
                column = pa.nulls(table.num_rows, field.type)
        elif field.name == "capture":
            # Rows from the callback do not spend a key on saying so.
            present = table.column("capture") if "capture" in table.column_names else None
            column = (
                pc.fill_null(present, "callback")
                if present is not None
                else pa.repeat(pa.scalar("callback"), table.num_rows)
            )
        elif field.name in table.column_names:
            column = table.column(field.name)
            if field.name in TIMESTAMP_COLUMNS:
                column = column.cast(pa.timestamp("us")).cast(field.type)
            elif column.type != field.type:
                column = column.cast(field.type)
        else:
            column = pa.nulls(table.num_rows, field.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=EVENT_SCHEMA)


def _drop_duplicate_ids(table: pa.Table) -> pa.Table:
    ids = table.column("event_id")
    if pc.count_distinct(ids).as_py() == table.num_rows:
        return table
    return table.take(first_occurrences(ids.to_pylist()))


def _sorted_by_ts(table: pa.Table) -> pa.Table:
    """Rows by start time (what min/max statistics and compaction like); arrival order
    is nearly sorted already, so check before paying for a sort. The sort is stable,
    so the same segment always yields the same file."""
    ts = table.column("ts")
    if table.num_rows < 2 or pc.all(pc.greater_equal(ts[1:], ts[:-1])).as_py():
        return table
    return table.take(pc.sort_indices(table, sort_keys=[("ts", "ascending")]))


def parse_segment(data: bytes) -> pa.Table:
    """Spool lines → a raw table (SPOOL_SCHEMA) of the rows that have an id and a start."""
    raw = _parse(data)
    if raw.num_rows == 0:
        return raw
    return raw.filter(pc.and_(pc.is_valid(raw.column("event_id")), pc.is_valid(raw.column("ts"))))


def split_markers(raw: pa.Table, marker: str) -> tuple[pa.Table, pa.Table]:
    """(callback events, response markers) of a raw table."""
    is_marker = pc.fill_null(pc.equal(raw.column("capture"), marker), False)
    return raw.filter(pc.invert(is_marker)), raw.filter(is_marker)


def unsettled_markers(markers: pa.Table, events: pa.Table) -> pa.Table:
    """Markers no successful event of the same call has settled, one per call."""
    if markers.num_rows == 0:
        return markers
    succeeded = events.filter(pc.fill_null(pc.equal(events.column("status"), "success"), False))
    settled = pc.is_in(
        markers.column("call_id"), value_set=succeeded.column("call_id").combine_chunks()
    )
    open_markers = markers.filter(pc.invert(pc.fill_null(settled, False)))
    return open_markers.take(first_occurrences(open_markers.column("call_id").to_pylist()))


def first_occurrences(values: list[object]) -> pa.Array:
    """The index of each distinct value's first occurrence, in order: the earlier row wins."""
    seen: dict[object, int] = {}
    for index, value in enumerate(values):
        seen.setdefault(value, index)
    return pa.array(list(seen.values()), type=pa.int64())


def event_tables(raw: pa.Table, constants: Mapping[str, object]) -> dict[str, pa.Table]:
    """Raw rows → conformed tables keyed by UTC date (YYYY-MM-DD), duplicate-free, by ts.

    `constants` holds the writer columns (privacy_level, schema_version, llmstats_version,
    writer_id) of the process that spooled the rows."""
    if raw.num_rows == 0:
        return {}
    table = _sorted_by_ts(_drop_duplicate_ids(_conform(raw, constants)))
    dates = pc.strftime(table.column("ts"), format="%Y-%m-%d")
    result = {}
    for date in pc.unique(dates).to_pylist():
        result[date] = table.filter(pc.equal(dates, date))
    return result


def segment_tables(data: bytes, constants: Mapping[str, object]) -> dict[str, pa.Table]:
    """Spool lines → conformed tables by date (every row, markers included)."""
    return event_tables(parse_segment(data), constants)
