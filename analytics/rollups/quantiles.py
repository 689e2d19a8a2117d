"""Quantiles (p50, p95, p99) from sketch counts, for any grouping.

Every latency, TTFT and output-speed quantile in the reports comes from counts per
log-spaced bucket (`sketch_bucket` in sql/00_measures.sql; relative bucket width 2α with
α = 1 %). Counts per bucket add up, so rollup sketches (per day and cube group) and
counts taken from events merge exactly, in any grouping. The quantile is read the way
DuckDB's exact `quantile_cont` interpolates: with n values sorted, the rank is
r = q·(n − 1), and the result is v(⌊r⌋) + (r − ⌊r⌋)·(v(⌈r⌉) − v(⌊r⌋)), with each order
statistic v replaced by the value its bucket stands for. That value is within α of the
order statistic itself, so the result is within α = 1 % of the exact quantile (for
positive values; latencies, TTFTs and speeds are).
"""

from __future__ import annotations

RELATIVE_ERROR = 0.01
"""α: the bound on |sketch quantile − exact quantile| / exact quantile."""


def quantile_sql(cells: str, names: list[str], measures: dict[str, tuple[float, ...]]) -> str:
    """SQL over `cells` (a FROM-able relation with columns `names`, `bucket` and
    `n_<measure>` counts, any number of rows per bucket) giving one row per group:
    the `names`, `n_<measure>` (how many values) and `<measure>_<i>` for the i-th
    quantile asked for that measure (NULL when the group has no value)."""
    keys = ", ".join(names)
    by = f"PARTITION BY {keys}" if names else ""
    group = f"GROUP BY {keys}" if names else ""
    head = f"{keys}, " if names else ""
    # BIGINT: a sum of integers is a HUGEINT, whose windows and comparisons are slow.
    sums = ", ".join(f"CAST(sum(n_{m}) AS BIGINT) AS n_{m}" for m in measures)
    windows = ", ".join(
        f"CAST(sum(n_{m}) OVER upto AS BIGINT) AS c_{m}, CAST(sum(n_{m}) OVER whole AS BIGINT) AS t_{m}"
        for m in measures
    )
    crossings: list[str] = []
    picks: list[str] = []
    values: list[str] = []
    for m, qs in measures.items():
        picks.append(f"max(t_{m}) AS t_{m}")
        values.append(f"CAST(t_{m} AS BIGINT) AS n_{m}")
        for i, q in enumerate(qs):
            # DOUBLE, not DECIMAL arithmetic (a literal like 0.95 is a DECIMAL).
            rank = f"(CAST({float(q)!r} AS DOUBLE) * (t_{m} - 1))"
            for side, rounding in (("lo", "floor"), ("hi", "ceil")):
                at = f"{rounding}{rank}"
                # The row holding the order statistic of rank `at` (0-based).
                crossings.append(f"(c_{m} > {at} AND c_{m} - n_{m} <= {at})")
                picks.append(f"min(bucket) FILTER (WHERE c_{m} > {at}) AS {side}_{m}_{i}")
            values.append(
                f"CASE WHEN t_{m} > 0 THEN sketch_value(lo_{m}_{i}) + ({rank} - floor{rank}) "
                f"* (sketch_value(hi_{m}_{i}) - sketch_value(lo_{m}_{i})) END AS {m}_{i}"
            )
    return f"""
    WITH merged_ AS (
        SELECT {head}bucket, {sums} FROM {cells} {group}{", " if names else "GROUP BY "}bucket
    ),
    running_ AS (
        SELECT *, {windows} FROM merged_
        WINDOW upto AS ({by} ORDER BY bucket ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
               whole AS ({by})
    ),
    picked_ AS (
        SELECT {head}{", ".join(picks)} FROM running_
        WHERE {" OR ".join(crossings)} {group}
    )
    SELECT {head}{", ".join(values)} FROM picked_
    """
