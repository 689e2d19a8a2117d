"""`--format html`: one self-contained HTML file (no CDN, no request of any kind).

`html_document()` is what `render()` calls: a report's rows, totals and notes as a page
(cards, notes, a searchable and sortable table), and — with a `Dashboard` — the FinOps,
engineering and recent-requests views around them (html/dashboard.py), with plotly.js
embedded once. The page's own CSS and JS live in `html/assets/`.

Safety: every value that reaches the page is escaped (`html.escape`; user-chosen model
names, tags and aliases included); chart JSON sits in a `<script type="application/json">`
with `<`, `>` and `/` escaped by plotly's encoder; and a Content-Security-Policy allows
only the page's own inline scripts (by hash) and no network at all, so even a string that
escaped escaping could neither run nor call home.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import math
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..report.format import human

if TYPE_CHECKING:
    from .charts import Chart

LONG_COLUMNS = ("trace_id", "event_id", "tags", "example_event_id")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


# plotly.js's basic bundle (bar, scatter and pie traces: all the charts here draw) is a
# quarter of the full bundle the plotly package ships (1.2 MB against 4.8 MB): a browser
# compiles it in a quarter of the time, which is most of a dashboard's first load, and an
# exported page is a quarter of the size. It is vendored unchanged, with its licence.
PLOTLY_JS = "plotly-basic.min.js"


def asset(name: str) -> str:
    return (resources.files("llmstats.analytics.html") / "assets" / name).read_text("utf-8")


def _numeric(records: list[dict[str, Any]], column: str) -> bool:
    return any(
        isinstance(r.get(column), int | float) and not isinstance(r.get(column), bool)
        for r in records
    )


def table(
    columns: Sequence[str],
    records: list[dict[str, Any]],
    *,
    table_id: str,
    title: str | None = None,
    search: str | None = None,
    scroll: bool = False,
) -> str:
    """A table block: optional heading, optional search box (`search` is its placeholder),
    cells formatted like the table format (`report.format.human`), raw numbers in `data-value`
    so sorting is numeric. `scroll` caps its height (the header stays in view)."""
    numeric = {c: _numeric(records, c) for c in columns}
    head = "".join(
        ('<th scope="col" class="num">' if numeric[c] else '<th scope="col">') + f"{esc(c)}</th>"
        for c in columns
    )
    body = []
    for record in records:
        cells = []
        for column in columns:
            value = record.get(column)
            classes = []
            attrs = ""
            if numeric[column]:
                classes.append("num")
                if isinstance(value, int | float) and math.isfinite(value):
                    attrs = f' data-value="{value!r}"'
            if column in LONG_COLUMNS:
                classes.append("long")
                attrs += f' title="{esc(human(column, value))}"'
            if column in ("status", "final_status") and value == "failure":
                classes.append("status-failure")
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{cls}{attrs}>{esc(human(column, value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    tools = ""
    if search is not None:
        tools = (
            f'<div class="table-tools"><input type="search" id="{table_id}-search" '
            f'data-filter aria-controls="{table_id}" aria-label="Filter the table" '
            f'placeholder="{esc(search)}" autocomplete="off">'
            f'<span class="count" id="{table_id}-search-count" aria-live="polite">'
            f"{len(records)} rows</span></div>"
        )
    heading = f"<h3>{esc(title)}</h3>" if title else ""
    if not columns:
        return f'<div class="table-block">{heading}<p class="empty">No rows.</p></div>'
    return (
        f'<div class="table-block">{heading}{tools}'
        f'<div class="table-wrap{" scroll" if scroll else ""}">'
        f'<table class="data" id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div></div>"
    )


def cards(items: Sequence[tuple[str, str, str]]) -> str:
    """(label, value, sub-line) tiles; all three are plain text (escaped here)."""
    tiles = "".join(
        f'<div class="card"><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div>'
        + (f'<div class="sub">{esc(sub)}</div>' if sub else "")
        + "</div>"
        for label, value, sub in items
    )
    return f'<div class="cards">{tiles}</div>'


def totals_cards(totals: dict[str, Any]) -> str:
    return cards([(key.replace("_", " "), human(key, value), "") for key, value in totals.items()])


def notes_list(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"


def chart_block(chart: Chart) -> str:
    description = f"<p>{esc(chart.description)}</p>" if chart.description else ""
    return (
        f'<figure class="chart"><figcaption><h3>{esc(chart.title)}</h3>{description}'
        f'</figcaption><div class="plot" id="chart-{esc(chart.chart_id)}" '
        f'role="img" aria-label="{esc(chart.title)}"></div></figure>'
    )


def _script_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def document(title: str, meta: Sequence[str], body: str, charts: Sequence[Chart] = ()) -> str:
    """The whole page. plotly.js is embedded only when there are charts to draw."""
    scripts: list[str] = []
    data = ""
    if charts:
        from plotly.io.json import to_json_plotly

        # plotly's JSON encoder escapes <, > and /: the data cannot close its script tag.
        specs = to_json_plotly([{"id": c.chart_id, "figure": c.figure} for c in charts])
        data = f'<script type="application/json" id="llmstats-charts">{specs}</script>'
        scripts.append(asset(PLOTLY_JS))
    scripts.append(asset("page.js"))
    policy = (
        "default-src 'none'; "
        f"script-src {' '.join(_script_hash(s) for s in scripts)}; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f'<meta name="generator" content="llmstats {esc(_version())}">\n'
        f"<title>{esc(title)}</title>\n<style>\n{asset('page.css')}</style>\n</head>\n<body>\n"
        f'<header class="page"><h1>{esc(title)}</h1><p class="meta">'
        + "".join(f"<span>{esc(m)}</span>" for m in meta)
        + "</p></header>\n"
        + body
        + '\n<footer class="page">Made by llmstats from call metadata only: no prompt, '
        "response or error text is ever stored. This file makes no network requests.</footer>\n"
        + data
        + "".join(f"\n<script>{s}</script>" for s in scripts)
        + "\n</body>\n</html>\n"
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llmstats")
    except PackageNotFoundError:
        return "dev"


def generated_line(moment: dt.datetime | None = None) -> str:
    moment = moment or dt.datetime.now(dt.UTC)
    return "generated " + moment.strftime("%Y-%m-%d %H:%M UTC")
