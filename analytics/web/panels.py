"""What each dashboard page shows, as plain JSON-ready dicts: reports from the library
`llmstats report` runs (so every number is the CLI's), the charts html/charts.py draws for
`--format html`, and for each chart point the filters a click on it adds (drill-down).

Charts carry escaped text only (charts.py); drill values are the raw values, which the
page puts into the URL and filter chips as text, never as markup."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..html import charts
from ..query import Query
from ..report.format import plain

if TYPE_CHECKING:
    from ..connection import Dataset
    from ..html.charts import Chart
    from ..report.reports import Report

SPENDERS = ("team", "key", "user", "end_user", "tag", "model", "provider")
TOP = 10
TOP_MODELS = 12
Drill = list[list[list[tuple[str, Any]]]]
"""Per trace, per point: the (dimension, value) filters a click adds."""


BUCKETS = ("hour", "day", "week", "month")


def bucket_for(query: Query, asked: str | None) -> str:
    """The trends' time bucket: as asked, else hours for a window of up to three days,
    weeks beyond half a year, days otherwise (and for all time)."""
    import datetime as dt

    from ..errors import UsageError

    if asked:
        if asked not in BUCKETS:
            raise UsageError(f"bucket {asked!r}? choose from {', '.join(BUCKETS)}")
        return asked
    if query.since is None:
        return "day"
    span = (query.until or dt.datetime.now(dt.UTC)) - query.since
    if span <= dt.timedelta(days=3):
        return "hour"
    return "week" if span > dt.timedelta(days=183) else "day"


def regroup(query: Query, by: tuple[str, ...], top: int | None = None) -> Query:
    return dataclasses.replace(query, by=by, top=top)


def report_json(report: Report) -> dict[str, Any]:
    """A report as `llmstats report --format json` writes it (rows, totals, notes)."""
    return {"title": report.title, "totals": plain(report.totals),
            "rows": [plain(r) for r in report.rows.to_pylist()], "notes": list(report.notes)}


def table(table_id: str, title: str, report: Report, note: str = "") -> dict[str, Any]:
    document = report_json(report)
    columns = list(report.rows.column_names)
    return {"id": table_id, "title": title, "columns": columns, "rows": document["rows"],
            "notes": [note] if note else document["notes"]}


def chart_json(chart: Chart | None, drill: Drill | None = None) -> dict[str, Any] | None:
    if chart is None:
        return None
    return {"id": chart.chart_id, "title": chart.title, "description": chart.description,
            "figure": plain(chart.figure), "drill": [[[list(f) for f in point] for point in trace]
                                                     for trace in (drill or [])]}


def by_x(chart: Chart | None, dimension: str) -> Drill:
    """Each point filters on its x value (the day of a per-day chart)."""
    if chart is None:
        return []
    return [[[(dimension, x)] for x in trace.get("x", [])] for trace in chart.figure["data"]]


def by_rows(rows: list[dict[str, Any]], names: tuple[str, ...], traces: int) -> Drill:
    """Each point filters on its row's `names` (rows in the chart's order); a NULL value
    cannot be a filter, so it is left out."""
    point = [[(n, plain(r[n])) for n in names if r.get(n) is not None] for r in rows]
    return [point for _ in range(traces)]


def _spenders(dimension: str, report: Report) -> dict[str, Any] | None:
    chart = charts.spenders(dimension, report)
    if chart is None:
        return None
    rows = [r for r in report.rows.to_pylist() if r["cost_usd"]]
    rows.reverse()  # as charts.spenders draws them
    return chart_json(chart, by_rows(rows, (dimension,), 1))


def _per_model(chart: Chart | None, report: Report, keep: Callable[[dict[str, Any]], bool],
               names: tuple[str, ...]) -> dict[str, Any] | None:
    if chart is None:
        return None
    rows = [r for r in report.rows.to_pylist() if keep(r)]
    rows.reverse()
    return chart_json(chart, by_rows(rows, names, len(chart.figure["data"])))


UNPRICED = ("default", "catalog_zero")


def _unpriced(dataset: Dataset, query: Query, usage: Report) -> dict[str, Any]:
    """The models on default or $0 prices: `report --by priced_by,model`'s rows of those
    two labels, without quantiles. Asked only when the totals say there are any, and then
    only of them: quantiles by priced_by read every event's latency in the priced copy,
    0.5 s at 10 M events, for a table about prices."""
    from ..report.reports import usage_report

    columns, rows = ["priced_by", "model"], []
    if usage.totals["calls_on_default_prices"] or usage.totals["calls_on_zero_prices"]:
        if not any(key == "priced_by" for key, _ in query.where):
            # Repeating a key means any of its values: rows of these labels only.
            query = dataclasses.replace(
                query, where=(*query.where, *(("priced_by", label) for label in UNPRICED)))
        pricing = usage_report(dataset.con, regroup(query, ("priced_by", "model")),
                               quantiles=False)
        columns = list(pricing.rows.column_names)
        rows = [plain(r) for r in pricing.rows.to_pylist() if r["priced_by"] in UNPRICED]
    return {"id": "unpriced", "title": "Models on default or $0 prices", "columns": columns,
            "rows": rows,
            "notes": [] if rows else ["Every call was priced by the catalog or an override."]}


def overview(dataset: Dataset, query: Query, what_if: str | None = None,
             spenders: str = "team", bucket: str | None = None) -> dict[str, Any]:
    """Cards, trends, the top spenders by one of SPENDERS (the page's tabs: one report a
    view rather than seven), savings by model, unpriced models and the what-if table."""
    from ..errors import UsageError
    from ..report.reports import savings_reports, usage_report
    from ..report.what_if import what_if_report

    if spenders not in SPENDERS:
        raise UsageError(f"top spenders by {spenders!r}? choose from {', '.join(SPENDERS)}")
    period = bucket_for(query, bucket)

    con = dataset.con
    # No quantiles: nothing on this page shows one. The cards' totals are those of the
    # grouped reports (a totals row adds up all groups, not only the top ones shown).
    usage = usage_report(con, regroup(query, (spenders,), TOP), quantiles=False)
    # The trends and the savings table from one query by period and model.
    by_period, by_period_model, by_model = savings_reports(
        con, query, [((period,), None), ((period, "model"), None), (("model",), TOP_MODELS)])
    cost_trend = charts.cost_trend(by_period_model, period)
    savings_trend = charts.savings_trend(by_period, period)
    found = [
        chart_json(cost_trend, by_x(cost_trend, period)),
        chart_json(savings_trend, by_x(savings_trend, period)),
        _spenders(spenders, usage),
    ]
    tables = [table("savings-by-model", "Savings by model", by_model),
              _unpriced(dataset, query, usage)]
    if what_if:
        tables.append(table("what-if", f"Repriced on {what_if}", what_if_report(con, query, what_if)))
    return {"totals": plain(usage.totals), "savings": plain(by_period.totals),
            "notes": usage.notes, "charts": [c for c in found if c], "tables": tables,
            "spenders": {"by": spenders, "choices": list(SPENDERS)},
            "bucket": {"by": period, "asked": bucket, "choices": list(BUCKETS)}}


LATENCY_BY = ("model", "provider", "deployment")


def engineering(dataset: Dataset, query: Query, bucket: str | None = None,
                latency_by: str = "model", metric: str = "p95_latency_ms") -> dict[str, Any]:
    """Cards, trends, latency over time by one of LATENCY_BY in one of the latency
    report's quantiles (the page's two pickers), errors, latency and context tables."""
    from ..errors import UsageError
    from ..report.reports import (
        context_report,
        errors_reports,
        latency_reports,
        usage_report,
    )

    if latency_by not in LATENCY_BY:
        raise UsageError(f"latency by {latency_by!r}? choose from {', '.join(LATENCY_BY)}")
    if metric not in charts.LATENCY_METRICS:
        raise UsageError(f"latency metric {metric!r}? choose from "
                         f"{', '.join(charts.LATENCY_METRICS)}")
    con = dataset.con
    period = bucket_for(query, bucket)
    by_day = usage_report(con, regroup(query, (period,)))
    # Both errors tables from one pass over the calls.
    errors_by_day, errors = errors_reports(
        con, query, [((period, "error"), None), (("provider", "model", "error"), 20)])
    # The same reports as `llmstats report latency --by …`; from one pass over the
    # priced copy where each would read it (the page drilled into a team, key or user).
    latency, over_time, by_deployment = latency_reports(con, query, [
        (("provider", "model"), TOP_MODELS), ((period, latency_by), None),
        (("deployment",), TOP_MODELS)])
    context = context_report(con, regroup(query, ("model",), TOP_MODELS))
    traffic = charts.traffic(by_day, period)
    errors_chart = charts.errors_by_class(errors_by_day, period)
    latency_trend = charts.latency_trend(by_day, period)
    trend = charts.latency_over_time(over_time, latency_by, metric, period)
    found = [
        chart_json(traffic, by_x(traffic, period)),
        chart_json(errors_chart, by_x(errors_chart, period)),
        chart_json(latency_trend, by_x(latency_trend, period)),
        chart_json(trend, [[[(period, x)] + ([(latency_by, value)] if value is not None else [])
                            for x in line["x"]]
                           for line, value in zip(trend.figure["data"],
                                                  charts.busiest(over_time, latency_by, metric),
                                                  strict=True)]
                   if trend else None),
        _per_model(charts.latency(latency), latency,
                   lambda r: r["p50_latency_ms"] is not None, ("provider", "model")),
        _per_model(charts.ttft(latency), latency,
                   lambda r: r["p50_ttft_ms"] is not None, ("provider", "model")),
        _per_model(charts.context(context), context, lambda r: bool(r["calls"]), ("model",)),
    ]
    tables = [
        table("errors", "Errors by provider, model and class", errors),
        table("latency", "Latency by provider and model", latency),
        table("latency-deployment", "Latency by deployment", by_deployment),
        table("context", "Context-window use by model", context),
    ]
    return {"totals": plain(by_day.totals), "errors": plain(errors.totals),
            "charts": [c for c in found if c], "tables": tables,
            "bucket": {"by": period, "asked": bucket, "choices": list(BUCKETS)},
            "latency": {"by": latency_by, "choices": list(LATENCY_BY), "metric": metric,
                        "metrics": [[c, n] for c, n in charts.LATENCY_METRICS.items()]}}


def segments(dataset: Dataset, query: Query) -> dict[str, Any]:
    from ..report.reports import segments_report

    report = segments_report(dataset.con, regroup(query, ()))
    chart = charts.segments(report)
    # One report: segments are the costliest view (a row per prompt segment); a model,
    # team or any other split is a filter away (drill-down or the filter bar).
    return {"charts": [c for c in [chart_json(chart)] if c],
            "tables": [table("segments", "Input tokens by role and kind", report)]}


def health(dataset: Dataset, query: Query) -> dict[str, Any]:
    from ..report.reports import usage_report
    from ..report.status import (
        dataset_status,
        fallback_heartbeats,
        maintenance_notes,
        writer_health,
        writer_notes,
    )
    from .engine_limits import engine_settings

    summary = dataset_status(dataset)
    writers = writer_health(dataset.data_dir, fallbacks=fallback_heartbeats(dataset.data_dir))
    # How each call was priced: no latency (by priced_by it reads every event's).
    pricing = usage_report(dataset.con, regroup(query, ("priced_by",)), quantiles=False)
    return {
        "status": plain(summary),
        # What DuckDB reports in effect on the connection that answers every page.
        "engine": engine_settings(dataset.con),
        "notes": writer_notes(writers) + maintenance_notes(summary),
        "tables": [
            {"id": "writers", "title": "Writers (heartbeats)",
             "columns": sorted({k for w in writers for k in w}, key=_writer_order),
             "rows": [plain(w) for w in writers], "notes": writer_notes(writers)},
            table("pricing-coverage", "Pricing coverage (how each call was priced)", pricing),
        ],
    }


_WRITER_COLUMNS = ("writer_id", "host", "pid", "health", "last_seen_s_ago", "written",
                   "recovered", "dropped", "lost", "held", "last_error")


def _writer_order(column: str) -> tuple[int, str]:
    return (_WRITER_COLUMNS.index(column) if column in _WRITER_COLUMNS else 99, column)


def audit(data_dir: str) -> dict[str, Any]:
    from llmstats.plugin.audit import read_entries, verify_chain

    problems, count, head = verify_chain(data_dir)
    rows = [{"line": line, "seq": e.get("seq"), "ts": e.get("ts"), "action": e.get("action"),
             "actor": e.get("actor"), "parameters": e.get("parameters"), "result": e.get("result")}
            for line, e, _ in read_entries(data_dir) if e is not None]
    return {
        "verified": not problems, "entries": count, "head": head,
        "problems": [{"line": p.line, "seq": p.seq, "problem": p.problem} for p in problems],
        "tables": [{"id": "audit", "title": "Audit log", "columns":
                    ["line", "seq", "ts", "action", "actor", "parameters", "result"],
                    "rows": [plain(r) for r in reversed(rows)],
                    "notes": [] if rows else ["The audit log is empty."]}],
    }
