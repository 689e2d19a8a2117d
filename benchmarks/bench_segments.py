"""Segment counting throughput: prompt tokens per second per core.

Goal (issue 4): know what counting costs. Prompts are the recorded proxy payloads (chat
with tools, long system prompts) plus a synthetic 20k-token prompt mixing prose, fenced
code and JSON. CPU time of the counting thread is what is divided by, so the figure is per
core. Three ways, through the segmenter as it runs (splitting, kinds, apportioning and the
counts file included):
- whole: every segment's text through the tokenizer;
- measured (what the segmenter does): whole up to 2,000 characters, evenly spaced samples
  beyond, the long texts of one prompt sharing one budget, the prompts of a batch in one
  tokenizer call (segments.count_prompts), with the largest share difference to `whole`;
  every text as if never seen (the segmenter keeps counts of long texts it saw lately,
  which would make repeated prompts nearly free: printed apart as "measured, seen
  before");
- estimate: four characters a token, the fallback under load.

    .venv/bin/python benchmarks/bench_segments.py [--jobs 3000] [--repeats 5]
"""

from __future__ import annotations

import os
import sys

# Before anything imports LiteLLM: use the price map it ships, never download one.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from llmstats.plugin import segments
from llmstats.plugin.payload_fields import call_type_of
from llmstats.plugin.segmenter import Segmenter
from llmstats.plugin.segments import exact_tokens, split_prompt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*, tests.support.*
from benchmarks.payloads import load_records

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


def rate(
    prompts: list[tuple[Any, Any]], jobs: int, method: str
) -> tuple[float, dict[str, list[int]]]:
    """(prompt tokens per CPU-second, shares per event) for `jobs` prompts counted on this
    thread by `method` (see the module's docstring). Tokens are the prompts' whole counts,
    the same for every method, so the rates compare what a core gets through."""
    tokens = sum(prompt_tokens(*prompts[index % len(prompts)]) for index in range(jobs))
    with tempfile.TemporaryDirectory() as folder:
        # No budget: the jobs are queued all at once, which would send most of them down
        # the estimate path and make every method measure the estimate.
        unbounded = 1 << 62
        segmenter = Segmenter(
            Path(folder),
            counter=exact_tokens if method == "whole" else None,
            cpu_share=float("inf"),
            estimate_above_chars=unbounded,
            max_queued_chars=unbounded,
        )
        for index in range(jobs):
            messages, tools = prompts[index % len(prompts)]
            payload = {"messages": messages, "model_parameters": {"tools": tools}}
            segmenter.incoming.append((1, index, (str(index), payload, 10_000, False, None)))
        segments._known.clear()
        # "measured": no text counts as seen before (the cache is for long texts only).
        known_min = segments.KNOWN_MIN_CHARS
        segments.KNOWN_MIN_CHARS = unbounded if method == "measured" else known_min
        try:
            started = time.thread_time()
            segmenter.drain(estimate=method == "estimate")
            spent = time.thread_time() - started
        finally:
            segments.KNOWN_MIN_CHARS = known_min
        lines = [json.loads(line) for line in (Path(folder) / "00000001.counts").open("rb")]
    shares = {line["event_id"]: [s["tokens"] for s in line["segments"]] for line in lines}
    return tokens / spent, shares


def prompt_tokens(messages: Any, tools: Any) -> int:
    return sum(exact_tokens(p[2]) for p in split_prompt(messages, tools) if isinstance(p[2], str))


def worst_share_gap(a: dict[str, list[int]], b: dict[str, list[int]]) -> float:
    """Largest difference of one segment's share (percentage points of 10,000 tokens)."""
    return max(abs(x - y) for key in a for x, y in zip(a[key], b[key], strict=True)) / 100


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
        figures = {}
        for label in ("whole", "measured", "measured, seen before", "estimate"):
            runs = [rate(prompts, jobs, label) for _ in range(args.repeats)]
            figures[label] = (statistics.median(r for r, _ in runs), runs[0][1])
        gap = worst_share_gap(figures["whole"][1], figures["measured"][1])
        guess = worst_share_gap(figures["whole"][1], figures["estimate"][1])
        print(
            f"{name} ({jobs} prompts x {args.repeats} runs): "
            + ", ".join(
                f"{label} {r / 1e6:.2f} M tokens/s per core" for label, (r, _) in figures.items()
            )
            + f"; largest share gap to whole: measured {gap:.2f} pp, estimate {guess:.2f} pp"
        )


if __name__ == "__main__":
    main()
