"""Small builders of event rows as the extractor emits them (timestamps in epoch µs)."""

from __future__ import annotations

import uuid
from typing import Any

BASE_TS = 1_795_000_000_000_000  # 2026-11-18T...Z in microseconds


def event_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "trace_id": str(uuid.uuid4()),
        "ts": BASE_TS,
        "end_ts": BASE_TS + 250_000,
        "latency_ms": 250.0,
        "call_type": "chat",
        "stream": False,
        "status": "success",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_tokens": 120,
        "output_tokens": 30,
        "total_tokens": 150,
        "reported_cost_usd": 0.000036,
        "tags": ["alpha"],
        "privacy_level": "standard",
        "schema_version": 1,
        "llmstats_version": "test",
        "writer_id": "test",
    }
    row.update(overrides)
    return row
