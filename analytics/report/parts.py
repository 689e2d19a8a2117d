"""The two parts the overview, savings and latency reports are built from — sums and
quantile sketches — each planned first, then fetched:

1. plan (rollups/plan.py): which cube serves which partitions of the window, and which
   partitions are left to the events;
2. fetch (report/fetch.py): the SQL over those sources, run.

A fetch that fails on rollup rows (a damaged part) is planned again without that cube,
which is then distrusted for the rest of the connection (the events hold the truth): the
only loop, bounded by the number of cubes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..query import Query
from ..rollups.plan import Plan, distrust, plan_part
from ..rollups.spec import CUBES, SKETCH_QUANTILES
from .fetch import (
    CallRows,
    OutOfMemory,
    RollupReadFailed,
    Sketches,
    fetch_call_rows,
    fetch_quantiles,
    fetch_sketches,
    fetch_sums,
    fetch_value_quantile_sets,
)

if TYPE_CHECKING:
    import duckdb

T = TypeVar("T")


def planned(con: duckdb.DuckDBPyConnection, query: Query, kind: str,
            fetch: Callable[[Plan], T], *, pricing: bool = False) -> T:
    """Plan the part, fetch it; on a failed rollup read, distrust the cube and re-plan."""
    for _ in range(len(CUBES)):
        plan = plan_part(con, query, kind, pricing=pricing)
        try:
            return fetch(plan)
        except RollupReadFailed as failed:
            distrust(con, failed.cube, failed.error)
    # Every cube distrusted: the events alone.
    return fetch(plan_part(con, query, kind, pricing=pricing))


def sums_rows(con: duckdb.DuckDBPyConnection, query: Query, aggregates: str, *,
              requests: bool = False, order: str = "") -> list[dict[str, Any]]:
    """One row per `query.by` group: its dimensions, then `aggregates` (fetch.fetch_sums)."""
    return planned(
        con, query, "sums",
        lambda plan: fetch_sums(con, query, plan, aggregates, requests=requests, order=order),
        pricing=True,
    )


def call_rows(con: duckdb.DuckDBPyConnection, query: Query, calls: CallRows,
              then: str = "") -> list[dict[str, Any]]:
    """Per `query.by` group and key of the report's cells, the merged measures (or with
    `then`, the rows of that SQL over them: fetch.fetch_call_rows): from the report's
    cube where it serves, the priced copy next, the events elsewhere."""
    return planned(con, query, calls.kind,
                   lambda plan: fetch_call_rows(con, query, plan, calls, then))


def sketch_rows(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    measures: dict[str, tuple[float, ...]],
    *,
    cost_columns: bool = True,
    with_total: bool = False,
) -> tuple[Sketches, dict[str, Any] | None]:
    """Quantiles per `query.by` group for measures of SKETCH_MEASURES, and with
    `with_total` the same over all groups (None: ask for it with by=()). Grouped exactly
    like a quantiles cube (say by model and day), the days it covers are read as they
    were precomputed; other groupings merge sketch counts, rollups' or the events'."""
    found = _precomputed(con, query, measures, cost_columns=cost_columns)
    if found is not None:
        return found, None
    return _merged(con, query, measures, cost_columns=cost_columns, with_total=with_total)


def _merged(con: duckdb.DuckDBPyConnection, query: Query,
            measures: dict[str, tuple[float, ...]], *, cost_columns: bool,
            with_total: bool) -> tuple[Sketches, dict[str, Any] | None]:
    """sketch_rows where no quantiles cube serves: sketch counts merged, or the priced
    copy's values."""

    def sketches(plan: Plan) -> tuple[Sketches, dict[str, Any] | None]:
        # A total from the same cells only when every event is in one group (not by tag)
        # and the total alone would read the same rows: the events', or the priced copy's
        # (a filter on a user: a second pass over the copy cost 0.16 s at 10 M events); a
        # cube of groups is larger than the cube of totals.
        total = with_total and not query.needs_tags() and (
            plan.cube is None
            or (plan.cube.kind == "rows" and _total_reads_rows(con, query)))
        return fetch_sketches(con, query, plan, measures, cost_columns=cost_columns,
                              with_total=total)

    return planned(con, query, "sketch", sketches)


def _precomputed(con: duckdb.DuckDBPyConnection, query: Query,
                 measures: dict[str, tuple[float, ...]], *,
                 cost_columns: bool) -> Sketches | None:
    """The query's quantiles as a quantiles cube keeps them, or None where none serves."""
    if not all(SKETCH_QUANTILES.get(m) == qs for m, qs in measures.items()):
        return None
    return planned(con, query, "quantiles", lambda plan: fetch_quantiles(
        con, query, plan, measures, cost_columns=cost_columns))


def sketch_sets(con: duckdb.DuckDBPyConnection, queries: list[Query],
                measures: dict[str, tuple[float, ...]], *,
                cost_columns: bool = True) -> list[Sketches]:
    """sketch_rows' quantiles per group for each of `queries` (one window and filters,
    groupings that differ), each answered as sketch_rows answers it. Those that would
    each read the priced copy (no cube keeps a column their filters read: a team, a
    key, a user) read it once for all of them."""
    found: list[Sketches | None] = [
        _precomputed(con, query, measures, cost_columns=cost_columns) for query in queries]
    left = [i for i, f in enumerate(found) if f is None
            and not queries[i].needs_tags()
            and "priced_by" not in queries[i].dimensions()]
    plans = {i: plan_part(con, queries[i], "sketch") for i in left}
    copied = [i for i in left if (cube := plans[i].cube) is not None and cube.kind == "rows"]
    # One pass serves those whose plans split the window alike (they do for one filter).
    copied = [i for i in copied
              if (plans[i].covered, plans[i].raw) == (plans[copied[0]].covered,
                                                     plans[copied[0]].raw)]
    if len(copied) > 1 and _values_fit(con, queries[copied[0]]):
        try:
            shared = fetch_value_quantile_sets(con, [queries[i] for i in copied],
                                               plans[copied[0]], measures,
                                               cost_columns=cost_columns)
            for i, rows in zip(copied, shared, strict=True):
                found[i] = rows
        except RollupReadFailed as failed:
            distrust(con, failed.cube, failed.error)
        except OutOfMemory:
            pass  # each asked alone, as if the pass had not been tried
    return [f if f is not None
            else _merged(con, q, measures, cost_columns=cost_columns, with_total=False)[0]
            for q, f in zip(queries, found, strict=True)]


VALUE_BYTES = 128
"""What one call's row of a pass's values holds in memory (its dimensions and three
values), measured: 2.6 M calls ran out of 305 MiB."""


def _values_fit(con: duckdb.DuckDBPyConnection, query: Query) -> bool:
    """Whether the values of the query's calls, held for one pass over them, take at
    most half the connection's memory limit (the dashboard's connections have a few
    hundred MB each; a team of a quarter of 10 M events does not fit). The calls are
    counted from the cubes (milliseconds)."""
    from ..connection import memory_limit_bytes

    try:
        budget = memory_limit_bytes(con) / 2
    except (ValueError, KeyError):
        return False
    rows = sums_rows(con, query.with_by(()), "CAST(COALESCE(sum(calls_), 0) AS BIGINT) AS calls")
    return bool(rows) and rows[0]["calls"] * VALUE_BYTES <= budget


def _total_reads_rows(con: duckdb.DuckDBPyConnection, query: Query) -> bool:
    """Whether the sketches of the query's total (no groups) would be read from the priced
    copy or the events alone, as plan_part would plan them (no cube of sketches keeps
    the columns its filters read, or none covers its window)."""
    from ..rollups.plan import plan_part

    plan = plan_part(con, query.with_by(()), "sketch")
    return plan.cube is None or plan.cube.kind == "rows"
