"""Where a page of call attempts sorted by one value lies, found from narrow columns only.

The Requests page orders calls by a value (`value_`: cost, latency, a column), then `ts`
newest first, then `event_id`. Reading `event_id` (a random string) or pricing every call
of the window to sort them cost seconds at 10 M events. Instead (`page_keys`):

1. the page's values: a top-N of that one column, from `offset`;
2. how many calls have a value before the page's first (a count);
3. the calls whose value lies between the page's first and last, in order of (value,
   ts), from where the page starts: `date` and `ts` of each call on the page;
4. how many calls with the first call's value and time come before it (a count).

Then `page_rows` reads the page: the calls at those times of those dates only (read and
priced for those dates), kept between the page's first and last (value, ts), ordered
exactly (event_id breaks the ties) and cut where the page starts.

Any relation with `date`, `ts` and `value_`, one row per call, finds the keys: the priced
copy's rows (cost, priced already) with the events of the days it does not serve, or the
events themselves (their own columns). Every call of the true page has its (value, ts)
between the first and last key's, so it is among the calls read; several calls at one
time all are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .fetch import fetch

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class PageKeys:
    dates: tuple[str, ...]
    """The UTC dates (partitions) the page's calls are on."""
    times: list[Any]
    """`ts` of each call on the page (as the keys' relation has them)."""
    values: list[Any]
    """Its sort value (`value_`), in the same order."""
    first: tuple[Any, Any]
    """(value, ts) of the page's first call."""
    last: tuple[Any, Any]
    """(value, ts) of its last."""
    skip: int
    """Calls with the first call's (value, ts) that come before the page."""


def _within(descending: bool, first: Any, last: Any) -> str:
    """SQL: `value_` between the values `$first_` and `$last_` in the order (NULLS LAST),
    in a form DuckDB pushes into a Parquet scan when neither is NULL."""
    if first is None:
        return "value_ IS NULL"
    low, high = ("$last_", "$first_") if descending else ("$first_", "$last_")
    if last is None:
        return f"(value_ {'<=' if descending else '>='} $first_ OR value_ IS NULL)"
    return f"value_ BETWEEN {low} AND {high}"


def page_keys(con: duckdb.DuckDBPyConnection, keys: str, params: dict[str, Any], *,
              descending: bool, offset: int, limit: int,
              run: Any = fetch) -> PageKeys | None:
    """Where the page of `limit` calls from `offset` lies among the rows of `keys`
    (FROM-able SQL with `date`, `ts` and `value_`, one row per call), in the order
    `value_ <dir> NULLS LAST, ts DESC`; None when the page is empty. `run` fetches
    (a planned fetch blames a failed read on its cube)."""
    direction = "DESC" if descending else "ASC"
    order = f"value_ {direction} NULLS LAST"
    # Top-N with an offset keeps offset + limit values in a heap; a window numbering them
    # sorted them all (10 s for a page 5 M calls deep in a run of one status).
    values = run(con, f"SELECT value_ FROM {keys} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
                 params)
    if not values:
        return None
    first, last = values[0]["value_"], values[-1]["value_"]
    bounds = {"first_": first, "last_": last}
    # Calls with a value before the page's first: they precede every call of the range.
    before = run(con, f"SELECT count(*) AS n FROM {keys} WHERE {_before(first, descending, 'first_')}",
                 {**params, **bounds})[0]["n"]
    # The calls between the page's first and last value, in order of (value, ts): the keys.
    rows = run(con, f"SELECT date, ts, value_ FROM {keys} WHERE {_within(descending, first, last)} "
                    f"ORDER BY {order}, ts DESC LIMIT {limit} OFFSET {offset - before}",
               {**params, **bounds})
    head, tail = rows[0], rows[-1]
    # The page may start inside a run of calls with its first call's value and time: how
    # many of them come before it.
    same = "value_ IS NULL" if head["value_"] is None else "value_ = $head_"
    earlier = run(con, f"SELECT count(*) AS n FROM {keys} WHERE {same} AND ts > $head_ts_",
                  {**params, "head_": head["value_"], "head_ts_": head["ts"]})[0]["n"]
    return PageKeys(tuple(sorted({str(row["date"]) for row in rows})),
                    [row["ts"] for row in rows], [row["value_"] for row in rows],
                    (head["value_"], head["ts"]),
                    (tail["value_"], tail["ts"]), offset - before - earlier)


def _before(value: Any, descending: bool, name: str) -> str:
    """SQL: true where `value_` comes strictly before the value bound as `$name` (NULLS
    LAST: nothing comes after NULL, so before NULL is every value)."""
    if value is None:
        return "value_ IS NOT NULL"
    return f"COALESCE(value_ {'>' if descending else '<'} ${name}, FALSE)"


def _after(value: Any, descending: bool, name: str) -> str:
    if value is None:
        return "FALSE"
    return f"(value_ IS NULL OR value_ {'<' if descending else '>'} ${name})"


def page_rows(con: duckdb.DuckDBPyConnection, columns: str, source: str,
              params: dict[str, Any], value: str, keys: PageKeys, *, descending: bool,
              limit: int) -> list[dict[str, Any]]:
    """The page: `columns` of the calls of `source` (the page's dates of event_costs,
    filtered as the query filters) at the keys' times, between its first and last
    (value, ts), in the exact order; `value` is the sort value's SQL over `source`."""
    direction = "DESC" if descending else "ASC"
    (first, first_ts), (last, last_ts) = keys.first, keys.last
    inside = (f"NOT ({_before(first, descending, 'first_')} OR "
              f"(value_ IS NOT DISTINCT FROM $first_ AND ts_ > $first_ts_)) AND "
              f"NOT ({_after(last, descending, 'last_')} OR "
              f"(value_ IS NOT DISTINCT FROM $last_ AND ts_ < $last_ts_))")
    sql = (f"SELECT * EXCLUDE (value_, ts_) FROM (SELECT {columns}, ts AS ts_, {value} AS value_ "
           f"FROM {source} WHERE ts = ANY($page_times)) WHERE {inside} "
           f"ORDER BY value_ {direction} NULLS LAST, ts_ DESC, event_id "
           f"LIMIT {int(limit)} OFFSET {int(keys.skip)}")
    return fetch(con, sql, {**params, "page_times": keys.times, "first_": first,
                            "first_ts_": first_ts, "last_": last, "last_ts_": last_ts})
