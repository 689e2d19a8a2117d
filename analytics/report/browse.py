"""What a browser of the events needs besides the reports: one page of call attempts in any
allow-listed order (the dashboard's Requests page) and the values a dimension takes (its
filter bar's value picker). Values are bound parameters; identifiers come from allow-lists
only (query.DIMENSIONS and SORT_COLUMNS below)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..query import COST_ONLY, Query
from .recent import RECENT_COLUMNS, newest_calls
from .reports import run

if TYPE_CHECKING:
    import duckdb

# The orders a page may ask for: name → SQL over event_costs.
SORT_COLUMNS: dict[str, str] = {
    "time": "ts",
    "cost_usd": "cost_usd",
    "latency_ms": "latency_ms",
    "ttft_ms": "ttft_ms",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "model": "model",
    "provider": "provider",
    "team": "COALESCE(team_alias, team_id)",
    "status": "status",
}
# The orders of columns the events have without pricing: a page in one of them is found
# before it is priced (_page_then_price).
UNPRICED_SORTS = frozenset(SORT_COLUMNS) - {"cost_usd"}
MAX_PAGE = 500
MAX_VALUES = 50


@dataclasses.dataclass
class RequestsPage:
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


def requests_page(con: duckdb.DuckDBPyConnection, query: Query, *, offset: int = 0,
                  limit: int = 100, sort: str = "time", descending: bool = True) -> RequestsPage:
    """Call attempts matching the window and filters, `limit` of them from `offset` in the
    order asked (ties newest first), and how many match in all: pages through millions
    without loading them."""
    if sort not in SORT_COLUMNS:
        raise UsageError(f"cannot sort by {sort!r}; choose from {', '.join(SORT_COLUMNS)}")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise UsageError(f"a page holds 1 to {MAX_PAGE} rows from offset 0 or more")
    plain = dataclasses.replace(query, by=(), top=None)
    source, params = plain.source("event_costs")
    direction = "DESC" if descending else "ASC"
    priced_filter = any(key in COST_ONLY for key, _ in plain.where)
    order = (f"ORDER BY {SORT_COLUMNS[sort]} {direction} NULLS LAST, ts DESC, event_id "
             f"LIMIT {int(limit)}")
    if sort == "time" and descending:
        # The default order: the newest partitions hold the page (recent.newest_calls).
        rows = newest_calls(con, plain, f"{RECENT_COLUMNS}, event_id",
                            int(offset) + int(limit)).to_pylist()[int(offset):]
    elif sort in UNPRICED_SORTS and not priced_filter:
        rows = _page_then_price(con, plain, order, int(offset))
    else:
        rows = run(con, f"SELECT {RECENT_COLUMNS}, event_id FROM {source} {order} "
                        f"OFFSET {int(offset)}", params).to_pylist()
    counted, count_params = (source, params) if priced_filter else plain.source(
        "events", cost_columns=False)
    total = run(con, f"SELECT count(*) AS n FROM {counted}", count_params).to_pylist()[0]["n"]
    return RequestsPage(rows, int(total), offset, limit)


def _page_then_price(con: duckdb.DuckDBPyConnection, query: Query, order: str,
                     offset: int) -> list[dict[str, Any]]:
    """A page in an order of the events' own columns: which calls are on it from the
    events alone (the sort key, `event_id` and `date` of every call in the window), then
    the page's columns, its cost among them, for those calls only. Ordering every call
    of event_costs prices them all first (4.5 s at 10 M events for any column)."""
    keys_source, keys_params = query.source("events", cost_columns=False)
    keys = run(con, f"SELECT event_id, date FROM {keys_source} {order} OFFSET {offset}",
               keys_params).to_pylist()
    if not keys:
        return []
    dates = tuple(sorted({str(k["date"]) for k in keys}))
    source, params = query.source("event_costs", dates=dates)
    return run(con, f"SELECT {RECENT_COLUMNS}, event_id FROM {source} "
                    f"WHERE event_id IN (SELECT unnest($page_ids)) {order}",
               {**params, "page_ids": [k["event_id"] for k in keys]}).to_pylist()


def dimension_values(con: duckdb.DuckDBPyConnection, query: Query, name: str,
                     search: str = "", limit: int = 20) -> list[dict[str, Any]]:
    """The values dimension `name` takes in the window under the other filters (a filter on
    `name` itself is left out, so that a second value can be picked), those containing
    `search` (any case), most frequent first, with their call counts.

    The counts are a report's calls by `name` (sums_rows: a cube, the priced copy or its
    sums where they serve, the events elsewhere), not a scan of every event: a picker
    at 10 M events answers in tens of ms rather than 0.4 s."""
    from .parts import sums_rows

    if not 1 <= limit <= MAX_VALUES:
        raise UsageError(f"ask for 1 to {MAX_VALUES} values")
    others = dataclasses.replace(query, by=(name,), top=None,
                                 where=tuple(w for w in query.where if w[0] != name))
    rows = sums_rows(con, others, "CAST(COALESCE(sum(calls_), 0) AS BIGINT) AS calls")
    needle = search.lower()
    found = [{"value": str(row[name]), "calls": row["calls"]} for row in rows
             if row[name] is not None and row["calls"] > 0 and needle in str(row[name]).lower()]
    found.sort(key=lambda v: (-v["calls"], v["value"]))
    return found[:limit]
