"""Where a page of call attempts sorted by one value lies, found from narrow columns only.

The Requests page orders calls by a value (`value_`: cost, latency, a column), then `ts`
newest first, then `event_id`. Reading `event_id` (a random string) or pricing every call
of the window to sort them cost seconds at 10 M events. Instead:

1. the page's sort values: the first `offset + limit` values alone, in order (a top-N
   of one column);
2. the calls whose value lies between the page's first and last value, in order of
   (value, ts): those at the page's positions are its `keys` — `(date, ts)` of each
   row (several calls at one time share a key row each);
3. the page itself (`page_rows`): the calls at those times of those dates, read and
   priced for only those dates, kept between the page's first and last (value, ts),
   ordered exactly and cut where the page starts among the calls of its first
   (value, ts).

Any relation with `date`, `ts` and `value_` finds the keys: the priced copy's rows (cost,
already priced) with the events of the days it does not serve, or the events themselves
(their own columns). Every call of the true page has its (value, ts) between the first
and last key's, so it is among the calls read in step 3; the order on (value, ts) is the
exact order but for calls with equal value and time, which step 3 orders by event_id.
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
    values = [row["value_"] for row in run(
        con, f"SELECT value_ FROM {keys} ORDER BY {order} LIMIT {offset + limit}", params)]
    if len(values) <= offset:
        return None
    first, last = values[offset], values[-1]
    # Calls before the page's first value: they precede every call of the range below.
    before = next(i for i, v in enumerate(values) if _same(v, first))
    rows = run(con, f"SELECT date, ts, value_ FROM {keys} WHERE {_within(descending, first, last)} "
                    f"ORDER BY {order}, ts DESC LIMIT {offset + limit - before}",
               {**params, "first_": first, "last_": last})
    page = rows[offset - before:]
    head = (page[0]["value_"], page[0]["ts"])
    # The page starts among the calls with its first (value, ts): those before it.
    skip = offset - before - next(i for i, row in enumerate(rows)
                                  if _same(row["value_"], head[0]) and row["ts"] == head[1])
    return PageKeys(tuple(sorted({str(row["date"]) for row in page})),
                    [row["ts"] for row in page], head,
                    (page[-1]["value_"], page[-1]["ts"]), skip)


def _same(a: Any, b: Any) -> bool:
    """Equal as DuckDB sorts them (NaN equals NaN there, not in Python)."""
    return a == b or (a != a and b != b)  # NaN: the one value unequal to itself


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
