"""Report functions: a DuckDB connection (from `connect()`) and a `Query` in, rows out.

Each returns a `Report`: `rows` (an Arrow table, one row per group), `totals` (one dict
over the whole filtered window) and `notes` (plain sentences worth a reader's attention,
such as spend resting on default prices). The CLI renders them; notebooks use them as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import LlmstatsError, UsageError
from .query import Query
from .render import human

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

RECONCILE_TOLERANCE = 0.005  # LiteLLM's response_cost vs ours, relative


@dataclass
class Report:
    title: str
    rows: pa.Table
    totals: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
    """Execute one query; a DuckDB failure (say, a data page corrupt beyond its footer)
    becomes a one-line LlmstatsError instead of a traceback."""
    import duckdb

    used = {name: value for name, value in (params or {}).items() if f"${name}" in sql}
    try:
        return con.sql(sql, params=used or None).to_arrow_table()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LlmstatsError(f"query failed: {first}") from exc


def _one(table: pa.Table) -> dict[str, Any]:
    rows = table.to_pylist()
    return rows[0] if rows else {}


def _group(query: Query, default: tuple[str, ...], *, cost_columns: bool = True) -> Query:
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


EXACT_REQUESTS_UP_TO = 2_000_000
"""Up to this many events in the dataset, `requests` (distinct trace ids) is exact; above
it, HyperLogLog (DuckDB's approx_count_distinct, about ±1 %): an exact distinct count
over tens of millions of ids costs more than the rest of a report together."""


def _quantile(expr: str, q: float, exact: bool) -> str:
    """Exact quantiles keep every value in memory (8 bytes × events × quantile); above
    EXACT_REQUESTS_UP_TO events a t-digest (approx_quantile) keeps memory flat."""
    return f"quantile_cont({expr}, {q})" if exact else f"approx_quantile({expr}, {q})"


def _requests_exact(con: duckdb.DuckDBPyConnection) -> bool:
    rows = run(con, "SELECT getvariable('llmstats_event_rows') AS n").column("n")[0].as_py()
    return rows is None or int(rows) <= EXACT_REQUESTS_UP_TO


def usage_aggregates(exact_requests: bool) -> str:
    """Aggregates shared by the overview and `--by` rows."""
    requests = ("count(DISTINCT COALESCE(trace_id, event_id))" if exact_requests
                else "approx_count_distinct(COALESCE(trace_id, event_id))")
    return f"""
    {requests} AS requests,
    count(*) AS calls,
    CAST(COALESCE(sum(input_tokens), 0) AS BIGINT) AS input_tokens,
    CAST(COALESCE(sum(output_tokens), 0) AS BIGINT) AS output_tokens,
    CAST(COALESCE(sum(cache_read_tokens), 0) AS BIGINT) AS cached_tokens,
    COALESCE(sum(cost_usd), 0) AS cost_usd,
    COALESCE(sum(reported_cost_usd), 0) AS reported_cost_usd,
    COALESCE(sum(savings_usd), 0) AS savings_usd,
    COALESCE(avg(CASE WHEN status = 'failure' THEN 1.0 ELSE 0.0 END), 0) AS error_rate,
    {_quantile("latency_ms", 0.5, exact_requests)} FILTER (WHERE status = 'success') AS p50_latency_ms,
    {_quantile("latency_ms", 0.95, exact_requests)} FILTER (WHERE status = 'success') AS p95_latency_ms,
    {_quantile("ttft_ms", 0.5, exact_requests)} AS p50_ttft_ms,
    {_quantile("ttft_ms", 0.95, exact_requests)} AS p95_ttft_ms
    """


PRICING_AGGREGATES = """
    COALESCE(sum(cost_usd) FILTER (WHERE priced_by = 'default'), 0) AS cost_on_default_prices_usd,
    count(*) FILTER (WHERE priced_by = 'default') AS calls_on_default_prices,
    count(*) FILTER (WHERE priced_by = 'catalog_zero') AS calls_on_zero_prices,
    CAST(COALESCE(sum(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0))
        FILTER (WHERE priced_by = 'catalog_zero'), 0) AS BIGINT) AS tokens_on_zero_prices,
    COALESCE(sum(reported_cost_usd) FILTER (WHERE priced_by = 'catalog_zero'), 0)
        AS reported_cost_on_zero_prices_usd
"""


def _aliases(select_list: str) -> list[str]:
    """The output names (`… AS name`) of a select list we wrote ourselves."""
    return re.findall(r"\bAS\s+(\w+)\s*(?:,|$)", select_list.strip())


def grouped_with_totals(con: duckdb.DuckDBPyConnection, query: Query, table: str,
                        aggregates: str, order: str, *, totals_extra: str = "",
                        having: str = "", cost_columns: bool = True
                        ) -> tuple[pa.Table, dict[str, Any]]:
    """Rows per `query.by` group and one totals row, from ONE scan (GROUPING SETS).

    Grouping by tag repeats an event once per tag, so its totals come from a second,
    untagged scan instead (an event with two tags must count once in the totals)."""
    import pyarrow.compute as pc

    exprs = query.group_exprs(cost_columns=cost_columns)
    names = [name for name, _ in exprs]
    extra = f", {totals_extra}" if totals_extra else ""
    if query.needs_tags():
        source, params = query.source(table, cost_columns=cost_columns)
        select = ", ".join(f"{expr} AS {name}" for name, expr in exprs)
        rows = run(con, f"""SELECT {select}, {aggregates} FROM {source}
            GROUP BY ALL {having} ORDER BY {order}, {', '.join(names)} {_limit(query)}""", params)
        untagged = Query(query.since, query.until, query.tz, (), query.where)
        total_source, total_params = untagged.source(table, cost_columns=cost_columns)
        total = _one(run(con, f"SELECT {aggregates}{extra} FROM {total_source}", total_params))
        return rows, total
    source, params = query.source(table, cost_columns=cost_columns)
    inner = ", ".join(f"{expr} AS {name}" for name, expr in exprs)
    sets = f"GROUPING SETS (({', '.join(names)}), ())"
    result = run(con, f"""
        SELECT {', '.join(names)}, GROUPING({', '.join(names)}) AS is_total_,
            {aggregates}{extra}
        FROM (SELECT *, {inner} FROM {source})
        GROUP BY {sets}
    """, params)
    is_total = pc.not_equal(result.column("is_total_"), 0)
    total = _one(result.filter(is_total).drop_columns(["is_total_", *names]))
    rows = result.filter(pc.invert(is_total)).drop_columns(["is_total_"])
    if totals_extra:
        rows = rows.drop_columns(_aliases(totals_extra))
    # Order and limit here: the grouping-sets query cannot ORDER BY without the totals row.
    con.register("grouped_rows_", rows)
    try:
        ordered = run(con, f"SELECT * FROM grouped_rows_ {having.replace('HAVING', 'WHERE')} "
                           f"ORDER BY {order}, {', '.join(names)} {_limit(query)}")
    finally:
        con.unregister("grouped_rows_")
    return ordered, total


def totals(con: duckdb.DuckDBPyConnection, query: Query) -> dict[str, Any]:
    untagged = Query(query.since, query.until, query.tz, (), query.where)
    source, params = untagged.source("event_costs")
    aggregates = usage_aggregates(_requests_exact(con))
    return _one(run(con, f"SELECT {aggregates}, {PRICING_AGGREGATES} FROM {source}", params))


def pricing_notes(total: dict[str, Any]) -> list[str]:
    notes = []
    if total.get("calls_on_default_prices"):
        notes.append(
            f"{human('cost_usd', total['cost_on_default_prices_usd'])} of the cost rests on default prices "
            f"($3 / $15 per million tokens) for {total['calls_on_default_prices']:,} calls to "
            "models neither the catalog nor pricing/overrides.toml prices "
            "(see `llmstats report --by model,priced_by`)."
        )
    if total.get("calls_on_zero_prices"):
        notes.append(
            f"{total['calls_on_zero_prices']:,} calls ({total['tokens_on_zero_prices']:,} tokens) "
            "rest on a catalog price of $0; if those models are not free, add an override."
        )
    if total.get("requests_exact") is False:
        notes.append("requests is approximate (HyperLogLog, about ±1 %) on datasets over "
                     f"{EXACT_REQUESTS_UP_TO:,} events.")
    return notes


def usage_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """The overview: totals for the window, rows by `--by` (default: top models by cost)."""
    grouped = _group(query, ("model",))
    exact = _requests_exact(con)
    rows, total = grouped_with_totals(con, grouped, "event_costs", usage_aggregates(exact),
                                      "cost_usd DESC, calls DESC", totals_extra=PRICING_AGGREGATES)
    total["requests_exact"] = exact
    title = "Usage by " + ", ".join(grouped.by)
    return Report(title, rows, total, pricing_notes(total))


def savings_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """What prompt caching, LiteLLM's response cache and batch discounts saved."""
    grouped = _group(query, ("model",))
    aggregates = """
        count(*) AS calls,
        CAST(COALESCE(sum(cache_read_tokens), 0) AS BIGINT) AS cached_tokens,
        CAST(COALESCE(sum(cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens,
        COALESCE(sum(prompt_cache_savings_usd), 0) AS prompt_cache_savings_usd,
        count(*) FILTER (WHERE proxy_cache_hit) AS proxy_cache_hits,
        COALESCE(sum(proxy_cache_savings_usd), 0) AS proxy_cache_savings_usd,
        count(*) FILTER (WHERE batch) AS batch_calls,
        COALESCE(sum(batch_savings_usd), 0) AS batch_savings_usd,
        COALESCE(sum(savings_usd), 0) AS savings_usd,
        COALESCE(sum(cost_usd), 0) AS cost_usd,
        COALESCE(sum(savings_usd) / NULLIF(sum(cost_usd) + sum(savings_usd), 0), 0) AS savings_rate
    """
    rows, total = grouped_with_totals(con, grouped, "event_costs", aggregates,
                                      "savings_usd DESC")
    return Report("Savings by " + ", ".join(grouped.by), rows, total)


def errors_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """Failed attempts: how many, how often, and how (class, provider code, HTTP status)."""
    grouped = _group(query, ("provider", "model", "error"), cost_columns=False)
    aggregates = """
        count(*) FILTER (WHERE status = 'failure') AS failures,
        count(*) AS calls,
        COALESCE(count(*) FILTER (WHERE status = 'failure') / NULLIF(count(*), 0), 0) AS error_rate,
        mode(http_status) FILTER (WHERE status = 'failure') AS http_status,
        mode(error_code) FILTER (WHERE status = 'failure') AS error_code,
        CAST(COALESCE(sum(retries), 0) AS BIGINT) AS retries,
        CAST(COALESCE(sum(fallbacks), 0) AS BIGINT) AS fallbacks
    """
    rows, total = grouped_with_totals(con, grouped, "events", aggregates, "failures DESC",
                                      having="HAVING failures > 0", cost_columns=False)
    for key in ("http_status", "error_code"):
        total.pop(key, None)
    return Report("Errors by " + ", ".join(grouped.by), rows, total)


def latency_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """Successful calls: end-to-end latency, time to first token, output speed."""
    grouped = _group(query, ("provider", "model"), cost_columns=False)
    select, group = _select_groups(grouped, cost_columns=False)
    source, params = grouped.source("latency", cost_columns=False)
    exact = _requests_exact(con)
    aggregates = f"""
        count(*) AS calls,
        {_quantile("latency_ms", 0.5, exact)} AS p50_latency_ms,
        {_quantile("latency_ms", 0.95, exact)} AS p95_latency_ms,
        {_quantile("latency_ms", 0.99, exact)} AS p99_latency_ms,
        {_quantile("ttft_ms", 0.5, exact)} AS p50_ttft_ms,
        {_quantile("ttft_ms", 0.95, exact)} AS p95_ttft_ms,
        {_quantile("output_tokens_per_second", 0.5, exact)} AS median_output_tokens_per_second
    """
    rows = run(con, f"""
        SELECT {select}, {aggregates} FROM {source}
        GROUP BY {group} ORDER BY calls DESC, {group} {_limit(grouped)}
    """, params)
    return Report("Latency by " + ", ".join(grouped.by), rows, {})


def context_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """How full the context window was, per call, in bands (see sql/08_context_usage.sql)."""
    grouped = _group(query, ("model",), cost_columns=False)
    select, group = _select_groups(grouped, cost_columns=False)
    source, params = grouped.source("context_usage", cost_columns=False)
    rows = run(con, f"""
        SELECT {select},
            count(*) AS calls,
            count(*) FILTER (WHERE band = 'OK') AS ok,
            count(*) FILTER (WHERE band = 'LOW') AS low,
            count(*) FILTER (WHERE band = 'MEDIUM') AS medium,
            count(*) FILTER (WHERE band = 'HIGH') AS high,
            count(*) FILTER (WHERE band = 'CRITICAL') AS critical,
            count(*) FILTER (WHERE band = 'UNKNOWN') AS unknown,
            {_quantile("usage_pct", 0.95, _requests_exact(con))} AS p95_usage_pct,
            max(usage_pct) AS max_usage_pct,
            max(context_window) AS context_window
        FROM {source}
        GROUP BY {group} ORDER BY critical DESC, high DESC, calls DESC, {group} {_limit(grouped)}
    """, params)
    return Report("Context-window use by " + ", ".join(grouped.by), rows, {},
                  ["Bands: OK < 50 %, LOW 50–70 %, MEDIUM 70–85 %, HIGH 85–95 %, "
                   "CRITICAL ≥ 95 % of the model's input window."])


RECONCILE_REASON = """
    CASE
        WHEN reported_cost_usd IS NULL THEN 'not_reported'
        WHEN priced_by = 'default' AND reported_cost_usd = 0 THEN 'litellm_priced_zero'
        WHEN priced_by = 'default' THEN 'default_price'
        WHEN priced_by = 'override' THEN 'override'
        WHEN priced_by = 'catalog_zero' THEN 'catalog_zero'
        WHEN proxy_cache_hit THEN 'proxy_cache_hit'
        WHEN batch THEN 'batch'
        WHEN service_tier IS NOT NULL AND service_tier NOT IN ('default', 'standard', 'auto')
            THEN 'service_tier'
        WHEN call_type NOT IN ('chat', 'responses', 'embedding') THEN 'non_token_pricing'
        WHEN long_context THEN 'long_context_tier'
        ELSE 'other'
    END
"""


def reconcile_report(con: duckdb.DuckDBPyConnection, query: Query) -> Report:
    """Events where our cost and LiteLLM's response_cost differ by more than 0.5 %,
    grouped by model and the likeliest reason (docs/pricing.md explains each)."""
    if query.by:
        raise UsageError("reconcile groups by model and reason; drop --by")
    source, params = query.source("event_costs")
    mismatch = (f"reported_cost_usd IS NULL OR abs(cost_usd - reported_cost_usd) > "
                f"{RECONCILE_TOLERANCE} * abs(reported_cost_usd) + 1e-9")
    rows = run(con, f"""
        SELECT provider, model, {RECONCILE_REASON} AS reason,
            count(*) AS events,
            sum(cost_usd) AS cost_usd,
            sum(reported_cost_usd) AS reported_cost_usd,
            sum(cost_usd) - COALESCE(sum(reported_cost_usd), 0) AS difference_usd,
            min(event_id) AS example_event_id
        FROM {source}
        WHERE {mismatch}
        GROUP BY ALL
        ORDER BY abs(difference_usd) DESC, events DESC, provider, model {_limit(query)}
    """, params)
    total = _one(run(con, f"""
        SELECT count(*) AS events,
            count(*) FILTER (WHERE {mismatch}) AS mismatched,
            COALESCE(1 - count(*) FILTER (WHERE {mismatch}) / NULLIF(count(*), 0), 1)
                AS share_within_tolerance,
            count(*) FILTER (WHERE priced_by = 'catalog') AS catalog_events,
            COALESCE(1 - count(*) FILTER (WHERE priced_by = 'catalog' AND {mismatch})
                / NULLIF(count(*) FILTER (WHERE priced_by = 'catalog'), 0), 1)
                AS share_within_tolerance_catalog
        FROM {source}
    """, params))
    return Report("Cost reconciliation (|ours − LiteLLM's| > 0.5 %)", rows, total)


def trace_report(con: duckdb.DuckDBPyConnection, trace_id: str) -> Report:
    """One client request with all its attempts (by trace_id, or an event_id / call_id)."""
    rows = run(con, """
        SELECT ts, event_id, status, provider, model, call_type, stream, latency_ms, ttft_ms,
            input_tokens, output_tokens, cache_read_tokens, cost_usd, reported_cost_usd,
            priced_by, error_class, error_code, http_status, retries, fallbacks
        FROM event_costs
        WHERE trace_id = $id OR event_id = $id OR call_id = $id
            OR trace_id IN (SELECT trace_id FROM events WHERE event_id = $id OR call_id = $id)
        ORDER BY ts, event_id
    """, {"id": trace_id})
    if rows.num_rows == 0:
        raise LlmstatsError(f"no events for trace {trace_id!r}")
    total = _one(run(con, """
        SELECT * EXCLUDE (models, started_at, ended_at, date) FROM requests
        WHERE trace_id = (SELECT COALESCE(trace_id, event_id) FROM events
                          WHERE trace_id = $id OR event_id = $id OR call_id = $id LIMIT 1)
    """, {"id": trace_id}))
    return Report(f"Trace {trace_id}", rows, total)
