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


# USD per token. acme-chat: $1 / $2 per M in/out, cache read $0.10, write $1.25 (1 h: $2),
# above 200 prompt tokens $2 / $4; llama3 is free (a $0 catalog price).
PRICE_MAP: dict[str, Any] = {
    "acme-chat": {
        "litellm_provider": "openai",
        "mode": "chat",
        "max_input_tokens": 1000,
        "input_cost_per_token": 1e-6,
        "output_cost_per_token": 2e-6,
        "cache_read_input_token_cost": 1e-7,
        "cache_creation_input_token_cost": 1.25e-6,
        "cache_creation_input_token_cost_above_1hr": 2e-6,
        "input_cost_per_token_above_200_tokens": 2e-6,
        "output_cost_per_token_above_200_tokens": 4e-6,
    },
    "ollama/llama3": {
        "litellm_provider": "ollama",
        "mode": "chat",
        "max_input_tokens": 8192,
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
    },
}


def fixture_events() -> list[dict[str, Any]]:
    def ev(event_id: str, trace_id: str, ts: int, **fields: Any) -> dict[str, Any]:
        row = {
            "event_id": event_id,
            "trace_id": trace_id,
            "ts": ts,
            "end_ts": ts + 200_000,
            "call_type": "chat",
            "status": "success",
            "provider": "openai",
            "model": "acme-chat",
            "team_id": "search",
            "key_alias": "k1",
            "tags": ["alpha"],
        }
        row.update(fields)
        return row

    return [
        ev(
            "e1",
            "t1",
            at(0, 1),
            input_tokens=100,
            output_tokens=10,
            cache_read_tokens=40,
            reported_cost_usd=8.4e-5,
        ),
        ev(
            "e2",
            "t2",
            at(0, 10),
            status="failure",
            error_class="RateLimitError",
            error_code="rate_limit_exceeded",
            http_status=429,
            end_ts=at(0, 10.05),
        ),
        ev(
            "e3",
            "t2",
            at(0, 11),
            provider="openai",
            model="mystery-model",
            input_tokens=1000,
            output_tokens=100,
            fallbacks=1,
            tags=["beta"],
            stream=True,
            first_token_ts=at(0, 11.1),
            end_ts=at(0, 11.4),
            reported_cost_usd=0.0,
        ),
        ev(
            "e4",
            "t3",
            at(1, 5),
            provider="ollama",
            model="llama3",
            input_tokens=500,
            output_tokens=50,
            team_id="labs",
            reported_cost_usd=0.0,
        ),
        ev(
            "e5",
            "t4",
            at(2, 1),
            input_tokens=150,
            output_tokens=20,
            cache_write_tokens=100,
            cache_write_1h_tokens=40,
            team_id="labs",
            reported_cost_usd=2.45e-4,
        ),
        ev(
            "e6",
            "t5",
            at(2, 2),
            input_tokens=100,
            output_tokens=10,
            proxy_cache_hit=True,
            reported_cost_usd=0.0,
        ),
        ev(
            "e7",
            "t6",
            at(2, 3),
            input_tokens=1000,
            output_tokens=100,
            batch=True,
            call_type="batch",
            reported_cost_usd=6e-4,
        ),
        ev(
            "e8",
            "t7",
            at(2, 4),
            input_tokens=900,
            output_tokens=10,
            reported_cost_usd=1.84e-3,
            team_id="labs",
            tags=["alpha", "beta"],
        ),
    ]


def write_fixture_dataset(data_dir: str) -> None:
    """The fixture events plus a snapshot of the small fixed catalog."""
    from llmstats.analytics.pricing.catalog import Catalog, build_catalog_table, snapshot_catalog

    write_events(fixture_events())
    snapshot_catalog(data_dir, Catalog(build_catalog_table(PRICE_MAP), "test", "snapshot"))
