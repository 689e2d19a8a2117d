"""Segment counting throughput: prompt tokens per second per core, exact and estimated.

Goal (issue 4): know what exact counting costs. Prompts are the recorded proxy payloads
(chat with tools, long system prompts) plus a synthetic 20k-token prompt mixing prose,
fenced code and JSON. CPU time of the counting thread is what is divided by, so the figure
is per core; the peer is the character estimate the segmenter falls back to under load.

    .venv/bin/python benchmarks/bench_segments.py [--jobs 3000] [--repeats 5]
"""

from __future__ import annotations

import os

# Before anything imports LiteLLM: use the price map it ships, never download one.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import json
import statistics
import time
from typing import Any

from llmstats.plugin.extract import call_type_of
from llmstats.plugin.segmenter import Segmenter
from llmstats.plugin.segments import exact_tokens

from payloads import load_records

PROSE = "The quarterly review covers revenue, churn and the roadmap for the next release. "
CODE = "```python\ndef handler(event):\n    total = sum(x['qty'] for x in event['items'])\n    return total\n```\n"
DATA = json.dumps({"items": [{"sku": f"sku-{i}", "qty": i, "price": i * 1.5} for i in range(40)]})


def big_prompt() -> list[dict[str, Any]]:
    """About 20,000 tokens: a long system prompt, pasted code and data, a question."""
    return [
        {"role": "system", "content": PROSE * 600},
        {"role": "user", "content": (CODE * 60) + DATA * 10},
        {"role": "user", "content": "Summarise the above in three bullet points."},
    ]


def recorded_prompts() -> list[tuple[Any, Any]]:
    prompts = []
    for record in load_records():
        payload = record["kwargs"]["standard_logging_object"]
        if call_type_of(payload["call_type"]) == "chat":
            prompts.append(
                (payload["messages"], (payload.get("model_parameters") or {}).get("tools"))
            )
    return prompts


def rate(prompts: list[tuple[Any, Any]], jobs: int, estimate: bool) -> tuple[float, int]:
    """(tokens per CPU-second, tokens) for `jobs` prompts counted on this thread."""
    segmenter = Segmenter()
    for index in range(jobs):
        messages, tools = prompts[index % len(prompts)]
        segmenter.offer(str(index), messages, tools, None)
    started = time.thread_time()
    segmenter.drain(estimate=estimate)
    spent = time.thread_time() - started
    counts = segmenter.take([str(i) for i in range(jobs)])
    tokens = sum(t for hit in counts if hit for _, _, t in hit[0])
    return tokens / spent, tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    exact_tokens("warm the encoder up")
    workloads = {
        "recorded proxy prompts": recorded_prompts(),
        "20k-token prompt": [(big_prompt(), None)],
    }
    for name, prompts in workloads.items():
        jobs = args.jobs if name.startswith("recorded") else max(1, args.jobs // 30)
        exact = [rate(prompts, jobs, estimate=False) for _ in range(args.repeats)]
        cheap = [rate(prompts, jobs, estimate=True) for _ in range(args.repeats)]
        print(
            f"{name}: exact {statistics.median(r for r, _ in exact) / 1e6:.2f} M tokens/s per core, "
            f"estimate {statistics.median(r for r, _ in cheap) / 1e6:.2f} M tokens/s "
            f"({exact[0][1] // jobs:,} tokens per prompt, {jobs} prompts x {args.repeats} runs)"
        )


if __name__ == "__main__":
    main()
