"""Synthetic events with realistic cardinalities, written as the writer writes them.

    python benchmarks/generate.py --events 10000000 --data-dir benchmarks/out/data

≈30 models over several providers (a few unpriced private models and one $0 local model
among them), 40 teams, 500 keys, 5,000 users, 90 days; streaming, prompt-cache reads and
writes, reasoning, proxy-cache hits, batch calls, failures with retries and fallbacks.

Rows are built column-wise (numpy) in batches, conformed to EVENT_SCHEMA and written through
the writer's own `Sink` (same Parquet options, same atomic rename, same
`events/date=YYYY-MM-DD/<writer>-<seq>.parquet` layout), one file per day per batch, as a
writer flushing every few minutes would leave them. Deterministic for a given --seed.
`--segments` also fills the prompt breakdown (role × kind, summing to input_tokens); it is
off by default so benchmark datasets stay as they were measured.

Importable: `generate(data_dir, events, days=..., segments=True)` writes a small sample
dataset in about a second (the notebook and dashboard tests use it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmstats.plugin.schema import EVENT_SCHEMA, SCHEMA_VERSION, SEGMENT_TYPE
from llmstats.plugin.sink import Sink

# (provider, model, weight, input $/M, output $/M, reasoning model, cache support, context)
MODELS: list[tuple[str, str, float, float, float, bool, bool, int]] = [
    ("openai", "gpt-4o-mini", 18, 0.15, 0.6, False, True, 128_000),
    ("openai", "gpt-4o", 8, 2.5, 10, False, True, 128_000),
    ("openai", "gpt-4.1", 5, 2, 8, False, True, 1_047_576),
    ("openai", "gpt-4.1-mini", 6, 0.4, 1.6, False, True, 1_047_576),
    ("openai", "gpt-4.1-nano", 3, 0.1, 0.4, False, True, 1_047_576),
    ("openai", "o3-mini", 3, 1.1, 4.4, True, True, 200_000),
    ("openai", "o4-mini", 3, 1.1, 4.4, True, True, 200_000),
    ("openai", "gpt-5", 4, 1.25, 10, True, True, 272_000),
    ("openai", "gpt-5-mini", 5, 0.25, 2, True, True, 272_000),
    ("openai", "text-embedding-3-small", 6, 0.02, 0, False, False, 8_191),
    ("anthropic", "claude-sonnet-4-5", 9, 3, 15, False, True, 200_000),
    ("anthropic", "claude-3-5-haiku-20241022", 4, 0.8, 4, False, True, 200_000),
    ("anthropic", "claude-opus-4-1", 1, 15, 75, False, True, 200_000),
    ("anthropic", "claude-sonnet-4-20250514", 3, 3, 15, False, True, 200_000),
    ("anthropic", "claude-haiku-4-5", 3, 1, 5, False, True, 200_000),
    ("gemini", "gemini-2.5-pro", 3, 1.25, 10, True, True, 1_048_576),
    ("gemini", "gemini-2.5-flash", 6, 0.3, 2.5, True, True, 1_048_576),
    ("gemini", "gemini-2.0-flash", 3, 0.1, 0.4, False, False, 1_048_576),
    ("vertex_ai", "gemini-2.5-flash-lite", 2, 0.1, 0.4, False, False, 1_048_576),
    ("bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", 2, 3, 15, False, False, 200_000),
    ("mistral", "mistral-large-latest", 1.5, 2, 6, False, False, 128_000),
    ("mistral", "mistral-small-latest", 1.5, 0.1, 0.3, False, False, 32_000),
    ("groq", "llama-3.3-70b-versatile", 2, 0.59, 0.79, False, False, 128_000),
    ("deepseek", "deepseek-chat", 2, 0.27, 1.1, False, True, 128_000),
    ("xai", "grok-3-mini", 1, 0.3, 0.5, True, False, 131_072),
    ("azure", "gpt-4o", 3, 2.5, 10, False, True, 128_000),
    ("cohere", "command-r-plus", 0.5, 2.5, 10, False, False, 128_000),
    ("ollama", "llama3", 1, 0, 0, False, False, 8_192),
    ("hosted_vllm", "acme-private-70b", 1.5, 3, 15, False, False, 32_000),
    ("openai", "ft:gpt-4o-mini:acme::abc123", 1, 0.3, 1.2, False, True, 128_000),
]
TEAMS = 40
KEYS = 500
USERS = 5_000
TAGS = [f"app-{i}" for i in range(12)] + ["prod", "staging", "batch-jobs", "eval", "chatbot", "rag", "agent", "internal"]
ERRORS = [
    ("RateLimitError", "rate_limit_exceeded", 429),
    ("Timeout", None, 408),
    ("InternalServerError", None, 500),
    ("ServiceUnavailableError", None, 503),
    ("ContextWindowExceededError", "context_length_exceeded", 400),
    ("BadRequestError", "invalid_request_error", 400),
]
# Prompt segments in prompt order: (role, kind, chance a prompt has it, relative size).
# Tool definitions and the system prompt come first (the part a prompt cache serves);
# teams whose number is a multiple of 3 run agents (tools, tool results, long history).
SEGMENT_SLOTS: list[tuple[str, str, float, float]] = [
    ("system", "tool_definitions", 0.15, 3.0),
    ("system", "text", 0.9, 1.5),
    ("user", "text", 1.0, 1.0),
    ("assistant", "text", 0.45, 1.2),
    ("tool", "tool_result", 0.1, 2.5),
    ("user", "code", 0.2, 1.5),
    ("user", "json", 0.15, 1.0),
    ("user", "image", 0.05, 0.8),
]
AGENT_CHANCES = {
    ("system", "tool_definitions"): 0.9,
    ("system", "text"): 0.95,
    ("assistant", "text"): 0.95,
    ("tool", "tool_result"): 0.7,
}


def _hex_ids(rng: np.random.Generator, n: int, prefix: str) -> pa.Array:
    high = rng.integers(0, 2**63, size=n, dtype=np.int64)
    low = rng.integers(0, 2**63, size=n, dtype=np.int64)
    return pa.array([f"{prefix}{a:016x}{b:016x}" for a, b in zip(high.tolist(), low.tolist(), strict=True)])


def build_segments(rng: np.random.Generator, input_tokens: np.ndarray, agent: np.ndarray,
                   embedding: np.ndarray, ok: np.ndarray) -> pa.Array:
    """A `segments` list per event: present slots get lognormal weights, scaled so that
    each list sums to the event's input_tokens exactly (the rest goes to user text)."""
    n = len(input_tokens)
    slots = len(SEGMENT_SLOTS)
    chance = np.array([s[2] for s in SEGMENT_SLOTS])[None, :].repeat(n, axis=0)
    for j, (role, kind, _, _) in enumerate(SEGMENT_SLOTS):
        if (role, kind) in AGENT_CHANCES:
            chance[agent, j] = AGENT_CHANCES[(role, kind)]
    present = rng.random((n, slots)) < chance
    user_text = [s[:2] for s in SEGMENT_SLOTS].index(("user", "text"))
    present[embedding] = False
    present[:, user_text] = True
    weight = present * np.array([s[3] for s in SEGMENT_SLOTS]) * rng.lognormal(0, 0.5, (n, slots))
    share = weight / weight.sum(axis=1, keepdims=True)
    tokens = np.floor(share * input_tokens[:, None]).astype(np.int64)
    tokens[:, user_text] += input_tokens - tokens.sum(axis=1)
    keep = present & (tokens > 0)
    keep[:, user_text] = present[:, user_text]
    keep &= ok[:, None]
    counts = keep.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    roles = np.array([s[0] for s in SEGMENT_SLOTS], dtype=object)[None, :].repeat(n, axis=0)
    kinds = np.array([s[1] for s in SEGMENT_SLOTS], dtype=object)[None, :].repeat(n, axis=0)
    values = pa.StructArray.from_arrays(
        [pa.array(roles[keep].tolist()), pa.array(kinds[keep].tolist()),
         pa.array(tokens[keep], pa.int64())],
        fields=list(SEGMENT_TYPE),
    )
    mask = pa.array(~ok)
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=mask)


def build_batch(rng: np.random.Generator, n: int, start_us: int, span_us: int,
                writer_id: str, segments: bool = False) -> pa.Table:
    """`n` events with start times uniform over [start_us, start_us + span_us)."""
    weights = np.array([m[2] for m in MODELS], dtype=float)
    model_ix = rng.choice(len(MODELS), size=n, p=weights / weights.sum())
    provider = np.array([m[0] for m in MODELS], dtype=object)[model_ix]
    model = np.array([m[1] for m in MODELS], dtype=object)[model_ix]
    in_rate = np.array([m[3] for m in MODELS])[model_ix] / 1e6
    out_rate = np.array([m[4] for m in MODELS])[model_ix] / 1e6
    reasoning_model = np.array([m[5] for m in MODELS])[model_ix]
    caches = np.array([m[6] for m in MODELS])[model_ix]
    context = np.array([m[7] for m in MODELS], dtype=np.int64)[model_ix]
    embedding = model == "text-embedding-3-small"

    ts = np.sort(start_us + rng.integers(0, span_us, size=n, dtype=np.int64))
    input_tokens = np.minimum(rng.lognormal(7.6, 1.2, size=n).astype(np.int64) + 20, context)
    output_tokens = np.where(embedding, 0, rng.lognormal(5.5, 1.0, size=n).astype(np.int64) + 1)
    cache_read = np.where(caches & (rng.random(n) < 0.35),
                          (input_tokens * rng.uniform(0.3, 0.95, size=n)).astype(np.int64), 0)
    cache_write = np.where(caches & (cache_read == 0) & (rng.random(n) < 0.12),
                           (input_tokens * rng.uniform(0.2, 0.8, size=n)).astype(np.int64), 0)
    cache_write_1h = np.where((provider == "anthropic") & (rng.random(n) < 0.2), cache_write // 2, 0)
    reasoning = np.where(reasoning_model, (output_tokens * rng.uniform(0.2, 0.8, size=n)).astype(np.int64), 0)

    failed = rng.random(n) < 0.025
    error_ix = rng.integers(0, len(ERRORS), size=n)
    stream = ~embedding & (rng.random(n) < 0.55)
    latency_us = (rng.lognormal(6.8, 0.7, size=n) * 1000 + output_tokens * 8_000).astype(np.int64)
    latency_us = np.where(failed, (rng.lognormal(5.5, 1.0, size=n) * 1000).astype(np.int64), latency_us)
    ttft_us = np.where(stream & ~failed, (latency_us * rng.uniform(0.05, 0.3, size=n)).astype(np.int64), -1)
    proxy_hit = ~failed & (rng.random(n) < 0.01)
    batch = ~failed & ~proxy_hit & (rng.random(n) < 0.01)

    key_ix = rng.zipf(1.3, size=n) % KEYS
    team_ix = key_ix % TEAMS
    user_ix = rng.zipf(1.2, size=n) % USERS

    # Retries and fallbacks: a failed attempt is followed, in the same trace, by the next
    # event (a retry on the same model or a fallback to another one).
    trace_ids = _hex_ids(rng, n, "t").to_pylist()
    retried = np.flatnonzero(failed[:-1] & (rng.random(n - 1) < 0.6))
    retries = np.zeros(n, dtype=np.int32)
    fallbacks = np.zeros(n, dtype=np.int32)
    for i in retried.tolist():
        trace_ids[i + 1] = trace_ids[i]
        if model_ix[i + 1] == model_ix[i]:
            retries[i + 1] = 1
        else:
            fallbacks[i + 1] = 1

    cached_total = cache_read + cache_write
    uncached = input_tokens - cached_total
    cost = (uncached * in_rate + cache_read * in_rate * 0.1 + cache_write * in_rate * 1.25
            + output_tokens * out_rate)
    cost = np.where(proxy_hit, 0.0, np.where(batch, cost / 2, cost))
    cost = np.where(failed, 0.0, cost)

    tag_a = rng.integers(0, len(TAGS), size=n)
    tag_b = rng.integers(0, len(TAGS), size=n)
    two = rng.random(n) < 0.3
    tags_list = [[TAGS[a], TAGS[b]] if t and a != b else [TAGS[a]]
                 for a, b, t in zip(tag_a.tolist(), tag_b.tolist(), two.tolist(), strict=True)]

    err_class = np.array([e[0] for e in ERRORS], dtype=object)[error_ix]
    err_code = np.array([e[1] for e in ERRORS], dtype=object)[error_ix]
    err_http = np.array([e[2] for e in ERRORS])[error_ix]
    ok = ~failed

    def masked(values: Any, mask: Any, type_: pa.DataType) -> pa.Array:
        return pa.array(values, type=type_, mask=~mask)

    columns: dict[str, Any] = {
        "event_id": _hex_ids(rng, n, "e"),
        "trace_id": pa.array(trace_ids),
        "call_id": None,
        "session_id": None,
        "ts": pa.array(ts, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "end_ts": pa.array(ts + latency_us, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "latency_ms": pa.array(latency_us / 1000.0),
        "ttft_ms": masked(ttft_us / 1000.0, ttft_us >= 0, pa.float64()),
        "call_type": pa.array(np.where(embedding, "embedding", "chat").tolist()),
        "stream": pa.array(stream),
        "status": pa.array(np.where(failed, "failure", "success").tolist()),
        "error_class": masked(err_class.tolist(), failed, pa.string()),
        "error_code": pa.array([c if f else None for c, f in zip(err_code.tolist(), failed.tolist(), strict=True)], pa.string()),
        "http_status": masked(err_http, failed, pa.int32()),
        "provider": pa.array(provider.tolist()),
        "model": pa.array(model.tolist()),
        "model_group": pa.array(model.tolist()),
        "deployment_id": None,
        "api_base_host": None,
        "input_tokens": masked(input_tokens, ok, pa.int64()),
        "output_tokens": masked(output_tokens, ok, pa.int64()),
        "total_tokens": masked(input_tokens + output_tokens, ok, pa.int64()),
        "cache_read_tokens": masked(cache_read, ok, pa.int64()),
        "cache_write_tokens": masked(cache_write, ok, pa.int64()),
        "reasoning_tokens": masked(reasoning, ok, pa.int64()),
        "reported_cost_usd": pa.array(cost),
        "proxy_cache_hit": masked(proxy_hit, ok, pa.bool_()),
        "key_hash": pa.array([f"kh{k:04d}" for k in key_ix.tolist()]),
        "key_alias": pa.array([f"key-{k:03d}" for k in key_ix.tolist()]),
        "team_id": pa.array([f"team-{t:02d}" for t in team_ix.tolist()]),
        "team_alias": pa.array([f"Team {t:02d}" for t in team_ix.tolist()]),
        "org_id": pa.array([f"org-{t % 4}" for t in team_ix.tolist()]),
        "user_id": pa.array([f"user-{u:04d}" for u in user_ix.tolist()]),
        "tags": pa.array(tags_list, pa.list_(pa.string())),
        "route": pa.array(np.where(embedding, "/v1/embeddings", "/v1/chat/completions").tolist()),
        "retries": pa.array(retries),
        "fallbacks": pa.array(fallbacks),
        "max_input_tokens": pa.array(context),
        "privacy_level": pa.array(["standard"] * n),
        "schema_version": pa.array([SCHEMA_VERSION] * n, pa.int32()),
        "llmstats_version": pa.array(["synthetic"] * n),
        "writer_id": pa.array([writer_id] * n),
        "cache_write_1h_tokens": masked(cache_write_1h, ok, pa.int64()),
        "batch": pa.array(batch),
    }
    if segments:
        # Drawn after every other column: a one-batch dataset keeps the same other
        # columns with and without segments.
        columns["segments"] = build_segments(rng, input_tokens, team_ix % 3 == 0, embedding, ok)
        columns["segments_estimated"] = masked(rng.random(n) < 0.02, ok, pa.bool_())
    arrays = []
    for field in EVENT_SCHEMA:
        value = columns.get(field.name)
        arrays.append(pa.nulls(n, field.type) if value is None else value.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


def generate(data_dir: str, events: int, days: int = 90, seed: int = 1,
             batch_size: int = 1_000_000, end: dt.date | None = None,
             segments: bool = False) -> int:
    """Write `events` synthetic events over the `days` days before `end`; returns files written."""
    end = end or dt.date(2026, 11, 20)
    start = dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC) - dt.timedelta(days=days)
    start_us = int(start.timestamp() * 1_000_000)
    span_us = days * 86_400_000_000
    sink = Sink(data_dir)
    rng = np.random.default_rng(seed)
    files = 0
    written = 0
    seq = 0
    while written < events:
        n = min(batch_size, events - written)
        writer_id = f"synthetic{seq % 4}"
        table = build_batch(rng, n, start_us, span_us, writer_id, segments)
        dates = pc.strftime(table.column("ts"), format="%Y-%m-%d")
        for date in pc.unique(dates).to_pylist():
            part = table.filter(pc.equal(dates, date))
            sink.write_table(f"events/date={date}/{writer_id}-{seq:08d}.parquet", part)
            files += 1
        written += n
        seq += 1
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1_000_000)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--segments", action="store_true",
                        help="also fill the prompt breakdown (segments)")
    args = parser.parse_args()
    began = time.perf_counter()
    files = generate(args.data_dir, args.events, args.days, args.seed, args.batch_size,
                     segments=args.segments)
    took = time.perf_counter() - began
    print(f"{args.events} events, {files} files in {took:.1f} s "
          f"({args.events / took:,.0f} events/s)")


if __name__ == "__main__":
    main()
