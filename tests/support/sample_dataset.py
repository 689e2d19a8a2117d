"""A sample dataset for the notebook and dashboard tests: the project's own generator
(benchmarks/generate.py, written through the writer's Sink) plus a few calls whose
user-chosen names are hostile markup, written through the real EventWriter."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_EVENTS = 30_000
SAMPLE_DAYS = 30
SAMPLE_END = dt.date(2026, 11, 20)  # the generator's default: the last day is 11-19

# Strings a proxy user controls (tags, model aliases, team and key aliases). Each would
# run script or inject markup if the page did not escape it.
HOSTILE_TAG = "<script>alert(1)</script>"
HOSTILE_MODEL = '<img src=x onerror="alert(2)">'
HOSTILE_TEAM = '"><svg onload=alert(3)>'
HOSTILE_KEY = "</script><script>alert(4)</script>"
# Markup plotly.js itself would render (bold) if chart text were not escaped.
HOSTILE_USER = "<b>bold-user</b>"


def generator() -> Any:
    from benchmarks import generate

    return generate


def hostile_events() -> list[dict[str, Any]]:
    """Three successful calls and a failure in the last minute of the sample window."""
    end_us = int(dt.datetime(2026, 11, 19, 23, 59, 59, tzinfo=dt.UTC).timestamp() * 1_000_000)
    rows = []
    for i in range(4):
        start = end_us - (4 - i) * 5_000_000
        rows.append(
            {
                "event_id": f"hostile-{i}",
                "trace_id": f"hostile-trace-{i}",
                "ts": start,
                "end_ts": start + 900_000,
                "call_type": "chat",
                "status": "failure" if i == 3 else "success",
                "error_class": "RateLimitError" if i == 3 else None,
                "http_status": 429 if i == 3 else None,
                "provider": "openai",
                "model": HOSTILE_MODEL,
                "team_alias": HOSTILE_TEAM,
                "key_alias": HOSTILE_KEY,
                "user_id": HOSTILE_USER,
                "tags": [HOSTILE_TAG],
                "input_tokens": None if i == 3 else 1_000,
                "output_tokens": None if i == 3 else 100,
                "max_input_tokens": 128_000,
                "reported_cost_usd": None if i == 3 else 0.01,
            }
        )
    return rows


@contextlib.contextmanager
def isolated_environment(scratch: Path) -> Iterator[None]:
    """The autouse fixture's isolation for module-scoped fixtures (which run before it):
    no user config, cache or state dir is read or written."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLMSTATS_CONFIG", str(scratch / "no-config.toml"))
        patch.setenv("XDG_CACHE_HOME", str(scratch / "cache"))
        patch.setenv("XDG_STATE_HOME", str(scratch / "state"))
        patch.setenv("LLMSTATS_DATA_DIR", str(scratch / "unused-data-dir"))
        patch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        yield


def write_sample_dataset(data_dir: Path, events: int = SAMPLE_EVENTS) -> Path:
    """`events` generated events over 30 days (with prompt segments) plus the hostile calls."""
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.writer import EventWriter

    with isolated_environment(data_dir.parent):
        generator().generate(
            str(data_dir), events, days=SAMPLE_DAYS, end=SAMPLE_END, segments=True
        )
        writer = EventWriter(
            load_settings(data_dir=str(data_dir), flush_seconds=3600), writer_id="hostile"
        )
        for row in hostile_events():
            writer.submit(row)
        writer.close()
    return data_dir
