"""Report functions: a DuckDB connection (from `connect()`) and a `Query` in, rows out.

Each returns a `Report`: `data` (one row per group: a list of dicts for the overview,
savings and latency reports, which are built from rollups where they can be without
pyarrow; an Arrow table for the others; `rows` is an Arrow table either way), `totals`
(one dict over the whole filtered window) and `notes` (plain sentences worth a reader's
attention, such as spend resting on default prices). The CLI renders them; notebooks use
them as is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import LlmstatsError, UsageError
from ..query import Query
from ..report.format import human
from ..rollups.quantiles import quantile_sql
from ..rollups.spec import SKETCH_QUANTILES
from .fetch import (
    CONTEXT_CALLS,
    ERROR_CALLS,
    RECONCILE_CALLS,
    Sketches,
    query_failed,
    used_params,
)
from .parts import call_rows, sketch_rows, sketch_sets, sums_rows

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

_RECONCILE_AS = {"g_provider": "provider", "g_model": "model",
                 "reported_cost_": "reported_cost_usd", "cost_": "cost_usd",
                 "cache_read_": "cache_read_tokens", "cache_write_": "cache_write_tokens"}
"""A reconcile cell's columns (CALL_CELLS["reconcile"]) that RECONCILE_REASON reads by
another name (the cell's other keys carry the names it reads)."""


@dataclass
class Report:
    title: str
    data: Any
    """The rows: a pyarrow Table, or a list of dicts (reports built without pyarrow)."""
    totals: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> pa.Table:
        """The rows as an Arrow table (what notebooks and other callers get)."""
        if isinstance(self.data, list):
            import pyarrow as pa

            return pa.Table.from_pylist(self.data)
        return self.data

    @property
    def row_count(self) -> int:
        return len(self.data) if isinstance(self.data, list) else int(self.data.num_rows)


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
    """Execute one query over the event views (defined first if the connection was
    opened without them); a DuckDB failure (say, a data page corrupt beyond its footer)
    becomes a one-line LlmstatsError instead of a traceback."""
    import duckdb

    from ..rollups.index import require_events

    require_events(con)

    try:
        return con.sql(sql, params=used_params(sql, params)).to_arrow_table()
    except duckdb.Error as exc:
        raise query_failed(exc) from exc


def _one(table: pa.Table) -> dict[str, Any]:
    rows = table.to_pylist()
    return rows[0] if rows else {}


def _group(query: Query, default: tuple[str, ...]) -> Query:
    if query.by:
        return query
    return Query(query.since, query.until, query.tz, default, query.where, query.top)


def _select_groups(query: Query, *, cost_columns: bool = True) -> tuple[str, str]:
    exprs = query.group_exprs(cost_columns=cost_columns)
    select = ", ".join(f"{expr} AS {name}" for name, expr in exprs)
    group = ", ".join(str(i + 1) for i in range(len(exprs)))
    return select, group


def _limit(query: Query) -> str:
    return f"LIMIT {int(query.top)}" if query.top else ""


def _top(rows: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    return rows[: query.top] if query.top else rows


NARROWABLE = ("user", "end_user", "session", "key", "key_hash", "tag")
"""Dimensions of thousands of text values, where a --top report shows few of them."""


def _narrowed_to_top(query: Query, rows: list[dict[str, Any]]) -> Query | None:
    """The query filtered to the groups `--top` shows, where that is cheaper and the same:
    grouped by one text dimension of thousands of values that it does not filter on
    already. Quantiles are per group, so the shown groups' are those of their events
    alone (the dashboard's top 10 users of 5,000: 1.1 s of quantiles at 10 M events)."""
    if (query.top is None or len(rows) <= query.top or len(query.by) != 1
            or query.by[0] not in NARROWABLE or query.by[0] in {k for k, _ in query.where}):
        return None
    values = [row[query.by[0]] for row in rows[: query.top]]
    if not all(isinstance(value, str) for value in values):
        return None  # a NULL group cannot be named by a filter
    return dataclasses.replace(query, where=(*query.where, *((query.by[0], v) for v in values)))


def _total(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    """Column sums over grouped rows (all additive), as a totals row would have them."""
    total: dict[str, Any] = {}
    for column in columns:
        values = [row[column] for row in rows if row.get(column) is not None]
        total[column] = sum(values) if values else 0
    return total


def _add_quantiles(row: dict[str, Any], found: dict[str, Any] | None,
                   names: dict[str, str]) -> None:
    for source, target in names.items():
        row[target] = None if found is None else found.get(source)


# Per group, over price_groups rows (see report/fetch.py, fetch_sums).
MONEY_AGGREGATES = """
    COALESCE(sum(cost_usd), 0) AS cost_usd,
    COALESCE(sum(reported_cost_usd), 0) AS reported_cost_usd,
    COALESCE(sum(savings_usd), 0) AS savings_usd
"""
PRICING_AGGREGATES = """
    COALESCE(sum(cost_usd) FILTER (WHERE priced_by = 'default'), 0) AS cost_on_default_prices_usd,
    CAST(COALESCE(sum(calls_) FILTER (WHERE priced_by = 'default'), 0) AS BIGINT) AS calls_on_default_prices,
    CAST(COALESCE(sum(calls_) FILTER (WHERE priced_by = 'catalog_zero'), 0) AS BIGINT) AS calls_on_zero_prices,
    CAST(COALESCE(sum(tokens_) FILTER (WHERE priced_by = 'catalog_zero'), 0) AS BIGINT) AS tokens_on_zero_prices,
    COALESCE(sum(reported_cost_usd) FILTER (WHERE priced_by = 'catalog_zero'), 0)
        AS reported_cost_on_zero_prices_usd
"""
USAGE_AGGREGATES = f"""
    CAST(COALESCE(sum(requests_), 0) AS BIGINT) AS requests,
    CAST(COALESCE(sum(calls_), 0) AS BIGINT) AS calls,
    CAST(COALESCE(sum(input_tokens_), 0) AS BIGINT) AS input_tokens,
    CAST(COALESCE(sum(output_tokens_), 0) AS BIGINT) AS output_tokens,
    CAST(COALESCE(sum(cache_read_tokens_), 0) AS BIGINT) AS cached_tokens,
    {MONEY_AGGREGATES},
    COALESCE(sum(failures_) / NULLIF(sum(calls_), 0), 0) AS error_rate,
    CAST(COALESCE(sum(failures_), 0) AS BIGINT) AS failures_,
    {PRICING_AGGREGATES}
"""
USAGE_COLUMNS = (
    "requests",
    "calls",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cost_usd",
    "reported_cost_usd",
    "savings_usd",
    "error_rate",
    "p50_latency_ms",
    "p95_latency_ms",
    "p50_ttft_ms",
    "p95_ttft_ms",
)
PRICING_COLUMNS = (
    "cost_on_default_prices_usd",
    "calls_on_default_prices",
    "calls_on_zero_prices",
    "tokens_on_zero_prices",
    "reported_cost_on_zero_prices_usd",
)
_USAGE_QUANTILES = {m: SKETCH_QUANTILES[m] for m in ("latency", "ttft")}
_USAGE_QUANTILE_NAMES = {
    "latency_0": "p50_latency_ms",
    "latency_1": "p95_latency_ms",
    "ttft_0": "p50_ttft_ms",
    "ttft_1": "p95_ttft_ms",
}


def default_prices(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The default prices in force (pricing/overrides.toml's [default], else built in):
    input and output per million tokens, per image, audio second, speech character and
    rerank search unit."""
    found = con.execute("SELECT input * 1e6, output * 1e6, per_image, per_second, "
                        "per_character, per_query FROM price_defaults").fetchall()
    names = ("input", "output", "per_image", "per_second", "per_character", "per_query")
    return dict(zip(names, found[0], strict=True)) if found else {}


def pricing_notes(total: dict[str, Any], defaults: dict[str, float] | None = None) -> list[str]:
    notes = []
    if total.get("calls_on_default_prices"):
        d = defaults or {"input": 3.0, "output": 15.0, "per_image": 0.08, "per_second": 0.0001}
        notes.append(
            f"{human('cost_usd', total['cost_on_default_prices_usd'])} of the cost rests on default prices "
            f"(${d['input']:g} / ${d['output']:g} per million tokens, ${d['per_image']:g} per image, "
            f"${d['per_second']:g} per audio second) for {total['calls_on_default_prices']:,} calls to "
            "models neither the catalog nor pricing/overrides.toml prices: a guess, below the list "
            "price of the dearest models (rows: cost_on_default_prices_usd; set your own with "
            "`llmstats pricing set MODEL …` or `llmstats pricing set --default …`)."
        )
    if total.get("calls_on_zero_prices"):
        notes.append(
            f"{total['calls_on_zero_prices']:,} calls ({total['tokens_on_zero_prices']:,} tokens) "
            "rest on a catalog price of $0; if those models are not free, add an override."
        )
    return notes


def usage_report(con: duckdb.DuckDBPyConnection, query: Query, *,
                 quantiles: bool = True) -> Report:
    """The overview: totals for the window, rows by `--by` (default: top models by cost).

    `requests` counts client requests: each in the group of its final attempt (within a
    UTC day); `calls` counts attempts. Latency and TTFT quantiles are within 1 %
    (sketches; see llmstats.analytics.rollups.quantiles). `quantiles=False` leaves their
    columns out (the dashboard's cost panels show none, and by user or tag they read
    every event's latency)."""
    grouped = _group(query, ("model",))
    names = list(grouped.by)
    rows = sums_rows(con, grouped, USAGE_AGGREGATES, requests=True,
                     order="cost_usd DESC, calls DESC")
    total_quantiles: dict[str, Any] | None = None
    if quantiles:
        narrowed = _narrowed_to_top(grouped, rows)
        if narrowed is None:
            found, total_quantiles = sketch_rows(con, grouped, _USAGE_QUANTILES,
                                                 with_total=True)
        else:
            found, total_quantiles = sketch_rows(con, narrowed, _USAGE_QUANTILES)
        for row in rows:
            _add_quantiles(row, found.get(tuple(row[n] for n in names)), _USAGE_QUANTILE_NAMES)
    additive = [c for c in USAGE_COLUMNS if not c.startswith("p") and c != "error_rate"]
    if grouped.needs_tags():
        # A tag repeats an event once per tag: the totals come from the untagged rows.
        total_rows = sums_rows(con, grouped.with_by(()), USAGE_AGGREGATES, requests=True)
    else:
        total_rows = rows
    total = _total(total_rows, [*additive, "failures_", *PRICING_COLUMNS])
    total["error_rate"] = total["failures_"] / total["calls"] if total["calls"] else 0.0
    usage_columns = [c for c in USAGE_COLUMNS
                     if quantiles or c not in _USAGE_QUANTILE_NAMES.values()]
    if quantiles:
        if total_quantiles is None:
            total_quantiles = sketch_rows(con, grouped.with_by(()), _USAGE_QUANTILES)[0].get(())
        _add_quantiles(total, total_quantiles, _USAGE_QUANTILE_NAMES)
    total = {**{k: total[k] for k in usage_columns}, **{k: total[k] for k in PRICING_COLUMNS}}
    # Beside every figure that rests on default prices, how much of it does.
    columns = (*names, *usage_columns) + (
        ("cost_on_default_prices_usd",) if total["calls_on_default_prices"] else ())
    shown = [{k: row[k] for k in columns} for row in _top(rows, grouped)]
    return Report("Usage by " + ", ".join(grouped.by), shown, total,
                  pricing_notes(total, default_prices(con)))


SAVINGS_AGGREGATES = """
    CAST(COALESCE(sum(calls_), 0) AS BIGINT) AS calls,
    CAST(COALESCE(sum(cache_read_tokens_), 0) AS BIGINT) AS cached_tokens,
    CAST(COALESCE(sum(cache_write_tokens_), 0) AS BIGINT) AS cache_write_tokens,
    COALESCE(sum(prompt_cache_savings_usd), 0) AS prompt_cache_savings_usd,
    CAST(COALESCE(sum(calls_) FILTER (WHERE is_proxy_hit), 0) AS BIGINT) AS proxy_cache_hits,
    COALESCE(sum(proxy_cache_savings_usd), 0) AS proxy_cache_savings_usd,
    CAST(COALESCE(sum(calls_) FILTER (WHERE is_batch), 0) AS BIGINT) AS batch_calls,
    COALESCE(sum(batch_savings_usd), 0) AS batch_savings_usd,
    COALESCE(sum(savings_usd), 0) AS savings_usd,
    COALESCE(sum(cost_usd), 0) AS cost_usd,
    COALESCE(sum(savings_usd) / NULLIF(sum(cost_usd) + sum(savings_usd), 0), 0) AS savings_rate
"""
_SAVINGS_SUMS = [
    "calls",
    "cached_tokens",
    "cache_write_tokens",
    "prompt_cache_savings_usd",
    "proxy_cache_hits",
    "proxy_cache_savings_usd",
    "batch_calls",
    "batch_savings_usd",
    "savings_usd",
    "cost_usd",
]


Groupings = list[tuple[tuple[str, ...], int | None]]
"""(by, top) of several reports asked of one window and filters."""


def _shared_dimensions(groupings: Groupings) -> tuple[str, ...] | None:
    """Every dimension the groupings name, in order: one pass grouped by them adds up to
    each grouping's groups. None with a tag among them: an event with two tags is in two
    of those groups, so each grouping is asked on its own."""
    dims = tuple(dict.fromkeys(d for by, _ in groupings for d in by))
    return None if "tag" in dims else dims


def _savings_rate(sums: dict[str, Any]) -> float:
    spent = sums["cost_usd"] + sums["savings_usd"]
    return sums["savings_usd"] / spent if spent else 0.0


def savings_reports(con: duckdb.DuckDBPyConnection, query: Query,
                    groupings: Groupings) -> list[Report]:
    """`savings_report` for each (by, top) of `groupings`, with `query`'s window and
    filters, from one query grouped by every dimension any of them names: its rows' sums
    add up to each grouping's (the dashboard's overview asks three)."""
    dims = _shared_dimensions(groupings)
    if dims is None:
        return [savings_report(con, dataclasses.replace(query, by=by, top=top))
                for by, top in groupings]
    parts = sums_rows(con, query.with_by(dims), SAVINGS_AGGREGATES)
    reports = []
    for by, top in groupings:
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        for part in parts:
            key = tuple(part[n] for n in by)
            row = merged.get(key)
            if row is None:
                row = merged[key] = {**dict(zip(by, key, strict=True)),
                                     **dict.fromkeys(_SAVINGS_SUMS, 0)}
            for column in _SAVINGS_SUMS:
                row[column] += part[column]
        for row in merged.values():
            row["savings_rate"] = _savings_rate(row)
        rows = sorted(merged.values(), key=_sort_key(list(by), "savings_usd"))
        reports.append(_savings_of(dataclasses.replace(query, by=by, top=top), rows, rows))
    return reports


def savings_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """What prompt caching, LiteLLM's response cache and batch discounts saved."""
    grouped = _group(query, ("model",))
    rows = sums_rows(con, grouped, SAVINGS_AGGREGATES, order="savings_usd DESC")
    total_rows = (
        sums_rows(con, grouped.with_by(()), SAVINGS_AGGREGATES) if grouped.needs_tags() else rows
    )
    return _savings_of(grouped, rows, total_rows)


def _savings_of(grouped: Query, rows: list[dict[str, Any]],
                total_rows: list[dict[str, Any]]) -> Report:
    total = _total(total_rows, _SAVINGS_SUMS)
    total["savings_rate"] = _savings_rate(total)
    return Report("Savings by " + ", ".join(grouped.by), _top(rows, grouped), total)


_ERROR_MODES = ("http_status", "error_code", "error_code_source")
_ERROR_TAIL = ("retries", "fallbacks", "requests", "first_attempts", "client_retries")


def _most_common(counts: dict[Any, int]) -> Any:
    """The value most failed calls of a group have, the smallest of equals (as SQL orders
    values); None where none had one."""
    return min(counts.items(), key=lambda e: (-e[1], e[0]))[0] if counts else None


def _error_groups(parts: list[dict[str, Any]], names: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Per group (its dimension values), the errors report's figures, from the rows of
    its cells (CALL_CELLS["errors"]) × group (a few per group): one pass over the calls groups them by a few
    small keys with plain sums, cheaper at 10 M calls than filtered sums and a histogram
    per group and column (0.6 → 0.35 s), and the totals come from the same rows."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for part in parts:
        key = tuple(part[n] for n in names)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"failures": 0, "calls": 0, **dict.fromkeys(_ERROR_TAIL, 0),
                                   **{c: {} for c in _ERROR_MODES}}
        calls = part["calls_"]
        group["calls"] += calls
        if part["failed_"]:
            group["failures"] += calls
            for column in _ERROR_MODES:
                value = part[column + "_"]
                if value is not None:
                    group[column][value] = group[column].get(value, 0) + calls
        group["retries"] += part["retries_"] or 0
        group["fallbacks"] += part["fallbacks_"] or 0
        requests = part["requests_"] or 0
        group["requests"] += requests
        group["client_retries" if part["client_retry_"] else "first_attempts"] += requests
    return groups


def _error_figures(group: dict[str, Any], *, modes: bool) -> dict[str, Any]:
    calls = group["calls"]
    figures = {"failures": group["failures"], "calls": calls,
               "error_rate": group["failures"] / calls if calls else 0.0}
    if modes:
        figures.update((c, _most_common(group[c])) for c in _ERROR_MODES)
    figures.update((c, group[c]) for c in _ERROR_TAIL)
    return figures


def errors_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """Failed attempts: how many, how often, and how (class, provider code, HTTP status).

    `retries` and `fallbacks` are LiteLLM's own (inside one client request); beside them,
    `requests`: client requests counted, as in every report, in the row of their final
    attempt (in an error's row, the requests that ended in that error: what the
    application saw), of which `client_retries` were sent by the client as a retry of an
    earlier one (the OpenAI and Anthropic SDKs' retry header) and `first_attempts` were
    not. What can and cannot be linked across client retries: docs/analytics.md."""
    grouped = _group(query, ("provider", "model", "error"))
    grouped.group_exprs(cost_columns=False)  # rejects --by priced_by
    return _errors_of(con, grouped, call_rows(con, grouped, ERROR_CALLS))


def errors_reports(con: duckdb.DuckDBPyConnection, query: Query,
                   groupings: Groupings) -> list[Report]:
    """`errors_report` for each (by, top) of `groupings`, with `query`'s window and
    filters, from one pass over the calls grouped by every dimension any of them names:
    its parts add up to each grouping's (the dashboard's engineering page asks two)."""
    dims = _shared_dimensions(groupings)
    if dims is None:
        return [errors_report(con, dataclasses.replace(query, by=by, top=top))
                for by, top in groupings]
    finest = query.with_by(dims)
    finest.group_exprs(cost_columns=False)  # rejects --by priced_by
    # The finest parts regrouped per grouping in SQL (a few thousand rows to pivot in
    # Python, not the tens of thousands of the finest grouping: 0.2 s at 10 M events).
    cells = ERROR_CALLS.cells
    keys = ", ".join(cells.key_names())
    regrouped = " UNION ALL BY NAME ".join(
        f"SELECT {i} AS set_, {''.join(f'g_{d} AS {d}, ' for d in by)}{keys}, "
        f"{', '.join(cells.merged())} FROM parts_ "
        f"GROUP BY {''.join(f'g_{d}, ' for d in by)}{keys}"
        for i, (by, _) in enumerate(groupings))
    parts = call_rows(con, finest, ERROR_CALLS, regrouped)
    return [_errors_of(con, dataclasses.replace(query, by=by, top=top),
                       [p for p in parts if p["set_"] == i])
            for i, (by, top) in enumerate(groupings)]


def _errors_of(con: duckdb.DuckDBPyConnection, grouped: Query,
               parts: list[dict[str, Any]]) -> Report:
    """The errors report of `grouped` from parts grouped by (at least) its dimensions."""
    names = list(grouped.by)
    groups = _error_groups(parts, names)
    rows = [{**dict(zip(names, key, strict=True)), **_error_figures(group, modes=True)}
            for key, group in groups.items() if group["failures"] > 0]
    rows.sort(key=_sort_key(names, "failures"))
    # Totals over the window's events (an event with two tags counts once).
    if grouped.needs_tags():
        groups = _error_groups(
            call_rows(con, grouped.with_by(()), ERROR_CALLS), [])
    total = {"failures": 0, "calls": 0, **dict.fromkeys(_ERROR_TAIL, 0)}
    for group in groups.values():
        for column in total:
            total[column] += group[column]
    total = _error_figures({**total, **{c: {} for c in _ERROR_MODES}}, modes=False)
    return Report("Errors by " + ", ".join(grouped.by), _top(rows, grouped), total)


_LATENCY_QUANTILES = {m: SKETCH_QUANTILES[m] for m in ("latency_direct", "ttft_direct", "output_speed")}
_LATENCY_NAMES = {
    "latency_direct_0": "p50_latency_ms",
    "latency_direct_1": "p95_latency_ms",
    "latency_direct_2": "p99_latency_ms",
    "ttft_direct_0": "p50_ttft_ms",
    "ttft_direct_1": "p95_ttft_ms",
    "output_speed_0": "median_output_tokens_per_second",
}


def _sort_key(names: list[str], first: str) -> Any:
    """Largest `first` first, then the dimensions ascending with NULLs last (as SQL)."""

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        dims = tuple((row[n] is None, "" if row[n] is None else row[n]) for n in names)
        return (-(row[first] or 0), *dims)

    return key


def latency_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """Successful calls a provider answered: end-to-end latency, time to first token,
    output speed; quantiles within 1 % (sketches). `calls`: those with a latency."""
    grouped = _latency_query(query)
    found, _ = sketch_rows(con, grouped, _LATENCY_QUANTILES, cost_columns=False)
    return _latency_of(grouped, found)


def latency_reports(con: duckdb.DuckDBPyConnection, query: Query,
                    groupings: Groupings) -> list[Report]:
    """`latency_report` for each (by, top) of `groupings`, with `query`'s window and
    filters: where every one of them reads the priced copy (filtered to a team, a key,
    a user), from one pass over it (parts.sketch_sets)."""
    grouped = [_latency_query(dataclasses.replace(query, by=by, top=top))
               for by, top in groupings]
    found = sketch_sets(con, grouped, _LATENCY_QUANTILES, cost_columns=False)
    return [_latency_of(g, f) for g, f in zip(grouped, found, strict=True)]


def _latency_query(query: Query) -> Query:
    grouped = _group(query, ("provider", "model"))
    grouped.group_exprs(cost_columns=False)  # rejects --by priced_by
    grouped.conditions(cost_columns=False)  # and --where priced_by=…
    return grouped


def _latency_of(grouped: Query, found: Sketches) -> Report:
    names = list(grouped.by)
    rows = []
    for key, values in found.items():
        row: dict[str, Any] = dict(zip(names, key, strict=True))
        row["calls"] = values.get("n_latency_direct") or 0
        _add_quantiles(row, values, _LATENCY_NAMES)
        rows.append(row)
    rows.sort(key=_sort_key(names, "calls"))
    return Report("Latency by " + ", ".join(grouped.by), _top(rows, grouped), {})


_BANDS = ("ok", "low", "medium", "high", "critical", "exceeded", "unknown")


def _context_sql(names: list[str], order: str, limit: str) -> str:
    """The context report's rows from its cells (`parts_`, fetch.fetch_call_rows): calls
    per band, the p95 of the share of the window used from the merged sketch buckets
    (rollups/quantiles.py: within 1 % of the exact quantile, the same whichever source
    a day is read from), the largest share and the largest window."""
    groups = [f"g_{n}" for n in names]
    quantiles = quantile_sql(
        "(SELECT *, usage_bucket AS bucket, calls_ AS n_usage FROM parts_ "
        "WHERE usage_bucket IS NOT NULL)", groups, {"usage": (0.95,)})
    on = " AND ".join(f"p.{g} IS NOT DISTINCT FROM q.{g}" for g in groups) or "TRUE"
    counts = ", ".join(
        f"CAST(COALESCE(sum(calls_) FILTER (WHERE context_band = {code}), 0) AS BIGINT) AS {band}"
        for code, band in enumerate(_BANDS))
    picks = "".join(f"p.{g} AS {n}, " for g, n in zip(groups, names, strict=True))
    return (f", usage_ AS ({quantiles}) "
            f"SELECT {picks}CAST(sum(calls_) AS BIGINT) AS calls, {counts}, "
            "any_value(q.usage_0) AS p95_usage_pct, max(max_usage_pct_) AS max_usage_pct, "
            f"max(context_window) AS context_window FROM parts_ AS p LEFT JOIN usage_ AS q ON {on} "
            + (f"GROUP BY {', '.join(f'p.{g}' for g in groups)} " if groups else "")
            + (f"ORDER BY {order}, {', '.join(names)} " if names else "") + limit)


def context_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """How full the context window was, per call, in bands (see sql/09_context_usage.sql);
    the p95 share of the window within 1 % (sketches, as latency's)."""
    grouped = _group(query, ("model",))
    names = list(grouped.by)
    rows = call_rows(con, grouped, CONTEXT_CALLS, _context_sql(
        names, "exceeded DESC, critical DESC, high DESC, calls DESC", _limit(grouped)))
    return Report(
        "Context-window use by " + ", ".join(grouped.by),
        rows,
        {},
        [
            "Bands: OK < 50 %, LOW 50–70 %, MEDIUM 70–85 %, HIGH 85–95 %, "
            "CRITICAL ≥ 95 % of the model's input window; EXCEEDED: failed because the "
            "prompt did not fit (context_length_exceeded). p95: within 1 % of the exact value."
        ],
    )


def segments_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """Where input tokens and input cost go, by role × kind (and by --by dimensions)."""
    select, group = ("", "")
    if query.by:
        select, group = _select_groups(query)
    dims = f"{select}, " if select else ""
    group_by = f"{group}, " if group else ""
    offset = len(query.by)
    exprs = [expr for _, expr in query.group_exprs()] if query.by else []
    # Shares within each --by group: the window partitions on the group expressions.
    partition = f"PARTITION BY {', '.join(exprs)}" if exprs else ""
    source, params = query.source("segments")
    rows = run(
        con,
        f"""
        SELECT {dims}role, kind,
            count(DISTINCT event_id) AS calls,
            CAST(sum(segment_tokens) AS BIGINT) AS input_tokens,
            sum(segment_tokens) / sum(sum(segment_tokens)) OVER ({partition}) AS token_share,
            CAST(sum(segment_cached_tokens) AS BIGINT) AS cached_tokens,
            sum(segment_cached_tokens) / NULLIF(sum(segment_tokens), 0) AS cached_share,
            sum(segment_input_cost_usd) AS input_cost_usd,
            count(*) FILTER (WHERE segments_estimated) AS estimated_segments
        FROM {source}
        GROUP BY {group_by}{offset + 1}, {offset + 2}
        ORDER BY {group_by}input_tokens DESC {_limit(query)}
    """,
        params,
    )
    return Report(
        "Input tokens by role and kind" + (" per " + ", ".join(query.by) if query.by else ""),
        rows,
        {},
        [
            "cached_share: the part of the segment read from the prompt cache (a cache covers "
            "the start of a prompt: tool definitions and system prompt first)."
        ],
    )


RECONCILE_REASON = """
    CASE
        WHEN reported_cost_usd IS NULL THEN 'not_reported'
        -- Where LiteLLM's own cost functions do not bill what its map says (docs/pricing.md,
        -- "Where LiteLLM is off its own map"): llmstats keeps the map's price, or its
        -- flagged default where the map has none. map_*: facts of the price-map entry
        -- LiteLLM's lookup finds for the event's model (MAP_FACTS).
        WHEN priced_by = 'default' AND reported_cost_usd = 0 AND map_key IS NULL
            THEN 'litellm_unmapped'
        WHEN priced_by = 'default' AND reported_cost_usd = 0 AND NOT COALESCE(map_priced, TRUE)
            THEN 'litellm_no_price'
        WHEN priced_by = 'default' AND reported_cost_usd = 0 THEN 'litellm_priced_zero'
        WHEN priced_by = 'default' THEN 'default_price'
        WHEN priced_by = 'override' THEN 'override'
        WHEN priced_by = 'catalog_zero' THEN 'catalog_zero'
        WHEN proxy_cache_hit THEN 'proxy_cache_hit'
        WHEN batch AND map_tiered_no_flat THEN 'litellm_batch_tiered_zero'
        WHEN batch AND COALESCE(cache_read_tokens, 0) > 0 AND map_batch_cache_read_unpriced
            THEN 'litellm_batch_cache_read_zero'
        WHEN batch AND long_context AND map_batch_flat_only THEN 'litellm_batch_flat_rates'
        WHEN reported_cost_usd = 0 AND cost_usd > 0 THEN 'litellm_priced_zero'
        WHEN batch THEN 'batch'
        WHEN provider = 'perplexity' AND (COALESCE(cache_read_tokens, 0) > 0
             OR COALESCE(cache_write_tokens, 0) > 0 OR long_context) THEN 'litellm_perplexity'
        WHEN lower(service_tier) IN ('priority', 'fast', 'flex', 'balanced', 'ultrafast')
             AND provider IN ('fireworks_ai', 'deepseek', 'tencent', 'perplexity', 'xai',
                              'lemonade', 'dashscope', 'qwencloud', 'qwen_ai_platform')
            THEN 'litellm_ignores_service_tier'
        WHEN call_type IN ('speech', 'image') THEN 'non_token_pricing'
        WHEN long_context THEN 'long_context_tier'
        ELSE 'other'
    END
"""


def reconcile_reasons(source: str) -> str:
    """`FROM`-able SQL: every row of `source` (event_costs, filtered) with `reason`, the
    likeliest reason LiteLLM's response_cost and ours may differ (RECONCILE_REASON)."""
    return f"""(
        SELECT *, {RECONCILE_REASON} AS reason
        FROM (
            SELECT ev.*, mp.* EXCLUDE (provider, model)
            FROM {source} AS ev
            LEFT JOIN ({MAP_FACTS}) AS mp
                ON mp.provider IS NOT DISTINCT FROM ev.provider
                AND mp.model IS NOT DISTINCT FROM ev.model
        )
    )"""


MAP_FACTS = """
    SELECT mp.provider, mp.model, mp.catalog_key AS map_key, pc.priced AS map_priced,
        json_exists(pc.entry_json, '$.tiered_pricing')
            AND json_extract_string(pc.entry_json, '$.input_cost_per_token') IS NULL
            AS map_tiered_no_flat,
        -- LiteLLM's batch fallback (half the flat rates) needs a flat input rate.
        json_extract_string(pc.entry_json, '$.input_cost_per_token') IS NOT NULL
            AND json_extract_string(pc.entry_json, '$.input_cost_per_token_batches') IS NULL
            AND json_extract_string(pc.entry_json, '$.cache_read_input_token_cost') IS NULL
            AS map_batch_cache_read_unpriced,
        json_extract_string(pc.entry_json, '$.input_cost_per_token') IS NOT NULL
            AND len(list_filter(json_keys(pc.entry_json), lambda k:
                k LIKE 'input_cost_per_token_above_%_tokens_batches')) = 0
            AS map_batch_flat_only
    FROM model_prices AS mp
    LEFT JOIN price_catalog AS pc ON pc.key = mp.catalog_key
"""
"""Per (provider, model): what RECONCILE_REASON asks of the price-map entry LiteLLM's
lookup finds (map_key; NULL: none). Read from the entry's JSON once per model, not once
per event (10 M JSON reads made `report reconcile` 11 s at 10 M events)."""


def reconcile_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """Events where our cost and LiteLLM's response_cost differ by more than 0.5 %,
    grouped by model and the likeliest reason (docs/pricing.md explains each)."""
    if query.by:
        raise UsageError("reconcile groups by model and reason; drop --by")
    # The calls' cells (CALL_CELLS["reconcile"]) per provider and model: from the
    # reconcile cube where it serves, the priced copy next, the events priced elsewhere.
    # Each cell keeps its calls' keys named as the columns RECONCILE_REASON tests, so the
    # reason is decided per cell, with the price-map facts of today's catalog.
    renamed = ", ".join(f"{key} AS {column}" for key, column in _RECONCILE_AS.items())
    both = call_rows(con, query.with_by(("provider", "model")), RECONCILE_CALLS, f"""
        SELECT * FROM (
        WITH named_ AS (SELECT * RENAME ({renamed}) FROM parts_),
        g AS MATERIALIZED (
            SELECT provider, model, reason, mismatch_,
                priced_by = 'catalog' AS catalog_,
                CAST(sum(events_) AS BIGINT) AS events, sum(cost_usd_) AS cost_usd,
                sum(reported_cost_usd_) AS reported_cost_usd,
                min(example_event_id_) AS example_event_id
            FROM {reconcile_reasons("named_")}
            GROUP BY ALL
        ),
        rows_ AS (
            SELECT provider, model, reason,
                CAST(sum(events) AS BIGINT) AS events,
                sum(cost_usd) AS cost_usd,
                sum(reported_cost_usd) AS reported_cost_usd,
                sum(cost_usd) - COALESCE(sum(reported_cost_usd), 0) AS difference_usd,
                min(example_event_id) AS example_event_id
            FROM g WHERE mismatch_
            GROUP BY ALL
            ORDER BY abs(difference_usd) DESC, events DESC, provider, model {_limit(query)}
        )
        SELECT 0 AS total_, row_number() OVER (
                ORDER BY abs(difference_usd) DESC, events DESC, provider, model) AS rank_, *
        FROM rows_
        UNION ALL BY NAME
        SELECT 1 AS total_, 0 AS rank_,
            CAST(COALESCE(sum(events), 0) AS BIGINT) AS events,
            CAST(COALESCE(sum(events) FILTER (WHERE mismatch_), 0) AS BIGINT) AS mismatched,
            COALESCE(1 - sum(events) FILTER (WHERE mismatch_) / NULLIF(sum(events), 0), 1)
                AS share_within_tolerance,
            CAST(COALESCE(sum(events) FILTER (WHERE catalog_), 0) AS BIGINT) AS catalog_events,
            COALESCE(1 - sum(events) FILTER (WHERE catalog_ AND mismatch_)
                / NULLIF(sum(events) FILTER (WHERE catalog_), 0), 1)
                AS share_within_tolerance_catalog
        FROM g
        ) ORDER BY total_, rank_
    """)
    row_columns = ("provider", "model", "reason", "events", "cost_usd", "reported_cost_usd",
                   "difference_usd", "example_event_id")
    total_columns = ("events", "mismatched", "share_within_tolerance", "catalog_events",
                     "share_within_tolerance_catalog")
    rows = [{c: r[c] for c in row_columns} for r in both if not r["total_"]]
    (total,) = [{c: r[c] for c in total_columns} for r in both if r["total_"]]
    return Report("Cost reconciliation (|ours − LiteLLM's| > 0.5 %)", rows, total)


def trace_report(con: duckdb.DuckDBPyConnection, trace_id: str) -> Report:
    """One client request with all its attempts (by trace_id, or an event_id / call_id)."""
    rows = run(
        con,
        """
        SELECT ts, event_id, status, provider, model, call_type, stream, latency_ms, ttft_ms,
            input_tokens, output_tokens, cache_read_tokens, cost_usd, reported_cost_usd,
            priced_by, error_class, error_code, http_status, retries, fallbacks
        FROM event_costs
        WHERE trace_id = $id OR event_id = $id OR call_id = $id
            OR trace_id IN (SELECT trace_id FROM events WHERE event_id = $id OR call_id = $id)
        ORDER BY ts, event_id
    """,
        {"id": trace_id},
    )
    if rows.num_rows == 0:
        raise LlmstatsError(f"no events for trace {trace_id!r}")
    total = _one(
        run(
            con,
            """
        SELECT * EXCLUDE (models, started_at, ended_at, date) FROM requests
        WHERE trace_id = (SELECT COALESCE(trace_id, event_id) FROM events
                          WHERE trace_id = $id OR event_id = $id OR call_id = $id LIMIT 1)
    """,
            {"id": trace_id},
        )
    )
    return Report(f"Trace {trace_id}", rows, total)
