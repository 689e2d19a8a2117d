"""How report values read: `human()` for tables, markdown, HTML cells and chart hovers (by
column-name convention), `plain()` for JSON (a value any JSON encoder takes)."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any


def plain(value: Any) -> Any:
    """A JSON-safe value: datetimes as ISO 8601, NaN as null."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def human(column: str, value: Any) -> str:
    """How a value reads in a table: by column-name convention."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    if column.endswith("_usd") and isinstance(value, int | float):
        return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"
    if (column.endswith("_rate") or column.startswith("share")) and isinstance(value, int | float):
        return f"{100 * value:.2f}%"
    if column.endswith("_pct") and isinstance(value, int | float):
        return f"{value:.1f}%"
    if column.endswith("_ms") and isinstance(value, int | float):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
