"""One renderer for every command: rows (+ totals and notes) → table, json, jsonl, csv,
markdown, html.

`json` is always one object: `{"rows": [...]}` plus `"totals"` when the command has them
(the report contract). Numbers stay numbers in json/jsonl/csv; table and markdown format
them for reading (tokens with separators, dollars with cents, rates as percentages).
`html` is one self-contained page (html/report_page.py, imported only when asked for: it loads
plotly); with a dashboard (the overview report) it draws the dashboard's views too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..report.format import human, plain

if TYPE_CHECKING:
    from ..report.dashboard import Dashboard


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    markdown = "markdown"
    html = "html"


def _rows(rows: Any) -> tuple[list[str], list[dict[str, Any]]]:
    if hasattr(rows, "to_pylist") and hasattr(rows, "column_names"):
        return list(rows.column_names), rows.to_pylist()
    listed = list(rows)
    columns = list(listed[0]) if listed else []
    return columns, listed


def _markdown(columns: Sequence[str], records: list[dict[str, Any]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(human(c, r.get(c))) for c in columns) + " |" for r in records]
    return "\n".join(lines)


def _kv(totals: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"metric": key, "value": human(key, value)} for key, value in totals.items()]


def _rich_table(title: str | None, columns: Sequence[str], records: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        numeric = any(
            isinstance(r.get(column), int | float) and not isinstance(r.get(column), bool)
            for r in records
        )
        # Numbers never wrap (a wrapped figure misreads); text folds when space runs out.
        table.add_column(
            column, justify="right" if numeric else "left", overflow="fold", no_wrap=numeric
        )
    for record in records:
        table.add_row(*(human(c, record.get(c)) for c in columns))
    return table


def render(
    rows: Any,
    fmt: Format | str,
    *,
    title: str | None = None,
    totals: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
    width: int | None = None,
    dashboard: Dashboard | None = None,
) -> str:
    """Rows (an Arrow table or a list of dicts) in the chosen format, as one string.
    `dashboard` only matters to html: the charts and views drawn around the rows."""
    fmt = Format(fmt)
    columns, records = _rows(rows)
    if fmt is Format.html:
        from ..html.report_page import html_document

        return html_document(
            columns, records, title=title, totals=totals, notes=notes, dashboard=dashboard
        )
    if fmt is Format.json:
        document: dict[str, Any] = {}
        if totals is not None:
            document["totals"] = plain(totals)
        document["rows"] = [plain(r) for r in records]
        if notes:
            document["notes"] = list(notes)
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt is Format.jsonl:
        return "".join(json.dumps(plain(r), ensure_ascii=False) + "\n" for r in records)
    if fmt is Format.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow(
                {
                    k: (json.dumps(plain(v)) if isinstance(v, list | dict) else plain(v))
                    for k, v in record.items()
                }
            )
        return buffer.getvalue()
    if fmt is Format.markdown:
        parts = []
        if title:
            parts.append(f"## {title}\n")
        if totals:
            parts.append(_markdown(["metric", "value"], _kv(totals)) + "\n")
        parts.append(_markdown(columns, records) if columns else "_no rows_")
        parts += [f"\n> {note}" for note in notes]
        return "\n".join(parts) + "\n"
    import shutil
    import sys

    from rich.console import Console

    if width is None:
        # A terminal gets its own width; a pipe or file gets room for every column.
        width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 400
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, force_terminal=False, no_color=True, highlight=False
    )
    if totals:
        console.print(_rich_table("Totals", ["metric", "value"], _kv(totals)))
        console.print()
    if columns:
        console.print(_rich_table(title, columns, records))
    elif title:
        console.print(title)
    for note in notes:
        console.print(f"note: {note}")
    return buffer.getvalue()
