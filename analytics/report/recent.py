"""`llmstats report requests`: the most recent call attempts in the window, newest first.

One row per attempt (an event): a request that was retried or fell back shows each attempt,
all with the same `trace_id` (`llmstats trace ID` folds them together). Metadata only, as
everywhere: who, which model, tokens, cost, timing, outcome. The HTML dashboard's searchable
table is this report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..query import Query
from .reports import Report, run

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

DEFAULT_LIMIT = 100

# Times are rendered in the report's zone (a string: JSON/CSV readers get what the table
# shows; the zone is in the title). `$tz` is bound like every other report parameter.
RECENT_COLUMNS = """
    strftime(timezone($tz, ts), '%Y-%m-%d %H:%M:%S') AS time,
    status,
    provider,
    model,
    COALESCE(team_alias, team_id) AS team,
    COALESCE(key_alias, key_hash) AS key,
    user_id AS user,
    tags,
    input_tokens,
    output_tokens,
    cache_read_tokens AS cached_tokens,
    cost_usd,
    latency_ms,
    ttft_ms,
    error_class AS error,
    http_status,
    call_type,
    stream,
    retries,
    fallbacks,
    trace_id
"""


def newest_partitions(con: duckdb.DuckDBPyConnection, query: Query) -> Iterator[tuple[str, ...]]:
    """The window's newest partitions: the newest day, then 4, 16, … of them (never all).
    A partition holds the events of one UTC date of `ts`, so the newest N events of the
    newest partitions are the newest N of the window once those partitions hold N: a
    report of the latest calls reads a day or a few, not every event of the window
    (5.6 s at 10 M events over 90 days)."""
    from ..rollups.index import context_of

    context = context_of(con)
    if context is None:
        return
    dates = sorted(context.index.partitions, reverse=True)
    # Only the window's partitions: one wholly before --since holds none of its calls,
    # and reading it would only delay the fall-back to the whole window.
    first = query.since.astimezone(dt.UTC).date() if query.since is not None else dt.date.min
    last = query.until.astimezone(dt.UTC).date() if query.until is not None else dt.date.max
    dates = [d for d in dates if first <= dt.date.fromisoformat(d) <= last]
    count = 1
    while count < len(dates):
        yield tuple(dates[:count])
        count *= 4


def newest_calls(con: duckdb.DuckDBPyConnection, query: Query, columns: str,
                 count: int) -> pa.Table:
    """`columns` (SQL over event_costs) of the `count` newest calls of the query's window
    and filters, newest first (equal times by event_id): from the newest partitions
    while they hold `count`, the whole window otherwise."""
    order = f"ORDER BY ts DESC, event_id LIMIT {int(count)}"
    for dates in newest_partitions(con, query):
        source, params = query.source("event_costs", dates=dates)
        rows = run(con, f"SELECT {columns} FROM {source} {order}", params)
        if rows.num_rows >= count:
            return rows
    source, params = query.source("event_costs")
    return run(con, f"SELECT {columns} FROM {source} {order}", params)


def recent_requests_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """The `--top` (default 100) most recent call attempts matching the window and filters."""
    if query.by:
        raise UsageError("requests lists single calls, not groups; drop --by")
    rows = newest_calls(con, query, RECENT_COLUMNS, query.top or DEFAULT_LIMIT)
    return Report(
        f"Recent requests (times in {query.tz})",
        rows,
        {},
        ["One row per call attempt; the attempts of a retried request share its trace_id."],
    )
