"""The billing shapes of issue 21, each on a small hand-written price map with exact
expected costs: entries with no price, more than two tiered_pricing tiers with a tier
reasoning rate, service tiers, off-peak windows at the event's own time, regional and
speed multipliers, per-character speech, size/quality images, transcription billed once,
per-second call time, provider-inside-the-name keys and LiteLLM's fallbacks, an explicit
0 cache-write rate, and the configurable default."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from llmstats.analytics.connection import connect
from llmstats.analytics.pricing.catalog import (
    Catalog,
    build_catalog_table,
    candidate_keys,
    snapshot_catalog,
)
from tests.support.event_data import at, write_events

M = 1e-6
PRICE_MAP: dict[str, Any] = {
    "github_copilot/gpt-4": {"litellm_provider": "github_copilot", "mode": "chat"},
    "gpt-4": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 30 * M,
              "output_cost_per_token": 60 * M},
    "dashscope/qwen-tiers": {
        "litellm_provider": "dashscope", "mode": "chat",
        "tiered_pricing": [
            {"range": [0, 32000], "input_cost_per_token": 1 * M, "output_cost_per_token": 5 * M},
            {"range": [32000, 128000], "input_cost_per_token": 2 * M,
             "output_cost_per_token": 8 * M, "output_cost_per_reasoning_token": 20 * M},
            {"range": [128000, 1000000], "input_cost_per_token": 4 * M,
             "output_cost_per_token": 16 * M},
        ],
    },
    "tiered-model": {"litellm_provider": "openai", "mode": "chat",
                     "input_cost_per_token": 1 * M, "output_cost_per_token": 2 * M,
                     "input_cost_per_token_priority": 2 * M, "output_cost_per_token_priority": 4 * M,
                     "input_cost_per_token_flex": 0.5 * M, "output_cost_per_token_flex": 1 * M,
                     "regional_processing_uplift_multiplier_eu": 1.1},
    "deepseek/night-owl": {"litellm_provider": "deepseek", "mode": "chat",
                           "input_cost_per_token": 2 * M, "output_cost_per_token": 8 * M,
                           "off_peak_pricing": {"hours_utc": "16:30-00:30",
                                                "input_cost_per_token": 1 * M,
                                                "output_cost_per_token": 4 * M}},
    "claude-geo": {"litellm_provider": "anthropic", "mode": "chat",
                   "input_cost_per_token": 3 * M, "output_cost_per_token": 15 * M,
                   "provider_specific_entry": {"us": 1.1, "fast": 2.0}},
    "tts-1": {"litellm_provider": "openai", "mode": "audio_speech",
              "input_cost_per_character": 15 * M},
    "hd/1024-x-1792/dall-e-3": {"litellm_provider": "openai", "mode": "image_generation",
                                "output_cost_per_image": 0.12},
    "standard/1024-x-1024/dall-e-3": {"litellm_provider": "openai", "mode": "image_generation",
                                      "output_cost_per_image": 0.04},
    "gpt-4o-transcribe": {"litellm_provider": "openai", "mode": "audio_transcription",
                          "input_cost_per_token": 2.5 * M, "output_cost_per_token": 10 * M,
                          "input_cost_per_audio_token": 6 * M},
    "whisper-1": {"litellm_provider": "openai", "mode": "audio_transcription",
                  "input_cost_per_second": 0.0001},
    "sagemaker/clock": {"litellm_provider": "sagemaker", "mode": "chat",
                        "input_cost_per_second": 0.001},
    "perplexity/perplexity/sonar-x": {"litellm_provider": "perplexity", "mode": "chat",
                                      "input_cost_per_token": 1 * M, "output_cost_per_token": 1 * M},
    "fireworks_ai/fireworks-ai-4.1b-to-16b": {"litellm_provider": "fireworks_ai", "mode": "chat",
                                              "input_cost_per_token": 0.2 * M,
                                              "output_cost_per_token": 0.2 * M},
    "free-writes": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1 * M,
                    "output_cost_per_token": 2 * M, "cache_creation_input_token_cost": 0.0,
                    "cache_read_input_token_cost": 0.1 * M},
    "ollama/llama3": {"litellm_provider": "ollama", "mode": "chat", "input_cost_per_token": 0.0,
                      "output_cost_per_token": 0.0},
    "batchy": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2 * M,
               "output_cost_per_token": 8 * M, "input_cost_per_token_batches": 1 * M,
               "output_cost_per_token_batches": 4 * M,
               "input_cost_per_token_above_200k_tokens": 4 * M,
               "output_cost_per_token_above_200k_tokens": 16 * M,
               "input_cost_per_token_above_200k_tokens_batches": 2 * M,
               "output_cost_per_token_above_200k_tokens_batches": 8 * M},
}


def _event(event_id: str, model: str, provider: str, call_type: str = "chat",
           ts: int | None = None, **fields: Any) -> dict[str, Any]:
    start = at(0, 12 * 3600) if ts is None else ts
    return {"event_id": event_id, "trace_id": event_id, "ts": start, "end_ts": start + 2_000_000,
            "call_type": call_type, "status": "success", "provider": provider, "model": model,
            **fields}


EVENTS = [
    _event("no_price", "gpt-4", "github_copilot", input_tokens=1000, output_tokens=100),
    _event("tier_2", "qwen-tiers", "dashscope", input_tokens=50_000, output_tokens=1_000,
           reasoning_tokens=500),
    _event("tier_3", "qwen-tiers", "dashscope", input_tokens=150_000, output_tokens=1_000),
    _event("priority", "tiered-model", "openai", input_tokens=1000, output_tokens=100,
           service_tier="priority"),
    _event("flex_eu", "tiered-model", "openai", input_tokens=1000, output_tokens=100,
           service_tier="flex", data_residency="eu"),
    _event("peak", "night-owl", "deepseek", input_tokens=1000, output_tokens=100),
    _event("off_peak", "night-owl", "deepseek", ts=at(0, 23 * 3600 + 59 * 60),
           input_tokens=1000, output_tokens=100),
    _event("after_midnight", "night-owl", "deepseek", ts=at(1, 29 * 60),
           input_tokens=1000, output_tokens=100),
    _event("geo_fast", "claude-geo", "anthropic", input_tokens=1000, output_tokens=100,
           inference_geo="us", speed="fast"),
    _event("speech", "tts-1", "openai", "speech", input_characters=1000),
    _event("hd_tall", "dall-e-3", "openai", "image", image_count=2, image_size="1024x1792",
           image_quality="hd"),
    _event("standard_square", "dall-e-3", "openai", "image", image_count=1),
    _event("transcribe_tokens", "gpt-4o-transcribe", "openai", "transcription",
           input_tokens=1000, audio_input_tokens=1000, output_tokens=100, audio_seconds=60.0),
    _event("whisper", "whisper-1", "openai", "transcription", audio_seconds=60.0),
    _event("clock", "clock", "sagemaker", input_tokens=10, output_tokens=10),
    _event("inside_name", "sonar-x", "perplexity", input_tokens=1000, output_tokens=1000),
    _event("bucket", "llama-v3p1-8b-instruct", "fireworks_ai", input_tokens=1000,
           output_tokens=1000),
    _event("fine_tune", "ft:gpt-4:acme::abc123", "openai", input_tokens=1000, output_tokens=100),
    _event("free_writes", "free-writes", "openai", input_tokens=10_000, output_tokens=100,
           cache_write_tokens=8_000),
    _event("local", "llama3", "ollama", input_tokens=1000, output_tokens=100),
    _event("batch_small", "batchy", "openai", "batch", batch=True, input_tokens=1000,
           output_tokens=100),
    _event("batch_large", "batchy", "openai", "batch", batch=True, input_tokens=250_000,
           output_tokens=1000),
]

EXPECTED: dict[str, tuple[str, float]] = {
    # An entry with no price at all: the flagged default ($3 / $15), never LiteLLM's $0.
    "no_price": ("default", 1000 * 3 * M + 100 * 15 * M),
    # The tier the prompt falls in bills every token; its own reasoning rate.
    "tier_2": ("catalog", 50_000 * 2 * M + 500 * 8 * M + 500 * 20 * M),
    "tier_3": ("catalog", 150_000 * 4 * M + 1_000 * 16 * M),
    "priority": ("catalog", 1000 * 2 * M + 100 * 4 * M),
    "flex_eu": ("catalog", (1000 * 0.5 * M + 100 * 1 * M) * 1.1),
    # Off-peak from 16:30 to 00:30 UTC, by the event's own time.
    "peak": ("catalog", 1000 * 2 * M + 100 * 8 * M),
    "off_peak": ("catalog", 1000 * 1 * M + 100 * 4 * M),
    "after_midnight": ("catalog", 1000 * 1 * M + 100 * 4 * M),
    "geo_fast": ("catalog", (1000 * 3 * M + 100 * 15 * M) * 1.1 * 2.0),
    "speech": ("catalog", 1000 * 15 * M),
    "hd_tall": ("catalog", 2 * 0.12),
    "standard_square": ("catalog", 0.04),
    # Billed once, by its tokens (the seconds are not billed on top).
    "transcribe_tokens": ("catalog", 1000 * 6 * M + 100 * 10 * M),
    "whisper": ("catalog", 60 * 0.0001),
    # Priced per second of call time only: 2 s.
    "clock": ("catalog", 2 * 0.001),
    "inside_name": ("catalog", 2000 * 1 * M),
    "bucket": ("catalog", 2000 * 0.2 * M),
    "fine_tune": ("catalog", 1000 * 30 * M + 100 * 60 * M),
    "free_writes": ("catalog", 2000 * 1 * M + 100 * 2 * M),
    "local": ("catalog_zero", 0.0),
    # Batch rates, and the batch tier above the threshold.
    "batch_small": ("catalog", 1000 * 1 * M + 100 * 4 * M),
    "batch_large": ("catalog", 250_000 * 2 * M + 1000 * 8 * M),
}


@pytest.fixture
def data_dir(isolated_data_dir: Path) -> Path:
    write_events(EVENTS)
    snapshot_catalog(str(isolated_data_dir),
                     Catalog(build_catalog_table(PRICE_MAP), "test", "snapshot"))
    return isolated_data_dir


def test_every_shape_costs_what_the_map_says(data_dir: Path) -> None:
    con = connect()
    got = {row[0]: (row[1], row[2]) for row in con.execute(
        "SELECT event_id, priced_by, cost_usd FROM event_costs").fetchall()}
    assert got.keys() == EXPECTED.keys()
    wrong = {event_id: (got[event_id], expected) for event_id, expected in EXPECTED.items()
             if got[event_id][0] != expected[0]
             or not math.isclose(got[event_id][1], expected[1], rel_tol=1e-9, abs_tol=1e-15)}
    assert not wrong, wrong


def test_an_explicit_zero_cache_write_rate_is_no_saving(data_dir: Path) -> None:
    con = connect()
    row = con.execute("SELECT prompt_cache_savings_usd, cache_write_cost_usd FROM event_costs "
                      "WHERE event_id = 'free_writes'").fetchone()
    assert row == (0.0, 0.0)


def test_the_default_price_is_configurable(data_dir: Path) -> None:
    (data_dir / "pricing" / "overrides.toml").write_text("[default]\ninput = 10.0\noutput = 30.0\n")
    con = connect()
    row = con.execute("SELECT priced_by, cost_usd FROM event_costs WHERE event_id = 'no_price'"
                      ).fetchone()
    assert row is not None and row[0] == "default"
    assert math.isclose(row[1], 1000 * 10 * M + 100 * 30 * M)


def test_candidate_keys_follow_litellms_fallbacks() -> None:
    assert candidate_keys("perplexity", "sonar-x")[:3] == [
        "perplexity/sonar-x", "sonar-x", "perplexity/perplexity/sonar-x"]
    assert "gpt-4o-2024-08-06" in candidate_keys("openai", "ft:gpt-4o-2024-08-06:org::id")
    assert "anthropic.claude-x-v1:0" in candidate_keys("bedrock",
                                                       "converse/us.anthropic.claude-x-v1:0")
    assert "fireworks_ai/fireworks-ai-above-16b" in candidate_keys("fireworks_ai", "llama-70b")
