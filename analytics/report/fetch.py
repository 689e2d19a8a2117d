"""Fetching a report's rows once its parts are planned (rollups/plan.py): SQL over the
plan's rollup rows and over the events it leaves to them, run, rows back as plain dicts.

- `fetch_sums`: per group, counts, tokens and money. Rows of the basis (rollup rows, or
  one row per event) are summed per group and pricing key, priced with `price_groups()`
  at today's rates, and summed per group: one pass, exact whatever the mix of sources.
- `fetch_quantiles` / `fetch_sketches`: per group, quantiles from sketch bucket counts
  (rollups/quantiles.py), precomputed per day or merged from rollups' counts or the
  events' on the fly: the same answer either way.

Nothing here plans: a failed read of rollup rows raises `RollupReadFailed`, and the report
(report/reports.py) re-plans without that cube. Results come back through DuckDB's
fetchall: building them needs neither pyarrow nor any view beyond pricing when rollups
cover everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import LlmstatsError
from ..query import DIMENSION_COLUMNS, Query
from ..rollups.plan import Plan
from ..rollups.quantiles import quantile_sql
from ..rollups.spec import (
    CALL_CELLS,
    COUNT_SUMS,
    ERROR_COLUMNS,
    FINAL_ATTEMPT,
    FLOAT_SUMS,
    PRICED_COLUMNS,
    ROW_SUMS,
    SKETCH_MEASURES,
    CallCells,
    Cube,
    event_cells,
    value_column,
)

if TYPE_CHECKING:
    import duckdb


class RollupReadFailed(LlmstatsError):
    """Reading a cube's rows failed (a damaged part): plan again without it."""

    def __init__(self, cube: Cube, error: LlmstatsError) -> None:
        super().__init__(str(error))
        self.cube = cube
        self.error = error


def used_params(sql: str, params: dict[str, Any] | None) -> dict[str, Any] | None:
    """The parameters `sql` names (DuckDB refuses unused ones)."""
    used = {name: value for name, value in (params or {}).items() if f"${name}" in sql}
    return used or None


class EngineStopped(LlmstatsError):
    """DuckDB stopped a query for a reason of its own (an interrupt: the client went
    away), not because a file it read is damaged: no cube is blamed for it."""


class OutOfMemory(EngineStopped):
    """The query needed more than the connection's memory limit."""


def query_failed(exc: Exception) -> LlmstatsError:
    """A DuckDB failure (say, a data page corrupt beyond its footer) as a one-line error."""
    import duckdb

    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    kind = (OutOfMemory if isinstance(exc, duckdb.OutOfMemoryException)
            else EngineStopped if isinstance(exc, duckdb.InterruptException) else LlmstatsError)
    return kind(f"query failed: {first}")


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rows as dicts, without pyarrow; a DuckDB failure becomes a one-line LlmstatsError."""
    import duckdb

    try:
        cursor = con.execute(sql, used_params(sql, params))
        columns = [d[0] for d in cursor.description or []]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    except duckdb.Error as exc:
        raise query_failed(exc) from exc


def fetch_planned(con: duckdb.DuckDBPyConnection, plan: Plan, sql: str,
                   params: dict[str, Any]) -> list[dict[str, Any]]:
    """`fetch`, with a failure blamed on the plan's cube when it reads one (not one of
    the engine's own: distrusting a cube for an interrupt or a lack of memory would send
    every later question of the connection to the events)."""
    try:
        return fetch(con, sql, params)
    except LlmstatsError as exc:
        if plan.cube is None or isinstance(exc, EngineStopped):
            raise
        raise RollupReadFailed(plan.cube, exc) from exc


def rollup_source(query: Query, plan: Plan, wrap: str = "{}", *,
                  cost_columns: bool = True) -> tuple[str, dict[str, Any]] | None:
    """FROM-able SQL over the plan's rollup rows (filtered like events), or None.
    `wrap` puts the view into a table macro, e.g. "priced_basis('{}')"."""
    if plan.view is None:
        return None
    return query.source(wrap.format(plan.view), cost_columns=cost_columns)


def events_source(query: Query, plan: Plan, table: str, *,
                  cost_columns: bool = True) -> tuple[str, dict[str, Any]] | None:
    """FROM-able SQL over `table` (an events-derived view or macro call) for the
    partitions the plan leaves to the events, or None when it leaves none."""
    if not plan.reads_events:
        return None
    return query.source(table, cost_columns=cost_columns, dates=plan.raw)


_PRICING_KEY = ("pair_id, rate_id, long_context, uplift, image_rate, image_priced_by, "
                "bill_kind, is_batch, is_proxy_hit, override_id")


def _basis_sums(requests: bool) -> str:
    """Per group and pricing key: the sums `price_groups` and the aggregates read. Names
    ending in `_` are counts the report aggregates read back (`calls_`, ...)."""
    counts = [c for c in COUNT_SUMS if requests or c != "requests"]
    renamed = {"calls": "calls_", "requests": "requests_", "failures": "failures_",
               "input_tokens": "input_tokens_", "output_tokens": "output_tokens_",
               "cache_read_tokens": "cache_read_tokens_",
               "cache_write_tokens": "cache_write_tokens_", "io_tokens": "tokens_"}
    return ", ".join(f"sum({c}) AS {renamed.get(c, c)}" for c in (*counts, *FLOAT_SUMS))


def _final_attempts(query: Query, extra: tuple[str, ...] = ()) -> str:
    """A table of the events with `requests` (FINAL_ATTEMPT) over just the columns the
    query reads (and `extra`): the window that finds final attempts sorts what it
    carries. Its rows carry no tokens, so they need a pricing key only to be grouped by
    priced_by."""
    names = query.dimensions()
    columns = {"date", "ts", "trace_id", "event_id", *extra}
    for name in names:
        columns.update(c for c in DIMENSION_COLUMNS[name])
    if "priced_by" in names:
        columns.update(("priced_by", *_PRICING_KEY.split(", ")))
        table, keys = "cost_basis", ""
    else:
        table, keys = "events", (
            ", CAST(NULL AS INTEGER) AS pair_id, CAST(NULL AS INTEGER) AS rate_id, "
            "CAST(NULL AS BOOLEAN) AS long_context, CAST(NULL AS DOUBLE) AS uplift, "
            "CAST(NULL AS DOUBLE) AS image_rate, CAST(NULL AS VARCHAR) AS image_priced_by, "
            "CAST(NULL AS VARCHAR) AS bill_kind, "
            "FALSE AS is_batch, FALSE AS is_proxy_hit, CAST(NULL AS BIGINT) AS override_id")
    return f"""(SELECT *, {FINAL_ATTEMPT} AS requests{keys}
        FROM (SELECT {", ".join(sorted(columns))} FROM {table}))"""


def fetch_sums(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    plan: Plan,
    aggregates: str,
    *,
    requests: bool = False,
    order: str = "",
) -> list[dict[str, Any]]:
    """One row per `query.by` group: the group's dimensions, then `aggregates` (SQL over
    the priced groups: `calls_`, `requests_`, `failures_`, `input_tokens_`, ...,
    `cost_usd`, `savings_usd`, ... and the pricing keys), from a `sums` plan. Ordered by
    `order`, then the dimensions. With `requests`, final attempts are counted too
    (`requests_`)."""
    exprs = query.group_exprs()
    names = [name for name, _ in exprs]
    dims = "".join(f"{expr} AS {name}, " for name, expr in exprs)
    counts = [c for c in COUNT_SUMS if c != "requests"] + list(FLOAT_SUMS)
    branches: list[str] = []
    params: dict[str, Any] = {}
    priced: list[str] = []
    if plan.cube is not None and plan.cube.priced:
        # The priced copy, or priced sums of it: each row priced already; its rows join
        # the priced groups.
        found = rollup_source(query, plan)
        assert found is not None
        # Only the columns the aggregates read (a name inside a longer one is kept too):
        # each column more is 10 M more values to read and sum at 10 M events.
        read = f"{aggregates} {order}"
        sums = {c: n for c, n in ROW_SUMS.items() if (requests or c != "requests") and n in read}
        picks = ", ".join([*(f"{c} AS {n}" for c, n in sums.items()), *(
            c for c in ("is_batch", "is_proxy_hit", *PRICED_COLUMNS)
            if c not in names and c in read)])
        priced.append(f"SELECT {dims}{picks} FROM {found[0]}")
        params.update(found[1])
        found = None
    else:
        found = rollup_source(query, plan, "priced_basis('{}')")
    if found is not None:
        columns = [*counts, "requests"] if requests else counts
        branches.append(f"SELECT {dims}{_PRICING_KEY}, {', '.join(columns)} FROM {found[0]}")
        params.update(found[1])
    found = events_source(query, plan, "cost_basis")
    if found is not None:
        branches.append(f"SELECT {dims}{_PRICING_KEY}, {', '.join(counts)} FROM {found[0]}")
        params.update(found[1])
        if requests:
            # Requests from events: a narrow pass of its own (rows with no other sums).
            found = events_source(query, plan, _final_attempts(query))
            assert found is not None
            branches.append(f"SELECT {dims}{_PRICING_KEY}, requests FROM {found[0]}")
    keys = ", ".join(names)
    head = keys + ", " if keys else ""
    if branches:
        priced.insert(0, "SELECT * FROM price_groups('basis_')")
        basis = f"""WITH basis_ AS (
        SELECT {head}{_PRICING_KEY}, {_basis_sums(requests)}
        FROM ({" UNION ALL BY NAME ".join(branches)})
        GROUP BY ALL
    )"""
    else:
        basis = ""
    sql = f"""
    {basis}
    SELECT {head}{aggregates}
    FROM ({" UNION ALL BY NAME ".join(priced)})
    {"GROUP BY " + keys if keys else ""}
    {"ORDER BY " + ", ".join(p for p in (order, keys) if p) if keys else ""}
    """
    return fetch_planned(con, plan, sql, params)


@dataclass(frozen=True)
class CallRows:
    """A report over single calls: its `kind` (the cells it keeps of each call and its
    cube kind: CALL_CELLS) and how the events are read to have the columns the copy
    stores: `final_attempts` — they need the window that flags them (`requests`) over
    the columns `reads`; `events_over` — a table macro the events' calls are read
    through (`{}`: the calls themselves); `events_view` — the view they are read from
    (`event_costs` for a report of prices, which may then filter on priced_by)."""

    kind: str
    reads: tuple[str, ...] = ()
    final_attempts: bool = False
    events_over: str = "{}"
    events_view: str = "events"

    @property
    def cost_columns(self) -> bool:
        return self.events_view == "event_costs"

    @property
    def cells(self) -> CallCells:
        return CALL_CELLS[self.kind]


ERROR_CALLS = CallRows("errors", ("status", "requests", *ERROR_COLUMNS), final_attempts=True)
CONTEXT_CALLS = CallRows("context", events_over="context_coded('{}')")
RECONCILE_CALLS = CallRows("reconcile", events_view="event_costs")


def fetch_call_rows(con: duckdb.DuckDBPyConnection, query: Query, plan: Plan, calls: CallRows,
                    then: str = "") -> list[dict[str, Any]]:
    """Per `query.by` group and key of the report's cells (CALL_CELLS[calls.kind]): the
    group's dimensions, the keys and the merged measures, from a plan of that kind: the
    cube's rows of the days it serves, single calls of the priced copy or of the events
    elsewhere (final attempts found by the window the copy's builder used), merged by one
    GROUP BY. `then`: SQL over those rows (`parts_`: the dimensions named `g_<name>`)
    giving the report's rows instead."""
    priced = calls.cost_columns
    exprs = query.group_exprs(cost_columns=priced)
    # Named apart from the columns read (--by status reads status twice otherwise).
    dims = "".join(f"{expr} AS g_{name}, " for name, expr in exprs)
    cells = calls.cells
    per_call = ", ".join(cells.per_call())
    branches: list[str] = []
    params: dict[str, Any] = {}
    ctes: list[str] = []
    found = rollup_source(query, plan, cost_columns=priced)
    if found is not None:
        assert plan.cube is not None
        if plan.cube.kind == "rows":
            branches.append(f"SELECT {dims}{per_call} FROM {cells.calls(found[0])}")
        else:
            stored = ", ".join([*cells.key_names(), *(n for n, _, _ in cells.measures)])
            branches.append(f"SELECT {dims}{stored} FROM {found[0]}")
        params.update(found[1])
    if plan.rest is not None:
        # The days the cube leaves that the copy serves: its single calls.
        found = rollup_source(query, plan.rest, cost_columns=priced)
        assert found is not None
        branches.append(f"SELECT {dims}{per_call} FROM {cells.calls(found[0])}")
        params.update(found[1])
    events = (_final_attempts(query, tuple(c for c in calls.reads if c != "requests"))
              if calls.final_attempts else calls.events_view)
    found = events_source(query, plan, events, cost_columns=priced)
    if found is not None:
        if calls.events_over != "{}":
            # A table macro takes a relation by name: the window's events as one.
            ctes.append(f"events_ AS (SELECT * FROM {found[0]})")
            found = (calls.events_over.format("events_"), found[1])
        branches.append(f"SELECT {dims}{per_call} FROM {cells.calls(found[0])}")
        params.update(found[1])
    ctes.append(f"cells_ AS ({' UNION ALL BY NAME '.join(branches)})")
    groups = [*(f"g_{name}" for name, _ in exprs), *cells.key_names()]
    ctes.append(f"parts_ AS MATERIALIZED (SELECT {', '.join(groups)}, {', '.join(cells.merged())} "
                f"FROM cells_ GROUP BY {', '.join(groups)})")
    picks = "".join(f"g_{name} AS {name}, " for name, _ in exprs)
    keep = f"* EXCLUDE ({', '.join(f'g_{n}' for n, _ in exprs)})" if exprs else "*"
    sql = f"WITH {', '.join(ctes)} " + (then or f"SELECT {picks}{keep} FROM parts_")
    return fetch_planned(con, plan, sql, params)


Sketches = dict[tuple[Any, ...], dict[str, Any]]
"""{group dimension values: {"n_<m>": count, "<m>_<i>": i-th quantile of m}}."""


def fetch_quantiles(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    plan: Plan,
    measures: dict[str, tuple[float, ...]],
    *,
    cost_columns: bool = True,
) -> Sketches | None:
    """Quantiles per group from a `quantiles` plan: the days a quantiles cube covers are
    read as they were precomputed (the query groups by exactly its columns and the day),
    the days left to the events are merged from theirs. None when no cube serves."""
    found = rollup_source(query, plan, cost_columns=cost_columns)
    if found is None:
        return None
    names = [name for name, _ in query.group_exprs(cost_columns=cost_columns)]
    dims = "".join(f"{expr} AS {name}, " for name, expr in query.group_exprs())
    picks = [f"n_{m}" for m in measures]
    picks += [f"{m}_{i}" for m, qs in measures.items() for i in range(len(qs))]
    rows = fetch_planned(con, plan, f"SELECT {dims}{', '.join(picks)} FROM {found[0]}", found[1])
    result = {tuple(row[n] for n in names): row for row in rows}
    if len(result) < len(rows):
        # Two of the cube's groups are one report group (say two team ids with one
        # alias, grouped by team): their quantiles do not merge; the sketches do.
        return None
    if plan.raw:
        # Groups include the day: the days left to the events are groups of their own.
        result.update(fetch_sketches(con, query, Plan(raw=plan.raw), measures,
                                     cost_columns=cost_columns)[0])
    return result


def fetch_sketches(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    plan: Plan,
    measures: dict[str, tuple[float, ...]],
    *,
    cost_columns: bool = True,
    with_total: bool = False,
) -> tuple[Sketches, dict[str, Any] | None]:
    """Quantiles per `query.by` group from a `sketch` plan, merging sketch counts from
    its rollup rows and from the events it leaves; with `with_total`, the same over all
    groups from the same cells (the caller asks only when every event is in one group)."""
    exprs = query.group_exprs(cost_columns=cost_columns)
    names = [name for name, _ in exprs]
    dims = "".join(f"{expr} AS {name}, " for name, expr in exprs)
    branches: list[str] = []
    params: dict[str, Any] = {}
    counts = ", ".join(f"n_{m}" for m in measures)
    from_copy = plan.cube is not None and plan.cube.kind == "rows"
    # priced_by (grouped or filtered on) is known to the cost views only.
    priced = "priced_by" in query.dimensions()
    # The priced copy's priced_by is price_groups'; sketches group by the pricing's own.
    # Renamed only where read: `SELECT * REPLACE` keeps DuckDB from reading only the
    # columns used (0.8 s more at 10 M events).
    found = rollup_source(query, plan, "(SELECT * REPLACE (basis_priced_by AS priced_by) FROM {})"
                          if from_copy and priced else "{}", cost_columns=cost_columns)
    if from_copy:
        return _value_quantiles(con, query, plan, measures, found, cost_columns=cost_columns,
                                with_total=with_total)
    if found is not None:
        branches.append(f"SELECT {dims}bucket, {counts} FROM {found[0]}")
        params.update(found[1])
    table = "cost_basis" if priced else "token_basis"
    found = events_source(query, plan, table, cost_columns=cost_columns)
    if found is not None:
        branches.append(event_cells(dims.rstrip(", "), names, list(measures), found[0]))
        params.update(found[1])
    cells = " UNION ALL BY NAME ".join(branches)
    if not with_total:
        rows = fetch_planned(con, plan, quantile_sql(f"({cells})", names, measures), params)
        return {tuple(row[n] for n in names): row for row in rows}, None
    both = fetch_planned(
        con, plan,
        f"WITH cells_ AS MATERIALIZED ({cells}) "
        f"SELECT 0 AS total_, * FROM ({quantile_sql('cells_', names, measures)}) "
        f"UNION ALL BY NAME SELECT 1 AS total_, * FROM ({quantile_sql('cells_', [], measures)})",
        params,
    )
    rows = [row for row in both if not row["total_"]]
    totals = [row for row in both if row["total_"]]
    return {tuple(row[n] for n in names): row for row in rows}, (totals[0] if totals else {})


def _value_quantiles(
    con: duckdb.DuckDBPyConnection,
    query: Query,
    plan: Plan,
    measures: dict[str, tuple[float, ...]],
    found: tuple[str, dict[str, Any]] | None,
    *,
    cost_columns: bool,
    with_total: bool,
) -> tuple[Sketches, dict[str, Any] | None]:
    """fetch_sketches for a plan that reads the priced copy: one value per call and
    measure (its bucket's value, `sketch_value`), from the copy's stored bucket values and the
    events' computed ones, and DuckDB's `quantile_cont` over them per group. The answer
    is the sketch answer (quantile_sql interpolates between the same two order
    statistics, each replaced by its bucket's value, the same way) without a cell per
    group and bucket and the running sums over them, which grow with the groups."""
    exprs = query.group_exprs(cost_columns=cost_columns)
    names = [name for name, _ in exprs]
    values_sql, params = _values_sql(query, plan, measures, found, exprs,
                                     cost_columns=cost_columns)
    sql = (f"WITH values_ AS {'MATERIALIZED ' if with_total else ''}({values_sql}) "
           f"SELECT 0 AS total_, * FROM ({_grouped_values(names, measures)})")
    if with_total:
        sql += f" UNION ALL BY NAME SELECT 1 AS total_, * FROM ({_grouped_values([], measures)})"
    both = fetch_planned(con, plan, sql, params)
    rows = {tuple(row[n] for n in names): row for row in both if not row["total_"]}
    totals = [row for row in both if row["total_"]]
    return rows, ((totals[0] if totals else {}) if with_total else None)


def fetch_value_quantile_sets(
    con: duckdb.DuckDBPyConnection,
    queries: list[Query],
    plan: Plan,
    measures: dict[str, tuple[float, ...]],
    *,
    cost_columns: bool,
) -> list[Sketches]:
    """fetch_sketches for each of `queries` (one window and filters, groupings that
    differ, no tag and no priced_by among them) under one plan that reads the priced
    copy: the window's values read once (materialised, with every dimension any of them
    groups by) and grouped per query. Each read of the copy filtered to a team scans its
    10 M rows at 10 M events; the dashboard's engineering page asks three groupings."""
    exprs: dict[str, str] = {}
    for query in queries:
        exprs.update(query.group_exprs(cost_columns=cost_columns))
    found = rollup_source(queries[0], plan, cost_columns=cost_columns)
    values_sql, params = _values_sql(queries[0], plan, measures, found, list(exprs.items()),
                                     cost_columns=cost_columns)
    sets = " UNION ALL BY NAME ".join(
        f"SELECT {i} AS set_, * FROM ({_grouped_values(list(query.by), measures)})"
        for i, query in enumerate(queries))
    rows = fetch_planned(con, plan, f"WITH values_ AS MATERIALIZED ({values_sql}) {sets}",
                          params)
    return [{tuple(row[n] for n in query.by): row for row in rows if row["set_"] == i}
            for i, query in enumerate(queries)]


def _values_sql(query: Query, plan: Plan, measures: dict[str, tuple[float, ...]],
                found: tuple[str, dict[str, Any]] | None, exprs: list[tuple[str, str]], *,
                cost_columns: bool) -> tuple[str, dict[str, Any]]:
    """SQL of one row per call with the dimensions `exprs` (name, expression) and a
    value `v_<measure>` per measure: the copy's rows (`found`) and the events the plan
    leaves, and its parameters."""
    dims = "".join(f"{expr} AS {name}, " for name, expr in exprs)
    params: dict[str, Any] = {}
    branches: list[str] = []
    if found is not None:
        values = ", ".join(f"{value_column(m)} AS v_{m}" for m in measures)
        branches.append(f"SELECT {dims}{values} FROM {found[0]}")
        params.update(found[1])
    priced = "priced_by" in query.dimensions()
    events = events_source(query, plan, "cost_basis" if priced else "token_basis",
                           cost_columns=cost_columns)
    if events is not None:
        values = ", ".join(
            f"sketch_value(CASE WHEN {SKETCH_MEASURES[m][1]} THEN sketch_bucket({SKETCH_MEASURES[m][0]}) END)"
            f" AS v_{m}" for m in measures)
        branches.append(f"SELECT {dims}{values} FROM {events[0]}")
        params.update(events[1])
    return " UNION ALL BY NAME ".join(branches), params


def _grouped_values(names: list[str], measures: dict[str, tuple[float, ...]]) -> str:
    """SQL over `values_` (_values_sql): per group of `names` (none: one row) that has a
    value, `n_<measure>` and `<measure>_<i>` for its i-th quantile (`quantile_cont`)."""
    aggregates = ", ".join(
        f"CAST(count(v_{m}) AS BIGINT) AS n_{m}, "
        f"quantile_cont(v_{m}, [{', '.join(repr(float(q)) for q in qs)}]) AS q_{m}"
        for m, qs in measures.items())
    picks = ", ".join([*(f"n_{m}" for m in measures),
                       *(f"q_{m}[{i + 1}] AS {m}_{i}" for m, qs in measures.items()
                         for i in range(len(qs)))])
    keys = ", ".join(names)
    # Only groups with a value (as cells give them: a group without any has no cell).
    having = "HAVING " + " OR ".join(f"count(v_{m}) > 0" for m in measures)
    return (f"SELECT {keys + ', ' if keys else ''}{picks} FROM (SELECT "
            f"{keys + ', ' if keys else ''}{aggregates} FROM values_ "
            f"{'GROUP BY ' + keys if keys else ''} {having})")
