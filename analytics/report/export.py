"""`llmstats export`: the filtered events (with their costs) as a file others can read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UsageError
from ..query import Query
from .reports import run

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


def export_rows(con: duckdb.DuckDBPyConnection, query: Query) -> pa.Table:
    """Every event in the window matching the filters, with cost columns, oldest first."""
    if query.by:
        raise UsageError("export writes events, not groups; drop --by")
    source, params = query.source("event_costs")
    return run(con, f"SELECT * FROM {source} ORDER BY ts, event_id", params)


def write_parquet(table: pa.Table, output: str) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, output, compression="zstd")
