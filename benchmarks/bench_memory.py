"""Steady memory overhead of capture at a fixed event rate.

Goal (issue 2): ≤ 50 MB at 1,000 events/s for 10 minutes. One process imports LiteLLM and
llmstats, measures its RSS (the baseline), then drives the callback at the given rate with
the writer thread flushing on its default schedule, sampling RSS every 5 s. Overhead is the
peak RSS minus the baseline; the growth over the second half tells a leak from a plateau.

    .venv/bin/python benchmarks/bench_memory.py [--rate 1000] [--minutes 10]
"""

from __future__ import annotations

import os

# Before anything imports LiteLLM (payloads.py comes too late): never fetch prices.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import copy
import gc
import tempfile
import time
import uuid

from llmstats.plugin.config import load_settings
from llmstats.plugin.litellm_logger import LLMStatsLogger

from payloads import load_records


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--flush-seconds", type=float, default=60.0)
    args = parser.parse_args()
    records = load_records()
    templates = [(r["kwargs"], r["response"]) for r in records]
    with tempfile.TemporaryDirectory() as data_dir:
        logger = LLMStatsLogger(load_settings(data_dir=data_dir, flush_seconds=args.flush_seconds))
        gc.collect()
        baseline = rss_mb()
        samples: list[tuple[float, float]] = []
        start = time.monotonic()
        sent = 0
        next_sample = start
        duration = args.minutes * 60
        while (now := time.monotonic()) - start < duration:
            due = int((now - start) * args.rate)
            while sent < due:
                kwargs, response = templates[sent % len(templates)]
                call = copy.copy(kwargs)
                call["standard_logging_object"] = dict(kwargs["standard_logging_object"])
                call["standard_logging_object"]["litellm_call_id"] = uuid.uuid4().hex
                logger.log_success_event(call, response, None, None)
                sent += 1
            if now >= next_sample:
                samples.append((now - start, rss_mb()))
                next_sample += 5
            time.sleep(0.005)
        logger.flush(60)
        writer = logger.writer
        assert writer is not None and logger.errors == 0
        peak = max(mb for _, mb in samples)
        half = [mb for t, mb in samples if t >= duration / 2]
        print(
            f"memory at {args.rate} events/s for {args.minutes:g} min ({sent:,} events, "
            f"{writer.stats.written:,} written): baseline {baseline:.1f} MB, peak {peak:.1f} MB, "
            f"overhead {peak - baseline:.1f} MB, second-half growth {half[-1] - half[0]:+.1f} MB"
        )


if __name__ == "__main__":
    main()
