"""Which rows a report reads: rollups where they cover the question, events elsewhere.

`open_dataset()` indexes the rollups once (rollups/index.py): for each cube, the partitions
whose rollup file was computed from exactly the event files the dataset reads now. A
report part (its sums or its quantile sketches) then asks `plan_part()` for the cube that
serves most of its partitions, and reads those partitions from the rollup and every other
partition of its window from the events (`Plan.raw`). A partition is served by a cube
only when the answer from the cube is the answer from the events:

- the cube keeps every column the `--by` dimensions and `--where` filters read (tags and
  per-user or per-session dimensions are never in a cube);
- the window does not cut the partition at a finer time than the cube's grain (a day
  cube needs the whole UTC day inside the window; an hour cube whole hours);
- time dimensions in a zone other than UTC fall on the cube's grain: a day cube only
  where local days are UTC days, an hour cube where the zone's offset is a whole number
  of hours all day (not, say, Asia/Kolkata);
- for sums, today's catalog decides the long-context tier of every row (`priced_basis`
  gives NULL for a row whose calls straddle a threshold the cube was not split at).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..query import DIMENSION_COLUMNS, TIME_DIMENSIONS, Query
from .index import ReportContext, RollupIndex, RollupPart, context_of
from .spec import CALL_CELLS, CUBES, Cube, splits_every

if TYPE_CHECKING:
    import duckdb

_DAY = dt.timedelta(days=1)
_HOUR = dt.timedelta(hours=1)
_TICK = dt.timedelta(microseconds=1)


def distrust(con: duckdb.DuckDBPyConnection, cube: Cube, error: Exception) -> None:
    """Stop using a cube on this connection after reading it failed (a damaged part:
    the events still hold the truth), and say so."""
    context = context_of(con)
    if context is None:
        return
    context.index.available.pop(cube.name, None)
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    context.warnings.append(
        f"rollup {cube.name} unreadable ({first[:160]}); its days were read from the events "
        "(`llmstats rollup --rebuild` rewrites it)"
    )


@dataclass(frozen=True)
class Plan:
    cube: Cube | None = None
    covered: tuple[str, ...] = ()
    """Partitions read from the cube."""
    raw: tuple[str, ...] | None = None
    """Partitions read from the events; None: the whole window."""
    view: str | None = None
    """The view over the covered rollup files."""
    rest: Plan | None = None
    """For a cube of a report's cells (`errors`, `context`): the priced copy's plan for
    days the cube leaves (a window cut inside a day, a day the copy is current for and
    the cube not): single calls of the copy rather than the events. `raw` is what it
    leaves."""

    @property
    def reads_events(self) -> bool:
        return self.raw is None or bool(self.raw)


NO_CUBE = Plan(raw=())
"""No cube serves the part, and the caller reads the events another way (quantiles)."""


def _needs(query: Query) -> tuple[set[str], bool, bool]:
    """(event columns the dimensions and filters read; whether a time dimension is
    involved; whether that is `hour`)."""
    names = query.dimensions()
    columns: set[str] = set()
    for name in names:
        columns.update(c for c in DIMENSION_COLUMNS[name] if c != "ts")
    times = names & set(TIME_DIMENSIONS)
    return columns, bool(times), "hour" in times


def _window_dates(index: RollupIndex, query: Query) -> list[str]:
    dates = sorted(index.partitions)
    if query.since is not None:
        dates = [d for d in dates if _start(d) + _DAY > query.since]
    if query.until is not None:
        dates = [d for d in dates if _start(d) < query.until]
    return dates


def _start(date: str) -> dt.datetime:
    day = dt.date.fromisoformat(date)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _on_grain(moment: dt.datetime, grain: str) -> bool:
    if grain == "day":
        return (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)
    return (moment.minute, moment.second, moment.microsecond) == (0, 0, 0)


def aligned(date: str, cube: Cube, query: Query, times: bool, hour: bool) -> bool:
    """Whether every row of the cube for `date` lies wholly inside or outside the window
    and wholly inside one value of each time dimension."""
    if cube.grain == "event":
        return True  # every row has its own time
    start = _start(date)
    for edge in (query.since, query.until):
        if edge is not None and start < edge < start + _DAY and not _on_grain(edge, cube.grain):
            return False
    if not times:
        return True
    if cube.grain == "day":
        if hour:
            return False
        if query.tz == "UTC":
            return True
        zone = ZoneInfo(query.tz)
        first, last = start.astimezone(zone), (start + _DAY - _TICK).astimezone(zone)
        return _on_grain(first, "day") and first.date() == last.date()
    if query.tz == "UTC":
        return True
    zone = ZoneInfo(query.tz)
    for hours in range(24):
        moment = start + hours * _HOUR
        first, last = moment.astimezone(zone), (moment + _HOUR - _TICK).astimezone(zone)
        if not _on_grain(first, "hour") or (first.date(), first.hour) != (last.date(), last.hour):
            return False
    return True


def _undecided(con: duckdb.DuckDBPyConnection, context: ReportContext, cube: Cube) -> set[str]:
    """Dates of the cube with a row today's prices cannot split (see priced_basis). A
    partition whose groups were split at every threshold the catalog now uses needs no
    look; the others are checked row by row."""
    known = context.index.undecided.get(cube.name)
    if known is not None:
        return known
    # Every band start of every priced pair, as a threshold the ladder must split at (a
    # start s means "more than s - 1 tokens").
    tiers = [
        (int(t) - 1, False)
        for (t,) in con.execute(
            "SELECT DISTINCT tier_start FROM pair_tiers WHERE tier_start > 0").fetchall()
    ]
    unsure = {
        date: part
        for date, part in context.index.available.get(cube.name, {}).items()
        if (ladder := part.partitions[date][1]) is None or not splits_every(ladder, tiers)
    }
    found: set[str] = set()
    if unsure:
        view = parts_view(con, context, unsure)
        rows = con.execute(
            f"SELECT DISTINCT CAST(date AS VARCHAR) FROM priced_basis('{view}') "
            "WHERE (input_tokens_lo < input_tokens_hi AND rate_id IS NULL) OR time_priced"
        ).fetchall()
        found = {row[0] for row in rows}
    context.index.undecided[cube.name] = found
    return found


def priced_dates(con: duckdb.DuckDBPyConnection, context: ReportContext, cube: Cube, *,
                 exact_only: bool = True) -> set[str]:
    """Dates of a priced cube whose rows were priced under today's pricing (the
    fingerprints of rollups/pricing_key.py, computed once per connection). `exact_only`:
    only days whose calls price alone as in any group (what reports need; views that
    price each call alone need not)."""
    if exact_only and (known := context.index.priced.get(cube.name)) is not None:
        return known
    from .pricing_key import current_for, decode, exact, pair_fingerprints

    served = context.index.available.get(cube.name, {})
    if served and context.index.fingerprints is None:
        context.index.fingerprints = pair_fingerprints(con)
    today = context.index.fingerprints or {}
    found = {date for date, part in served.items()
             if (exact(part.pricing.get(date)) or not exact_only)
             and current_for(decode(part.pricing.get(date)), today)}
    if exact_only:
        context.index.priced[cube.name] = found
    return found


MAX_DATE_RUNS = 8
"""Up to this many runs of days a part serves are read as date ranges (parts_view)."""


def date_runs(holds: list[str], wanted: set[str]) -> list[tuple[str, str]]:
    """(first, last) of each run of `wanted` days among the days a part `holds` (sorted):
    the ranges that take exactly those of its days. Days are ISO dates (checked here,
    since they become SQL literals)."""
    runs: list[tuple[str, str]] = []
    current: list[str] = []
    for day in [*holds, None]:
        if day is not None and day in wanted:
            current.append(dt.date.fromisoformat(day).isoformat())
        elif current:
            runs.append((current[0], current[-1]))
            current = []
    return runs


def parts_view(con: duckdb.DuckDBPyConnection, context: ReportContext,
               dates: dict[str, RollupPart]) -> str:
    """A view over the rows of each date from its part (a part may also hold rows
    of other dates, or older rows of these: they are left out)."""
    number = next(context.views)
    view, table = f"rollup_rows_{number}", f"rollup_dates_{number}"
    paths = sorted({part.path for part in dates.values()})
    tabled = False
    # File paths come from our own listing; SQL literals because views take no parameters.
    parts = []
    for i, path in enumerate(paths):
        scan = f"SELECT * FROM read_parquet('{path.replace(chr(39), chr(39) * 2)}')"
        holds = next(s.partitions for s in dates.values() if s.path == path)
        wanted = {d for d, s in dates.items() if s.path == path}
        if set(holds) != wanted:
            runs = date_runs(sorted(holds), wanted)
            if len(runs) <= MAX_DATE_RUNS:
                # Ranges: DuckDB skips the row groups outside them (the days are sorted);
                # a semi-join against the table reads every row's date (~40 ms at 10 M).
                scan += " WHERE " + " OR ".join(
                    f"date BETWEEN DATE '{first}' AND DATE '{last}'" for first, last in runs)
            else:
                if not tabled:
                    con.execute(
                        f"CREATE TEMP TABLE {table} AS SELECT CAST(unnest($files) AS INTEGER) "
                        "AS file, CAST(unnest($dates) AS DATE) AS date",
                        {"files": [paths.index(s.path) for s in dates.values()],
                         "dates": list(dates)},
                    )
                    tabled = True
                scan += f" WHERE date IN (SELECT date FROM {table} WHERE file = {i})"
        parts.append(scan)
    con.execute(f"CREATE TEMP VIEW {view} AS " + " UNION ALL ".join(parts))
    return view


def quantile_grain(query: Query) -> str | None:
    """The grain of the quantiles cube that can hold the query's groups: `day` when it
    groups by day and no finer, `hour` when by hour and no coarser; else None."""
    times = set(query.by) & set(TIME_DIMENSIONS)
    return {frozenset({"day"}): "day", frozenset({"hour"}): "hour"}.get(frozenset(times))


def quantile_columns(query: Query) -> set[str] | None:
    """The columns a quantiles cube must have, exactly, to hold the query's groups (the
    query groups by `day` or `hour` and otherwise by dimensions of those columns), or
    None. A dimension computed from several columns (`team`: the alias, else the id)
    groups as the cube does only where no two of the cube's groups give the same value:
    the fetch checks that on the rows it reads (report/fetch.py, fetch_quantiles)."""
    if quantile_grain(query) is None:
        return None
    columns: set[str] = set()
    for name in query.by:
        if name not in TIME_DIMENSIONS:
            columns.update(DIMENSION_COLUMNS[name])
    return columns


def plan_part(con: duckdb.DuckDBPyConnection, query: Query, kind: str, *,
              pricing: bool = False, within: tuple[str, ...] | None = None) -> Plan:
    """The rollup cube of `kind` (`sums`, `sketch`, `quantiles`, `errors` or `context`
    (a report's cells: CALL_CELLS), or `rows`: per-event rows, which only the priced
    copy holds, and which serve every kind but quantiles) that serves most
    partitions of the query's window, the partitions it serves, and those left to the
    events. `pricing`: the part prices its rows (sums), so today's catalog must decide
    every row's tier. A quantiles cube serves only a query grouped by exactly its
    columns (and the day). `within`: only these partitions of the window (the rest of
    another plan: see Plan.rest); then an uncovered date is left in `raw` without
    defining the event views (the caller does)."""
    context = context_of(con)
    if context is None:
        return Plan()
    columns, times, hour = _needs(query)
    only = None if within is None else set(within)
    exact = quantile_columns(query) if kind == "quantiles" else None
    if kind == "quantiles" and exact is None:
        return NO_CUBE
    # priced_by is known to a cube of sums after pricing it, so not to a sketch cube;
    # the priced copy stores it.
    priced = "priced_by" in query.dimensions()
    import duckdb

    window = _window_dates(context.index, query)
    dates = window if only is None else [d for d in window if d in only]
    candidates = []
    for cube in CUBES:
        if cube.kind == "rows":
            # Every part but quantiles can be read from single calls.
            if kind == "quantiles" or not (columns - {"ts"}) <= set(cube.columns):
                continue
        elif cube.kind == "priced_sums":
            if kind != "sums" or not columns <= set(cube.columns):
                continue
        elif cube.kind != kind or not columns <= set(cube.columns) or (kind == "sketch" and priced):
            continue
        # Quantiles of hours are not those of their day, nor the reverse.
        if exact is not None and (exact != set(cube.columns)
                                  or cube.grain != quantile_grain(query)):
            continue
        available = context.index.available.get(cube.name, {})
        covered = [d for d in dates if d in available and aligned(d, cube, query, times, hour)]
        if covered and cube.priced:
            # Only days priced as today's pricing prices them (sketches too: a filter on
            # priced_by reads the stored one), before comparing coverage.
            current = priced_dates(con, context, cube)
            covered = [d for d in covered if d in current]
        if covered:
            candidates.append((cube, covered))
    # Most partitions served first; among equals, the smallest cube (CUBES order). A
    # cube of a report's cells counts the days the copy serves beside it (Plan.rest):
    # a window cut inside a day is that day from the copy, the others from the cube.
    copy = next((set(c) for cube, c in candidates if cube.kind == "rows"), set())

    def reach(candidate: tuple[Cube, list[str]]) -> int:
        cube, covered = candidate
        return -len(set(covered) | copy) if cube.kind in CALL_CELLS else -len(covered)

    for cube, covered in sorted(candidates, key=reach):
        try:
            if pricing and not cube.priced:
                undecided = _undecided(con, context, cube)
                covered = [d for d in covered if d not in undecided]
                if not covered:
                    continue
            served = context.index.available[cube.name]
            view = parts_view(con, context, {d: served[d] for d in covered})
        except duckdb.Error as exc:
            distrust(con, cube, exc)
            continue
        raw = tuple(d for d in dates if d not in set(covered))
        rest = None
        if raw and cube.kind in CALL_CELLS:
            rest = plan_part(con, query, "rows", within=raw)
            raw = rest.raw if rest.cube is not None and rest.raw is not None else raw
            rest = rest if rest.cube is not None else None
        if raw and only is None:
            context.ensure_events()
        return Plan(cube, tuple(covered), raw, view, rest)
    if only is not None:
        return Plan(raw=tuple(dates))
    return NO_CUBE if kind == "quantiles" else _events_only(context)


def _events_only(context: ReportContext) -> Plan:
    context.ensure_events()
    return Plan()
