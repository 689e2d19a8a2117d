"""The Requests page sorted by cost, from the priced copy (cube `priced_events`: each call
priced as event_costs prices it) for the days it serves.

The copy tells where the page lies (page_bounds.page_keys over its rows and over the
events priced for the days it does not serve) and what each of the page's calls cost.
The page's other columns are read from the events of its days at its times, unpriced:
pricing them read some twenty more columns of each of those days' files (0.7 s of 1.6 s
for a page spread over 41 days at 10 M events). Only calls the copy cannot tell apart
(two at one time) and calls of days it does not serve are priced, by event_costs.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ..query import Query
from .fetch import events_source, fetch, fetch_planned, rollup_source
from .page_bounds import PageKeys, page_keys
from .recent import RECENT_COLUMNS

if TYPE_CHECKING:
    import duckdb

    from ..rollups.plan import Plan

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_UNPRICED = RECENT_COLUMNS.replace("    cost_usd,\n", "    CAST(NULL AS DOUBLE) AS cost_usd,\n")
assert _UNPRICED != RECENT_COLUMNS, "RECENT_COLUMNS lists cost_usd on a line of its own"


def cost_page(con: duckdb.DuckDBPyConnection, query: Query, offset: int, limit: int,
              descending: bool) -> tuple[list[dict[str, Any]], tuple[str, ...]] | None:
    """`limit` calls from `offset` by cost (ties newest first, then by event_id), as
    RECENT_COLUMNS and event_id, and the days the copy served; None when it serves no
    day of the window (the caller sorts event_costs). A failed read of the copy
    distrusts it and plans again (report/parts.py)."""
    from .parts import planned

    def page(plan: Plan) -> tuple[list[dict[str, Any]], tuple[str, ...]] | None:
        if plan.cube is None or plan.cube.kind != "rows":
            return None
        branches: list[str] = []
        params: dict[str, Any] = {}
        for found in (rollup_source(query, plan), events_source(query, plan, "event_costs")):
            if found is not None:
                branches.append(f"SELECT date, ts, cost_usd AS value_ FROM {found[0]}")
                params.update(found[1])
        keys = page_keys(con, f"({' UNION ALL '.join(branches)})", params,
                         descending=descending, offset=offset, limit=limit,
                         run=lambda c, sql, p: fetch_planned(c, plan, sql, p))
        if keys is None:
            return [], plan.covered
        return _rows(con, query, keys, set(plan.covered), descending, limit), plan.covered

    return planned(con, query, "rows", page)


def _rows(con: duckdb.DuckDBPyConnection, query: Query, keys: PageKeys, covered: set[str],
          descending: bool, limit: int) -> list[dict[str, Any]]:
    """The page's calls: those at its times, between its first and last (cost, ts), in
    order, from where it starts."""
    cost_at = dict(zip(keys.times, keys.values, strict=True))
    found: list[dict[str, Any]] = []
    priced_times: list[Any] = []
    priced_dates = {d for d in keys.dates if d not in covered}
    served = tuple(d for d in keys.dates if d in covered)
    if served:
        source, params = query.source("events", cost_columns=False, dates=served)
        calls = fetch(con, f"SELECT {_UNPRICED}, event_id, ts AS ts_ FROM {source} "
                           "WHERE ts = ANY($page_times)",
                      {**params, "page_times": [t for t in keys.times
                                                if t.astimezone(dt.UTC).date().isoformat() in covered]})
        at: dict[Any, int] = {}
        for call in calls:
            at[call["ts_"]] = at.get(call["ts_"], 0) + 1
        for call in calls:
            if at[call["ts_"]] == 1:
                # The only call at its time: the copy's one row at that time is this call.
                call["cost_usd"] = cost_at[call["ts_"]]
                found.append(call)
        # Calls sharing a time: which costs what only pricing them tells.
        shared = {t for t, n in at.items() if n > 1}
        priced_times += shared
        priced_dates |= {t.astimezone(dt.UTC).date().isoformat() for t in shared}
    priced_times += [t for t in keys.times
                     if t.astimezone(dt.UTC).date().isoformat() not in covered]
    if priced_times:
        source, params = query.source("event_costs", dates=tuple(sorted(priced_dates)))
        found += fetch(con, f"SELECT {RECENT_COLUMNS}, event_id, ts AS ts_ FROM {source} "
                            "WHERE ts = ANY($page_times)", {**params, "page_times": priced_times})
    first, last = _order(keys.first, descending), _order(keys.last, descending)
    page = sorted((c for c in found if first <= _order((c["cost_usd"], c["ts_"]), descending) <= last),
                  key=lambda c: (_order((c["cost_usd"], c["ts_"]), descending), c["event_id"]))
    page = page[keys.skip:keys.skip + limit]
    for call in page:
        del call["ts_"]
    return page


def _order(key: tuple[Any, Any], descending: bool) -> tuple[bool, float, int]:
    """A (cost, ts) as it sorts: cost in the direction asked, NULLs last, then newest
    first (ts in whole microseconds)."""
    cost, ts = key
    micros = (ts - _EPOCH) // dt.timedelta(microseconds=1)
    if cost is None:
        return (True, 0.0, -micros)
    return (False, -cost if descending else cost, -micros)
