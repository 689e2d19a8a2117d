"""Spool segment → Arrow tables per date partition, deterministic and duplicate-free.

Converting the same segment twice yields the same files under the same names, which is
what makes crash recovery exactly-once: a crash after the rename but before the segment
is deleted just rewrites identical files.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from .schema import EVENT_SCHEMA, SPOOL_SCHEMA, TIMESTAMP_COLUMNS
from .spool import valid_lines

_PARSE = pajson.ParseOptions(explicit_schema=SPOOL_SCHEMA, unexpected_field_behavior="ignore")
_READ = pajson.ReadOptions(block_size=8 << 20)


def _parse(data: bytes) -> pa.Table:
    try:
        return pajson.read_json(io.BytesIO(data), read_options=_READ, parse_options=_PARSE)
    except pa.ArrowInvalid:
        # A failed or torn write can leave a fragment mid-file; keep every whole row.
        cleaned = valid_lines(data)
        if not cleaned:
            return SPOOL_SCHEMA.empty_table()
        return pajson.read_json(io.BytesIO(cleaned), read_options=_READ, parse_options=_PARSE)


def _conform(table: pa.Table) -> pa.Table:
    """Every schema column, in schema order, with the schema's types."""
    columns = []
    for field in EVENT_SCHEMA:
        if field.name in table.column_names:
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
    seen: set[str] = set()
    keep = []
    for index, event_id in enumerate(ids.to_pylist()):
        if event_id not in seen:
            seen.add(event_id)
            keep.append(index)
    return table.take(keep)


def _sorted_by_ts(table: pa.Table) -> pa.Table:
    """Rows by start time (what min/max statistics and compaction like); arrival order
    is nearly sorted already, so check before paying for a sort. The sort is stable,
    so the same segment always yields the same file."""
    ts = table.column("ts")
    if table.num_rows < 2 or pc.all(pc.greater_equal(ts[1:], ts[:-1])).as_py():
        return table
    return table.take(pc.sort_indices(table, sort_keys=[("ts", "ascending")]))


def segment_tables(data: bytes) -> dict[str, pa.Table]:
    """Parse spool lines into conformed tables keyed by UTC date (YYYY-MM-DD), sorted by ts."""
    raw = _parse(data)
    if raw.num_rows == 0:
        return {}
    raw = raw.filter(pc.and_(pc.is_valid(raw.column("event_id")), pc.is_valid(raw.column("ts"))))
    table = _drop_duplicate_ids(_conform(raw))
    if table.num_rows == 0:
        return {}
    table = _sorted_by_ts(table)
    dates = pc.strftime(table.column("ts"), format="%Y-%m-%d")
    result = {}
    for date in pc.unique(dates).to_pylist():
        result[date] = table.filter(pc.equal(dates, date))
    return result
