"""How report values read: `human()` for tables, markdown, HTML cells and chart hovers (by
column-name convention), `plain()` for JSON (a value any JSON encoder takes)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from typing import Any


def plain(value: Any) -> Any:
    """A JSON-safe value: datetimes and times as ISO 8601, NaN as null, bytes (a BLOB or
    BIT of `llmstats sql`) as lowercase hex, anything else JSON has no type for as text."""
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)  # a UUID, an interval: what DuckDB would print


_AS_IS = frozenset({str, int, bool, type(None)})


def plain_record(record: dict[str, Any]) -> dict[str, Any]:
    """`plain` over a row's values, quick for the values rows mostly hold (a 10 M-event
    report can have 100 k+ rows of a dozen values each)."""
    return {
        key if type(key) is str else str(key): (
            value if type(value) in _AS_IS
            else value if type(value) is float and math.isfinite(value)
            else plain(value))
        for key, value in record.items()
    }


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
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):  # a struct: as JSON (bytes in it as hex), not Python's repr
        return json.dumps(plain(value), ensure_ascii=False)
    if isinstance(value, list):
        return ", ".join(human("", v) if isinstance(v, bytes | dict) else str(v) for v in value)
    return str(value)
