"""`llmstats report requests`: the most recent call attempts in the window, newest first.

One row per attempt (an event): a request that was retried or fell back shows each attempt,
all with the same `trace_id` (`llmstats trace ID` folds them together). Metadata only, as
everywhere: who, which model, tokens, cost, timing, outcome. The HTML dashboard's searchable
table is this report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UsageError
from ..query import Query
from .reports import Report, run

if TYPE_CHECKING:
    import duckdb

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


def recent_requests_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """The `--top` (default 100) most recent call attempts matching the window and filters."""
    if query.by:
        raise UsageError("requests lists single calls, not groups; drop --by")
    limit = query.top or DEFAULT_LIMIT
    source, params = query.source("event_costs")
    rows = run(
        con,
        f"SELECT {RECENT_COLUMNS} FROM {source} ORDER BY ts DESC, event_id LIMIT {int(limit)}",
        params,
    )
    return Report(
        f"Recent requests (times in {query.tz})",
        rows,
        {},
        ["One row per call attempt; the attempts of a retried request share its trace_id."],
    )
