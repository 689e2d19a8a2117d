"""A few thousand varied events for comparing rollup-backed and event-backed reports.

Deterministic (seeded): several days, models with and without long-context tiers (one
inclusive, as xAI's), a $0 model and an unpriced one, teams, keys, users and tags,
streams, cache reads and writes (5-minute and 1-hour), reasoning, images, batch calls,
proxy-cache hits, failures with retries and fallbacks in one trace, calls on both sides
of midnight in UTC and in other zones.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from tests.support.event_data import DAY0, DAY_US

# USD per token. `tiered` switches at 1,000 prompt tokens (above), `xtiered` at 1,000
# (at or above, as LiteLLM bills xAI), `free` is a $0 catalog entry; `mystery` is not in
# the catalog (the default rate).
PRICE_MAP: dict[str, Any] = {
    "flat": {
        "litellm_provider": "openai",
        "mode": "chat",
        "max_input_tokens": 100_000,
        "input_cost_per_token": 1e-6,
        "output_cost_per_token": 4e-6,
        "cache_read_input_token_cost": 1e-7,
        "cache_creation_input_token_cost": 1.25e-6,
        "cache_creation_input_token_cost_above_1hr": 2e-6,
    },
    "tiered": {
        "litellm_provider": "anthropic",
        "mode": "chat",
        "max_input_tokens": 100_000,
        "input_cost_per_token": 3e-6,
        "output_cost_per_token": 1.5e-5,
        "cache_read_input_token_cost": 3e-7,
        "input_cost_per_token_above_1000_tokens": 6e-6,
        "output_cost_per_token_above_1000_tokens": 2.25e-5,
        "output_cost_per_reasoning_token": 2e-5,
    },
    "xai/xtiered": {
        "litellm_provider": "xai",
        "mode": "chat",
        "max_input_tokens": 100_000,
        "input_cost_per_token": 2e-6,
        "output_cost_per_token": 1e-5,
        "input_cost_per_token_above_1000_tokens": 4e-6,
        "output_cost_per_token_above_1000_tokens": 2e-5,
    },
    "painter": {
        "litellm_provider": "openai",
        "mode": "image_generation",
        "output_cost_per_image": 0.04,
    },
    "ollama/free": {
        "litellm_provider": "ollama",
        "mode": "chat",
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
    },
}
MODELS = [
    ("openai", "flat", 5),
    ("anthropic", "tiered", 4),
    ("xai", "xtiered", 2),
    ("openai", "painter", 1),
    ("ollama", "free", 1),
    ("acme", "mystery", 1),
]
TEAMS = [("t-search", "Search"), ("t-labs", "Labs"), ("t-ops", None), ("t-anon", "Labs")]
TAGS = ["alpha", "beta", "gamma", "prod"]


def rollup_events(days: int = 4, per_day: int = 600, seed: int = 7, first_day: int = 0,
                  prefix: str = "r") -> list[dict[str, Any]]:
    """Event rows (epoch µs timestamps) as the writer takes them."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    weights = [w for _, _, w in MODELS]
    for day in range(first_day, first_day + days):
        for n in range(per_day):
            provider, model, _ = rng.choices(MODELS, weights)[0]
            # A tenth of the calls in the hour around midnight UTC (both sides).
            if rng.random() < 0.1:
                seconds = rng.choice([rng.uniform(0, 1800), rng.uniform(84_600, 86_399)])
            else:
                seconds = rng.uniform(0, 86_399)
            ts = DAY0 + day * DAY_US + int(seconds * 1_000_000)
            team_id, team_alias = rng.choice(TEAMS)
            key = rng.randrange(12)
            image = model == "painter"
            # Prompt sizes on both sides of the 1,000-token tiers, and exactly on them.
            prompt = rng.choice([rng.randint(20, 990), rng.randint(1001, 3000), 1000, 999])
            cache_read = int(prompt * rng.uniform(0.2, 0.9)) if rng.random() < 0.3 else 0
            cache_write = int(prompt * 0.5) if not cache_read and rng.random() < 0.15 else 0
            stream = not image and rng.random() < 0.5
            latency = rng.lognormvariate(6.5, 0.8)
            failed = rng.random() < 0.06
            row: dict[str, Any] = {
                "event_id": f"{prefix}{day}-{n}",
                "trace_id": f"{prefix}t{day}-{n}" if rng.random() < 0.97 else None,
                "ts": ts,
                "end_ts": ts + int(latency * 1000),
                "call_type": "image" if image else ("batch" if rng.random() < 0.03 else "chat"),
                "stream": stream,
                "status": "failure" if failed else "success",
                "provider": provider,
                "model": model,
                "team_id": team_id,
                "team_alias": team_alias,
                "org_id": "org-1" if team_id != "t-ops" else "org-2",
                "key_hash": f"kh{key:02d}",
                "key_alias": f"key-{key:02d}" if key % 5 else None,
                "user_id": f"u{rng.randrange(40)}",
                "tags": rng.sample(TAGS, rng.choice([0, 1, 1, 2])),
                "route": "/v1/images" if image else "/v1/chat/completions",
                "service_tier": "priority" if rng.random() < 0.05 else None,
                "reported_cost_usd": None if failed else rng.uniform(0, 0.01),
            }
            if failed:
                row.update(error_class="RateLimitError", error_code="rate_limit_exceeded",
                           http_status=429, end_ts=ts + 50_000)
            elif image:
                row.update(image_count=rng.randint(1, 3), input_tokens=prompt, output_tokens=0)
            else:
                output = rng.randint(1, 800)
                row.update(
                    input_tokens=prompt,
                    output_tokens=output,
                    cache_read_tokens=cache_read,
                    cache_write_tokens=cache_write,
                    cache_write_1h_tokens=cache_write // 3 if provider == "openai" else 0,
                    reasoning_tokens=output // 4 if model == "tiered" else 0,
                    proxy_cache_hit=rng.random() < 0.03,
                    batch=row["call_type"] == "batch",
                )
                if stream:
                    row["first_token_ts"] = ts + int(latency * 1000 * rng.uniform(0.05, 0.4))
            rows.append(row)
            if failed and row["trace_id"] and rng.random() < 0.8:
                # The retry (or a fallback to another model) in the same trace, a little later.
                fallback = rng.random() < 0.5
                retry = dict(row, event_id=f"{prefix}{day}-{n}-b", ts=ts + 900_000,
                             end_ts=ts + 900_000 + int(latency * 1000), status="success",
                             error_class=None, error_code=None, http_status=None,
                             input_tokens=prompt, output_tokens=rng.randint(1, 400),
                             reported_cost_usd=rng.uniform(0, 0.01))
                if fallback:
                    retry.update(provider="openai", model="flat", fallbacks=1)
                else:
                    retry.update(retries=1)
                rows.append(retry)
    return rows


NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)


def answers(data_dir: str | Path, queries: list[tuple[str, dict[str, Any]]], *,
            use_rollups: bool) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """(rows, totals) of each report in `queries`, from rollups or from the events."""
    from llmstats.analytics.connection import open_dataset
    from llmstats.analytics.query import Query
    from llmstats.analytics.report import reports

    dataset = open_dataset(str(data_dir), use_rollups=use_rollups, lazy_events=use_rollups)
    out = []
    for name, kwargs in queries:
        report = getattr(reports, name)(dataset.con, Query.parse(now=NOW, **kwargs))
        rows = report.data if isinstance(report.data, list) else report.data.to_pylist()
        out.append((rows, report.totals))
    dataset.con.close()
    return out
