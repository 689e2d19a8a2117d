"""The dashboard page: FinOps, engineering and recent-requests views of one `Dashboard`.

Layout only: the figures come from charts.py, the building blocks (cards, tables,
the document shell) from html/page.py, and every number from the reports in report/dashboard.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..report.format import human
from . import charts
from .page import cards, chart_block, document, esc, generated_line, notes_list, table

if TYPE_CHECKING:
    from ..report.dashboard import Dashboard
    from .charts import Chart

VIEWS = (("finops", "FinOps"), ("engineering", "Engineering"), ("requests", "Recent requests"))


def _ratio(part: Any, whole: Any) -> float | None:
    return part / whole if part is not None and whole else None


def compact(column: str, value: Any) -> str:
    """Big counts in cards as 119.2 M / 11.3 k: a card is narrow; tables keep every digit."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000_000:
        return f"{value / 1e6:,.1f} M"
    return human(column, value)


def finops_cards(totals: dict[str, Any]) -> str:
    cost, saved = totals.get("cost_usd") or 0.0, totals.get("savings_usd") or 0.0
    items = [
        ("Cost", human("cost_usd", cost), "at your prices and overrides"),
        ("Saved", human("savings_usd", saved),
         f"{human('savings_rate', _ratio(saved, cost + saved))} of list price"),
        ("Requests", compact("requests", totals.get("requests")),
         f"{human('calls', totals.get('calls'))} call attempts"),
        ("Input tokens", compact("input_tokens", totals.get("input_tokens")),
         f"{human('share', _ratio(totals.get('cached_tokens'), totals.get('input_tokens')))} from prompt cache"),
        ("Output tokens", compact("output_tokens", totals.get("output_tokens")), ""),
        ("LiteLLM's cost", human("reported_cost_usd", totals.get("reported_cost_usd")),
         "response_cost as reported at capture"),
    ]  # fmt: skip
    if totals.get("calls_on_default_prices"):
        items.append((
            "On default prices", human("cost_usd", totals.get("cost_on_default_prices_usd")),
            f"{human('calls', totals['calls_on_default_prices'])} calls to unpriced models",
        ))  # fmt: skip
    return cards(items)


def engineering_cards(totals: dict[str, Any], errors: dict[str, Any]) -> str:
    return cards([
        ("Error rate", human("error_rate", totals.get("error_rate")),
         f"{human('failures', errors.get('failures'))} failed attempts"),
        ("Retries", human("retries", errors.get("retries")), "as LiteLLM reported them"),
        ("Fallbacks", human("fallbacks", errors.get("fallbacks")), "to another model"),
        ("p50 latency", human("p50_latency_ms", totals.get("p50_latency_ms")) + " ms", "successful calls"),
        ("p95 latency", human("p95_latency_ms", totals.get("p95_latency_ms")) + " ms", "successful calls"),
        ("p50 TTFT", human("p50_ttft_ms", totals.get("p50_ttft_ms")) + " ms", "time to first token, streams"),
        ("p95 TTFT", human("p95_ttft_ms", totals.get("p95_ttft_ms")) + " ms", "time to first token, streams"),
    ])  # fmt: skip


def _grid(charts: Sequence[Chart]) -> str:
    if not charts:
        return '<p class="empty">No data in this window.</p>'
    return '<div class="grid">' + "".join(chart_block(c) for c in charts) + "</div>"


def _rows(report: Any) -> tuple[list[str], list[dict[str, Any]]]:
    return list(report.rows.column_names), report.rows.to_pylist()


def _meta(dashboard: Dashboard, totals: dict[str, Any]) -> list[str]:
    query = dashboard.query
    meta = [query.describe_window()]
    if query.tz != "UTC" or query.since or query.until:
        meta.append(f"time zone {query.tz}")
    meta += [f"{key} = {value}" for key, value in query.where]
    meta.append(f"{human('calls', totals.get('calls') or 0)} calls")
    meta.append(generated_line(dashboard.generated_at))
    return meta


def dashboard_document(
    dashboard: Dashboard,
    columns: Sequence[str],
    records: list[dict[str, Any]],
    title: str | None,
    totals: dict[str, Any],
    notes: Sequence[str],
) -> str:
    finops = charts.finops_charts(dashboard)
    engineering = charts.engineering_charts(dashboard)
    errors = dashboard.errors
    recent_columns, recent_records = _rows(dashboard.recent)
    nav = (
        '<nav class="views" aria-label="Views"><ul>'
        + "".join(f'<li><a href="#{key}">{esc(name)}</a></li>' for key, name in VIEWS)
        + "</ul></nav>"
    )
    body = (
        nav
        + "<main>"
        + notes_list(notes)
        + '<section class="view" id="finops"><h2>FinOps</h2>'
        + finops_cards(totals)
        + _grid(finops)
        + table(columns, records, table_id="overview", title=title, search="Filter rows…")
        + "</section>"
        + '<section class="view" id="engineering"><h2>Engineering</h2>'
        + engineering_cards(totals, errors.totals)
        + _grid(engineering)
        + table(*_rows(errors), table_id="errors", title="Where calls fail")
        + table(*_rows(dashboard.latency), table_id="latency", title=dashboard.latency.title)
        + "</section>"
        + '<section class="view" id="requests"><h2>Recent requests</h2>'
        + notes_list(dashboard.recent.notes)
        + table(
            recent_columns,
            recent_records,
            table_id="recent",
            title=dashboard.recent.title,
            search="Search: model, team, key, user, tag, status, trace id… (all words must match)",
            scroll=True,
        )
        + "</section></main>"
    )
    return document("llmstats report", _meta(dashboard, totals), body, [*finops, *engineering])
