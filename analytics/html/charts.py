"""Plotly figures for the HTML dashboard, one function per chart, each from a `Report`.

Every string that reaches a figure (model names, tags, team and key aliases are chosen by
users) is HTML-escaped here: plotly.js renders a subset of HTML in labels, legends and
hover text (`<a href>`, `<b>`, …) into SVG text nodes and decodes `&lt;`, `&gt;` and
`&amp;` (not `&quot;`, so quotes stay as they are: without `<` they cannot form a tag),
so escaped text shows literally and cannot become markup. Hover values are formatted by `report.format.human`, the same as the
table and markdown formats, so a hover label reads exactly like the report.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..report.format import human

if TYPE_CHECKING:
    from ..report.dashboard import Dashboard
    from ..report.reports import Report

# Tableau 10: distinguishable in light and dark mode and for most colour-vision deficiencies.
COLORWAY = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
]  # fmt: skip
STACKED_MODELS = 8
LABEL_CHARS = 30
# A bar on a date axis is as wide as the smallest gap between its x values; with a single
# day there is no gap and plotly draws it 0 px wide (no bar, nothing to hover). Every
# time-bucketed bar is therefore given its bucket's width (in ms on a date axis), less a gap.
DAY_MS = 86_400_000
DAY_BAR_WIDTH = 0.8 * DAY_MS
# The trends take any time bucket (the live dashboard picks hours for a day or two, weeks
# for long windows); a month bar is drawn 28 days wide, less the gap.
PERIOD_MS = {"hour": 3_600_000, "day": DAY_MS, "week": 7 * DAY_MS, "month": 28 * DAY_MS}


def bar_width(period: str) -> float:
    return 0.8 * PERIOD_MS[period]


def when(value: Any) -> str:
    """A bucket's x value: a date as ISO text, an hour as the report has it (text)."""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


@dataclass
class Chart:
    """One figure and the words around it. `figure` is plotly's JSON (escaped strings)."""

    chart_id: str
    title: str
    description: str
    figure: dict[str, Any]


def text(value: Any) -> str:
    """A user-controlled value as safe plotly text."""
    return html.escape("(none)" if value is None else str(value), quote=False)


def labels(values: Sequence[Any]) -> list[str]:
    """Category labels: escaped, long ones shortened, never two alike (plotly would merge
    two bars that share a category)."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        raw = "(none)" if value is None else str(value)
        short = raw if len(raw) <= LABEL_CHARS else raw[: LABEL_CHARS - 1] + "…"
        candidate, n = short, 2
        while candidate in seen:
            candidate, n = f"{short} #{n}", n + 1
        seen.add(candidate)
        out.append(html.escape(candidate, quote=False))
    return out


def _rows(report: Report) -> list[dict[str, Any]]:
    return report.rows.to_pylist()


def _by_day(report: Report, period: str = "day") -> list[dict[str, Any]]:
    """Rows of a report grouped by a time bucket, in time order (reports order by cost)."""
    return sorted(_rows(report), key=lambda r: when(r[period]))


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "colorway": COLORWAY,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "height": 340,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        "hoverlabel": {"namelength": -1},
        "xaxis": {"automargin": True},
        "yaxis": {"automargin": True},
    }
    layout.update(extra)
    return layout


def _date_axis(days: Sequence[str], period: str = "day") -> dict[str, Any]:
    """A time axis. With a week or less of buckets plotly would zoom into milliseconds: tick
    each day and pad half a day either side (half a bucket, for other buckets)."""
    axis: dict[str, Any] = {"automargin": True, "type": "date"}
    if period != "day":
        if 0 < len(set(days)) <= 7:
            half = dt.timedelta(milliseconds=PERIOD_MS[period] / 2)
            start, end = (dt.datetime.fromisoformat(v) for v in (min(days), max(days)))
            axis.update(range=[(start - half).isoformat(" "), (end + half).isoformat(" ")])
        return axis
    if 0 < len(set(days)) <= 7:
        first, last = dt.date.fromisoformat(min(days)), dt.date.fromisoformat(max(days))
        axis.update(dtick=DAY_MS, tickformat="%b %d",
                    range=[f"{first - dt.timedelta(days=1)} 12:00", f"{last} 12:00"])
    return axis


def _line_mode(days: Sequence[str]) -> str:
    return "lines+markers" if len(days) <= 7 else "lines"


@functools.cache
def _template() -> dict[str, Any]:
    """plotly's default template ("plotly"), as graph_objects would put it in a layout."""
    import plotly.io as pio

    template: dict[str, Any] = pio.templates[pio.templates.default].to_plotly_json()
    return template


def _figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    # Plain dicts, with the template graph_objects would add: its validation took ~30 ms
    # a chart (90 ms of the dashboard's 220 ms overview at 10 M events).
    # tests/test_dashboard_html.py puts every figure the pages draw through graph_objects
    # instead, so that a misspelt property still fails in a test, not in a browser.
    return {"data": data, "layout": {**layout, "template": _template()}}


def _hover(columns: Sequence[str], names: Sequence[str] | None = None) -> str:
    """A hover template over customdata: the first entry is the (escaped) full name."""
    names = names or columns
    lines = ["<b>%{customdata[0]}</b>"]
    lines += [f"{text(n)}: %{{customdata[{i + 1}]}}" for i, n in enumerate(names)]
    return "<br>".join(lines) + "<extra></extra>"


def _custom(rows: list[dict[str, Any]], name: Callable[[dict[str, Any]], Any],
            columns: Sequence[str]) -> list[list[str]]:
    return [[text(name(r)), *(text(human(c, r.get(c))) for c in columns)] for r in rows]


def _daily_bars(series: dict[Any, dict[str, Any]], days: Sequence[str], column: str,
                what: str, period: str = "day") -> list[dict[str, Any]]:
    """One bar trace per series (name → {day: value}) over `days`, for stacking."""
    data = []
    for name, by_day in series.items():
        values = [by_day.get(day, 0) for day in days]
        data.append({
            "type": "bar", "name": labels([name])[0], "x": list(days), "y": values,
            "width": bar_width(period),
            "customdata": [[text(name), text(human(column, v))] for v in values],
            "hovertemplate": f"<b>%{{customdata[0]}}</b><br>%{{x}}<br>{what}: %{{customdata[1]}}<extra></extra>",
        })  # fmt: skip
    return data


def cost_trend(report: Report, period: str = "day") -> Chart | None:
    """Cost per day (or `period`), stacked by model: the largest models by cost, the rest
    as 'other'."""
    rows = _rows(report)
    if not rows:
        return None
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["model"]] = totals.get(r["model"], 0.0) + (r["cost_usd"] or 0.0)
    ranked = sorted(totals, key=lambda m: (-totals[m], str(m)))
    kept = ranked[:STACKED_MODELS]
    series: dict[str, dict[str, float]] = {}
    for r in rows:
        model = r["model"] if r["model"] in kept else "other models"
        by_day = series.setdefault(model, {})
        day = when(r[period])
        by_day[day] = by_day.get(day, 0.0) + (r["cost_usd"] or 0.0)
    days = sorted({when(r[period]) for r in rows})
    order = [m for m in kept if m in series] + (["other models"] if "other models" in series else [])
    data = _daily_bars({model: series[model] for model in order}, days, "cost_usd", "cost", period)
    return Chart(
        "cost-trend",
        f"Cost per {period}",
        f"Stacked by model: the {STACKED_MODELS} most expensive models, the rest together.",
        _figure(data, _layout(barmode="stack", height=420,
                              yaxis={"automargin": True, "tickprefix": "$"},
                              xaxis=_date_axis(days, period))),
    )


SAVINGS_SOURCES = (
    ("prompt_cache_savings_usd", "prompt cache (net of write premium)"),
    ("proxy_cache_savings_usd", "LiteLLM response cache"),
    ("batch_savings_usd", "batch discount"),
)


def savings_trend(report: Report, period: str = "day") -> Chart | None:
    rows = _by_day(report, period)
    if not rows or not any(r["savings_usd"] for r in rows):
        return None
    days = [when(r[period]) for r in rows]
    data = []
    for column, name in SAVINGS_SOURCES:
        values = [r[column] or 0.0 for r in rows]
        data.append({
            "type": "bar", "name": text(name), "x": days, "y": values, "width": bar_width(period),
            "customdata": [[text(name), text(human(column, v)), text(human("savings_rate", r["savings_rate"]))]
                           for v, r in zip(values, rows, strict=True)],
            "hovertemplate": "<b>%{customdata[0]}</b><br>%{x}<br>saved: %{customdata[1]}"
                             f"<br>savings rate that {period}: %{{customdata[2]}}<extra></extra>",
        })  # fmt: skip
    return Chart(
        "savings-trend",
        f"Savings per {period}",
        "What caching and batching saved against list prices. A prompt-cache write costs more "
        "than a plain input token, so a day of writes that were never read can be negative.",
        _figure(data, _layout(barmode="relative", yaxis={"automargin": True, "tickprefix": "$"},
                              xaxis=_date_axis(days, period))),
    )


SPENDER_HOVER = ("cost_usd", "requests", "calls", "input_tokens", "output_tokens", "savings_usd")


def spenders(dimension: str, report: Report) -> Chart | None:
    """Horizontal bars: the top groups of `dimension` by cost, largest on top."""
    rows = [r for r in _rows(report) if r["cost_usd"]]
    if not rows:
        return None
    rows.reverse()  # plotly draws the first category at the bottom
    data = [{
        "type": "bar", "orientation": "h", "name": "cost",
        "x": [r["cost_usd"] for r in rows], "y": labels([r[dimension] for r in rows]),
        "customdata": _custom(rows, lambda r: r[dimension], SPENDER_HOVER),
        "hovertemplate": _hover(SPENDER_HOVER, ("cost", "requests", "calls", "input tokens", "output tokens", "saved")),
    }]  # fmt: skip
    return Chart(
        f"spenders-{dimension}",
        f"Top spenders by {dimension}",
        "An event with two tags counts in both." if dimension == "tag" else "",
        _figure(data, _layout(showlegend=False, height=max(220, 34 * len(rows) + 60),
                              xaxis={"automargin": True, "tickprefix": "$"})),
    )


SEGMENT_HOVER = ("input_tokens", "token_share", "cached_share", "input_cost_usd", "calls")


def segments(report: Report) -> Chart | None:
    rows = [r for r in _rows(report) if r["input_tokens"]]
    if not rows:
        return None
    rows.reverse()
    name = lambda r: f"{r['role']} · {r['kind']}"  # noqa: E731
    data = [{
        "type": "bar", "orientation": "h", "name": "input cost",
        "x": [r["input_cost_usd"] for r in rows], "y": labels([name(r) for r in rows]),
        "customdata": _custom(rows, name, SEGMENT_HOVER),
        "hovertemplate": _hover(SEGMENT_HOVER, ("input tokens", "share of input tokens", "served from prompt cache", "input cost", "calls")),
    }]  # fmt: skip
    return Chart(
        "segments",
        "Where input tokens go",
        "Input cost by prompt segment (role · kind). Tool definitions and system prompts sit "
        "at the start of a prompt, where a prompt cache can serve them.",
        _figure(data, _layout(showlegend=False, height=max(220, 34 * len(rows) + 60),
                              xaxis={"automargin": True, "tickprefix": "$"})),
    )


def _model_label(r: dict[str, Any]) -> str:
    return f"{r['provider']}/{r['model']}"


QUANTILE_COLORS = {"p50": COLORWAY[0], "p95": COLORWAY[1], "p99": COLORWAY[2]}


def _quantile_bars(rows: list[dict[str, Any]], quantiles: Sequence[tuple[str, str]],
                   what: str, row_height: int) -> dict[str, Any]:
    """Grouped horizontal bars per provider/model, one bar per (column, quantile name)."""
    rows = list(reversed(rows))  # plotly draws the first category at the bottom
    names = labels([_model_label(r) for r in rows])
    data = []
    # A horizontal group draws its first trace at the bottom: add the highest quantile
    # first, and list the legend reversed so that it reads p50, p95, p99.
    for column, name in reversed(quantiles):
        data.append({
            "type": "bar", "orientation": "h", "name": name, "x": [r[column] for r in rows], "y": names,
            "marker": {"color": QUANTILE_COLORS[name]},
            "customdata": [[text(_model_label(r)), text(human(column, r[column])), text(human("calls", r["calls"]))] for r in rows],
            "hovertemplate": f"<b>%{{customdata[0]}}</b><br>{name} {what}: %{{customdata[1]}} ms<br>calls: %{{customdata[2]}}<extra></extra>",
        })  # fmt: skip
    return _figure(data, _layout(
        barmode="group", height=max(260, row_height * len(rows) + 60),
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "traceorder": "reversed"},
        xaxis={"automargin": True, "ticksuffix": " ms"},
    ))  # fmt: skip


def latency(report: Report) -> Chart | None:
    rows = [r for r in _rows(report) if r["p50_latency_ms"] is not None]
    if not rows:
        return None
    quantiles = (("p50_latency_ms", "p50"), ("p95_latency_ms", "p95"), ("p99_latency_ms", "p99"))
    return Chart(
        "latency",
        "Latency by model",
        "End-to-end latency of successful calls (ms), the busiest models; proxy-cache hits "
        "left out.",
        _quantile_bars(rows, quantiles, "latency", 56),
    )


def ttft(report: Report) -> Chart | None:
    rows = [r for r in _rows(report) if r["p50_ttft_ms"] is not None]
    if not rows:
        return None
    return Chart(
        "ttft",
        "Time to first token",
        "Streaming calls only: how long users wait before the answer starts (ms).",
        _quantile_bars(rows, (("p50_ttft_ms", "p50"), ("p95_ttft_ms", "p95")),
                       "time to first token", 44),
    )


def traffic(report: Report, period: str = "day") -> Chart | None:
    """Calls per day (or `period`) as bars, the error rate as a line on its own axis."""
    rows = _by_day(report, period)
    if not rows:
        return None
    days = [when(r[period]) for r in rows]
    data: list[dict[str, Any]] = [
        {"type": "bar", "name": "calls", "x": days, "y": [r["calls"] for r in rows],
         "width": bar_width(period),
         "customdata": [[text(human("calls", r["calls"]))] for r in rows],
         "hovertemplate": "%{x}<br>calls: %{customdata[0]}<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "error rate", "x": days,
         "y": [r["error_rate"] for r in rows], "yaxis": "y2",
         "customdata": [[text(human("error_rate", r["error_rate"]))] for r in rows],
         "hovertemplate": "%{x}<br>error rate: %{customdata[0]}<extra></extra>"},
    ]
    return Chart(
        "traffic",
        f"Calls and error rate per {period}",
        "Bars: call attempts (retries and fallbacks count once each). Line: the share that "
        "failed (right axis).",
        _figure(data, _layout(
            xaxis=_date_axis(days, period),
            yaxis={"automargin": True, "rangemode": "tozero"},
            yaxis2={"overlaying": "y", "side": "right", "tickformat": ".1%", "rangemode": "tozero",
                    "showgrid": False, "automargin": True},
        )),
    )  # fmt: skip


def latency_trend(report: Report, period: str = "day") -> Chart | None:
    rows = [r for r in _by_day(report, period) if r["p50_latency_ms"] is not None]
    if not rows:
        return None
    days = [when(r[period]) for r in rows]
    data = []
    for column, name in (("p50_latency_ms", "p50 latency"), ("p95_latency_ms", "p95 latency"),
                         ("p50_ttft_ms", "p50 time to first token"), ("p95_ttft_ms", "p95 time to first token")):
        data.append({
            "type": "scatter", "mode": _line_mode(days), "name": name, "x": days, "y": [r[column] for r in rows],
            "customdata": [[text(human(column, r[column]))] for r in rows],
            "hovertemplate": f"%{{x}}<br>{name}: %{{customdata[0]}} ms<extra></extra>",
            **({"line": {"dash": "dot"}} if "ttft" in column else {}),
        })  # fmt: skip
    return Chart(
        "latency-trend",
        f"Latency per {period}",
        "Successful calls, all models together (ms). A step here that the per-model chart "
        "does not explain is usually a change in the traffic mix.",
        _figure(data, _layout(xaxis=_date_axis(days, period),
                              yaxis={"automargin": True, "ticksuffix": " ms", "rangemode": "tozero"})),
    )


LATENCY_METRICS = {
    "p50_latency_ms": "p50 latency", "p95_latency_ms": "p95 latency",
    "p99_latency_ms": "p99 latency", "p50_ttft_ms": "p50 time to first token",
    "p95_ttft_ms": "p95 time to first token",
}  # fmt: skip
"""The quantiles latency_report gives per group (`llmstats report latency` columns)."""


def busiest(report: Report, dimension: str, column: str) -> list[Any]:
    """The values of `dimension` that latency_over_time draws, in its order: those with a
    `column` value, the most calls first, at most STACKED_MODELS."""
    calls: dict[Any, int] = {}
    for r in _rows(report):
        if r.get(column) is not None:
            calls[r[dimension]] = calls.get(r[dimension], 0) + (r["calls"] or 0)
    return sorted(calls, key=lambda v: (-calls[v], str(v)))[:STACKED_MODELS]


def latency_over_time(report: Report, dimension: str = "model", column: str = "p95_latency_ms",
                      period: str = "day") -> Chart | None:
    """One latency quantile per time bucket, one line per value of `dimension` (a
    latency_report by bucket and dimension; the busiest STACKED_MODELS values)."""
    metric = LATENCY_METRICS[column]
    rows = [r for r in _rows(report) if r.get(column) is not None]
    if not rows:
        return None
    kept = busiest(report, dimension, column)
    names = dict(zip(kept, labels(kept), strict=True))
    data = []
    for value in kept:
        points = sorted((r for r in rows if r[dimension] == value), key=lambda r: when(r[period]))
        x = [when(r[period]) for r in points]
        data.append({
            "type": "scatter", "mode": _line_mode(x), "name": names[value], "x": x,
            "y": [r[column] for r in points],
            "customdata": [[text(value), text(human(column, r[column])),
                            text(human("calls", r["calls"]))] for r in points],
            "hovertemplate": f"<b>%{{customdata[0]}}</b><br>%{{x}}<br>{metric}: %{{customdata[1]}} ms"
                             "<br>calls: %{customdata[2]}<extra></extra>",
        })  # fmt: skip
    return Chart(
        "latency-over-time",
        f"{metric} per {period} by {dimension}",
        f"Successful calls of the {STACKED_MODELS} busiest values of {dimension} (ms): which "
        "one slowed down, and when.",
        _figure(data, _layout(xaxis=_date_axis(sorted({when(r[period]) for r in rows}), period),
                              yaxis={"automargin": True, "ticksuffix": " ms", "rangemode": "tozero"})),
    )


def errors_by_class(report: Report, period: str = "day") -> Chart | None:
    rows = _rows(report)
    if not rows:
        return None
    days = sorted({when(r[period]) for r in rows})
    classes = sorted({r["error"] for r in rows}, key=lambda c: str(c))
    series = {
        error: {when(r[period]): r["failures"] for r in rows if r["error"] == error}
        for error in classes
    }
    data = _daily_bars(series, days, "failures", "failures", period)
    return Chart(
        "errors-by-class",
        f"Failures per {period} by error class",
        "Failed attempts by LiteLLM exception class (never the error text, which can quote "
        "the prompt).",
        _figure(data, _layout(barmode="stack", xaxis=_date_axis(days, period))),
    )


CONTEXT_BANDS = (
    ("ok", "OK < 50 %"), ("low", "LOW 50–70 %"), ("medium", "MEDIUM 70–85 %"),
    ("high", "HIGH 85–95 %"), ("critical", "CRITICAL ≥ 95 %"),
    ("exceeded", "EXCEEDED (failed: too long)"), ("unknown", "window unknown"),
)  # fmt: skip
BAND_COLORS = ("#59a14f", "#8cd17d", "#edc948", "#f28e2b", "#e15759", "#9c1d2a", "#bab0ac")


def context(report: Report) -> Chart | None:
    rows = [r for r in _rows(report) if r["calls"]]
    if not rows:
        return None
    rows.reverse()
    names = labels([r["model"] for r in rows])
    data = []
    for (column, name), color in zip(CONTEXT_BANDS, BAND_COLORS, strict=True):
        shares = [r[column] / r["calls"] for r in rows]
        data.append({
            "type": "bar", "orientation": "h", "name": text(name), "x": shares, "y": names,
            "marker": {"color": color},
            "customdata": [[text(r["model"]), text(human(column, r[column])), text(human("share", s))]
                           for r, s in zip(rows, shares, strict=True)],
            "hovertemplate": f"<b>%{{customdata[0]}}</b><br>{text(name)}: %{{customdata[1]}} calls (%{{customdata[2]}})<extra></extra>",
        })  # fmt: skip
    return Chart(
        "context",
        "Context-window use",
        "Share of each model's calls by how full the input window was; HIGH and CRITICAL "
        "conversations will soon fail with context_length_exceeded.",
        _figure(data, _layout(barmode="stack", height=max(260, 34 * len(rows) + 80),
                              xaxis={"automargin": True, "tickformat": ".0%", "range": [0, 1.0001],
                                      "dtick": 0.25})),
    )


def finops_charts(dashboard: Dashboard) -> list[Chart]:
    charts = [cost_trend(dashboard.cost_by_day_model), savings_trend(dashboard.savings_by_day)]
    charts += [spenders(name, report) for name, report in dashboard.spenders.items()]
    charts.append(segments(dashboard.segments))
    return [c for c in charts if c is not None]


def engineering_charts(dashboard: Dashboard) -> list[Chart]:
    charts = [
        traffic(dashboard.by_day),
        errors_by_class(dashboard.errors_by_day),
        latency_trend(dashboard.by_day),
        latency(dashboard.latency),
        ttft(dashboard.latency),
        context(dashboard.context),
    ]
    return [c for c in charts if c is not None]
