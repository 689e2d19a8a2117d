"""A report as one self-contained HTML page (what `--format html` writes): the rows, totals
and notes as a page of their own, or, with a dashboard (the overview report), the
dashboard's views around them (html/dashboard.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .dashboard import dashboard_document
from .page import document, generated_line, notes_list, table, totals_cards

if TYPE_CHECKING:
    from ..report.dashboard import Dashboard


def html_document(
    columns: Sequence[str],
    records: list[dict[str, Any]],
    *,
    title: str | None,
    totals: dict[str, Any] | None,
    notes: Sequence[str],
    dashboard: Dashboard | None = None,
) -> str:
    """A report as a page; with `dashboard`, the report is the FinOps view's table and
    the dashboard's views surround it."""
    if dashboard is not None:
        return dashboard_document(dashboard, columns, records, title, totals or {}, notes)
    body = (
        "<main>"
        + (totals_cards(totals) if totals else "")
        + notes_list(notes)
        + table(columns, records, table_id="rows", search="Filter rows…")
        + "</main>"
    )
    return document(title or "llmstats", [generated_line()], body)
