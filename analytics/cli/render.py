"""One renderer for every command: rows (+ totals and notes) → table, json, jsonl, csv,
markdown, html.

`json` is always one object: `{"rows": [...]}` plus `"totals"` when the command has them
(the report contract). Numbers stay numbers in json/jsonl/csv; table and markdown format
them for reading (tokens with separators, dollars with cents, rates as percentages).
`html` is one self-contained page (html/report_page.py, imported only when asked for: it loads
plotly); with a dashboard (the overview report) it draws the dashboard's views too.

Event strings (model names, tags, aliases, anything `llmstats sql` selects) are data a
client chose, so each format makes them inert where it lands (docs/analytics.md, "What
the output formats do with hostile strings"): `table` shows control characters (escape
sequences that clear a screen or write the clipboard) as visible `\\xNN` escapes and never
reads them as rich markup; `csv` puts a `'` before a text cell that a spreadsheet would run
as a formula (`=`, `+`, `-`, `@`, tab, CR first; `--raw-csv` keeps them as they are);
`markdown` backslash-escapes what would make a link, an image, raw HTML or a table cell;
json escapes by its rules (and C1 controls, DEL and bidi marks as `\\u`), html by its own.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..report.format import human, plain, plain_record

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


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 control characters (ESC starts every terminal escape sequence; C1 CSI and
OSC do the same on terminals that read 8-bit controls) and the bidirectional overrides
that make text read differently from what it is."""


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: str) -> str:
    """`text` with every control character shown as a visible escape (`\\x1b`): nothing
    in it can move the cursor, clear the screen, set the title or write the clipboard."""
    return _CONTROL.sub(_visible, text)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""What JSON may carry raw (it escapes only C0) but a terminal reading it may act on or
show reordered: DEL, C1 controls, bidirectional marks, line separators."""


def json_text(text: str) -> str:
    """JSON as json.dumps wrote it, with those characters as \\u escapes: the same JSON
    value (they only occur inside strings), safe to print."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_MARKDOWN = re.compile(r"([\\\[\]<>|&])")
"""Backslash-escaped, these read as themselves in CommonMark / GFM, so no link, image,
autolink, raw HTML, entity or table cell boundary can come out of a value. Emphasis and
code spans are left alone: harmless (a code span even makes its content literal), and
`gpt_4o_mini` and the notes' `llmstats …` commands stay readable."""


def markdown_text(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", terminal_text(text).replace("\n", " "))


_FORMULA_FIRST = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list)."""


def csv_cell(value: Any, *, raw: bool = False) -> str:
    """A value as a CSV field: lists and objects as JSON, text a spreadsheet would run as
    a formula with a leading `'` (unless `raw`); numbers stay numbers (-5 is not text).
    Quoted (RFC 4180) when it holds a comma, a quote, or a line break of either kind: the
    csv module quotes a lone CR only when it ends lines with one, and an unquoted CR
    starts a new row in every reader (a row, and a formula, of the value's choosing)."""
    cell = plain(value)
    if cell is None:
        return ""
    if isinstance(cell, list | dict):
        cell = json.dumps(cell, ensure_ascii=False)
    text = str(cell)
    if not raw and isinstance(cell, str) and text.startswith(_FORMULA_FIRST):
        text = "'" + text
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _markdown(columns: Sequence[str], records: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(markdown_text(c) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(markdown_text(human(c, r.get(c))) for c in columns) + " |"
              for r in records]
    return "\n".join(lines)


def _kv(totals: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"metric": key, "value": human(key, value)} for key, value in totals.items()]


def _rich_table(title: str | None, columns: Sequence[str], records: list[dict[str, Any]]) -> Any:
    from rich.table import Table
    from rich.text import Text

    def text(value: str) -> Text:  # a Text is never read as markup
        return Text(terminal_text(value))

    table = Table(title=text(title) if title else None, title_justify="left",
                  show_edge=False, pad_edge=False)
    for column in columns:
        numeric = any(
            isinstance(r.get(column), int | float) and not isinstance(r.get(column), bool)
            for r in records
        )
        # Numbers never wrap (a wrapped figure misreads); text folds when space runs out.
        table.add_column(
            text(column), justify="right" if numeric else "left", overflow="fold", no_wrap=numeric
        )
    for record in records:
        table.add_row(*(text(human(c, record.get(c))) for c in columns))
    return table


def json_document(records: Sequence[dict[str, Any]], totals: dict[str, Any] | None,
                  notes: Sequence[str]) -> str:
    """`{"totals": …, "rows": […], "notes": […]}` with one row per line. Python's
    indenting encoder is pure Python (4 s for 144 k rows of `--by user,model` at 10 M
    events); a row at a time goes through its C encoder, and a row per line reads as
    well and greps better."""
    parts: list[str] = []
    if totals is not None:
        parts.append('  "totals": ' + json.dumps(plain(totals), indent=2, ensure_ascii=False)
                     .replace("\n", "\n  "))
    rows = ",\n".join("    " + json.dumps(plain_record(r), ensure_ascii=False) for r in records)
    parts.append('  "rows": [' + ("\n" + rows + "\n  ]" if records else "]"))
    if notes:
        parts.append('  "notes": ' + json.dumps(list(notes), indent=2, ensure_ascii=False)
                     .replace("\n", "\n  "))
    return "{\n" + ",\n".join(parts) + "\n}"


def render(
    rows: Any,
    fmt: Format | str,
    *,
    title: str | None = None,
    totals: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
    width: int | None = None,
    dashboard: Dashboard | None = None,
    raw_csv: bool = False,
) -> str:
    """Rows (an Arrow table or a list of dicts) in the chosen format, as one string.
    `dashboard` only matters to html: the charts and views drawn around the rows.
    `raw_csv`: csv cells exactly as the values are (no `'` before formula-like text)."""
    fmt = Format(fmt)
    columns, records = _rows(rows)
    if fmt is Format.html:
        from ..html.report_page import html_document

        return html_document(
            columns, records, title=title, totals=totals, notes=notes, dashboard=dashboard
        )
    if fmt is Format.json:
        return json_text(json_document(records, totals, notes)) + "\n"
    if fmt is Format.jsonl:
        return "".join(json_text(json.dumps(plain_record(r), ensure_ascii=False)) + "\n"
                       for r in records)
    if fmt is Format.csv:
        lines = [",".join(csv_cell(c, raw=raw_csv) for c in columns)]
        lines += [",".join(csv_cell(record.get(c), raw=raw_csv) for c in columns)
                  for record in records]
        return "".join(line + "\n" for line in lines)
    if fmt is Format.markdown:
        parts = []
        if title:
            parts.append(f"## {markdown_text(title)}\n")
        if totals:
            parts.append(_markdown(["metric", "value"], _kv(totals)) + "\n")
        parts.append(_markdown(columns, records) if columns else "_no rows_")
        parts += [f"\n> {markdown_text(note)}" for note in notes]
        return "\n".join(parts) + "\n"
    import shutil
    import sys

    from rich.console import Console

    if width is None:
        # A terminal gets its own width; a pipe or file gets room for every column.
        width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 400
    buffer = io.StringIO()
    # No markup and no emoji codes: a value like "[/]" or ":smile:" prints as itself.
    console = Console(file=buffer, width=width, force_terminal=False, no_color=True,
                      highlight=False, markup=False, emoji=False)
    if totals:
        console.print(_rich_table("Totals", ["metric", "value"], _kv(totals)))
        console.print()
    if columns:
        console.print(_rich_table(title, columns, records))
    elif title:
        console.print(terminal_text(title))
    for note in notes:
        console.print(terminal_text(f"note: {note}"))
    return buffer.getvalue()
