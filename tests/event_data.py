"""Write test events into the data dir through the real EventWriter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llmstats.plugin.config import load_settings
from llmstats.plugin.writer import EventWriter

DAY_US = 86_400_000_000
# 2026-11-19T00:00:00Z in epoch microseconds: fixture rows sit on whole days from here.
DAY0 = 1_795_046_400_000_000


def at(day: int, seconds: float = 0.0) -> int:
    """Epoch µs `day` days after 2026-11-19T00:00Z plus `seconds`."""
    return DAY0 + day * DAY_US + int(seconds * 1_000_000)


def write_events(rows: Iterable[dict[str, Any]], writer_id: str = "fixture") -> None:
    writer = EventWriter(load_settings(flush_seconds=3600), writer_id=writer_id)
    for row in rows:
        writer.submit(row)
    writer.close()
