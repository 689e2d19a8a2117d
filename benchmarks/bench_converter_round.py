"""What a converter round costs: CPU of the child process the writer starts per round.

The proxy's writer starts `python -m llmstats.plugin.conversion_round` once a round (a minute by
default) when there is work; its start-up (the interpreter, pyarrow) is paid every round,
whatever the round holds. This script measures the child's user + system CPU for rounds of
a few and of many events (recorded proxy payloads through the callback, segments on, as a
proxy runs), and splits it into a fixed part per round and a part per event by a straight
line through the two medians.

    .venv/bin/python benchmarks/bench_converter_round.py [--small 100] [--large 5000]
        [--repeats 5]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before anything imports LiteLLM: use the price map it ships, never download one.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import platform
import statistics
import tempfile

from bench_writer import distinct_calls

from llmstats.plugin.config import load_settings
from llmstats.plugin.litellm_logger import LLMStatsLogger

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*, tests.support.*
from benchmarks.payloads import load_records


def children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def round_cpu(first: list[tuple[dict, object]], calls: list[tuple[dict, object]]) -> float:
    """Child CPU seconds of the round that converts `calls` (after a round for `first`,
    which also looks for dead writers' spools, as a writer's first round does)."""
    with tempfile.TemporaryDirectory() as data_dir:
        logger = LLMStatsLogger(load_settings(data_dir=data_dir, flush_seconds=3600))
        writer = logger.writer
        assert writer is not None
        for kwargs, response in first:
            logger.log_success_event(kwargs, response, None, None)
        assert writer.flush(120)
        for kwargs, response in calls:
            logger.log_success_event(kwargs, response, None, None)
        before = children_cpu()
        assert writer.flush(120)
        spent = children_cpu() - before
        assert writer.stats.written == len(first) + len(calls), writer.stats
        writer.close()
        return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    records = load_records()
    sizes = (args.small, args.large)
    calls = {size: distinct_calls(records, 2 * size) for size in sizes}
    spent: dict[int, list[float]] = {size: [] for size in sizes}
    for _ in range(args.repeats):
        for size in sizes:  # interleaved
            spent[size].append(round_cpu(calls[size][:size], calls[size][size:]))
    medians = {size: statistics.median(values) for size, values in spent.items()}
    per_event = (medians[args.large] - medians[args.small]) / (args.large - args.small)
    fixed = medians[args.small] - per_event * args.small
    print(f"{platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    for size in sizes:
        values = spent[size]
        print(
            f"round of {size:,} events: child CPU median {1000 * medians[size]:.0f} ms "
            f"(min {1000 * min(values):.0f}, max {1000 * max(values):.0f}) over {args.repeats}"
        )
    print(f"fixed per round {1000 * fixed:.0f} ms, per event {1000 * per_event:.3f} ms")


if __name__ == "__main__":
    main()
