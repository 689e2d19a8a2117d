"""Where the hot path's time goes: the callback and parts of it, timed call by call in turn.

Each call goes to one of the variants below, in rounds that run every variant once in a
shuffled order, on the objects the real proxy hands a callback, rebuilt for the call (as
in `bench_hot_path.py`: a pydantic ModelResponse, Usage objects, datetimes; the CPU
caches as cold as after LiteLLM built them): every variant sees the same machine at the
same moment, and the differences between their medians are what each part costs. The
do-nothing callback is the floor: what calling any callback costs.
Each repeat is a process of its own (see fresh_process.py for why). With --rate the calls
are paced (events/s, all variants together) and the loop sleeps between them, as
`bench_hot_path.py`'s paced runs do: each call then starts on a CPU that was idle.

    .venv/bin/python benchmarks/bench_hot_path_split.py [--events 60000] [--repeats 3] [--rate 1000]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before anything imports LiteLLM: use the price map it ships, never download one.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from llmstats.plugin.config import load_settings
from llmstats.plugin.extract import extract_event
from llmstats.plugin.litellm_logger import LLMStatsLogger
from llmstats.plugin.payload_fields import METADATA_FIELDS, PAYLOAD_FIELDS
from llmstats.plugin.raw_row import raw_line
from llmstats.plugin.row_extras import tool_call_count
from llmstats.plugin.spool_line import encode_line

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*, tests.support.*
from benchmarks.fresh_process import child_result
from benchmarks.payloads import fresh_call, litellm_version, load_calls, wait_for_turn

Variant = Callable[[dict[str, Any], Any, Any, Any], object]


class _RecentIds:
    """The duplicate tables the callback kept on the loop until the converter took that
    job over (commit fd0944f): two generations of 16,384 hashes, filled as after a long run."""

    def __init__(self, size: int = 16_384) -> None:
        self._size = size
        self._current: set[int] = set()
        self._previous: set[int] = {hash(f"earlier-{i}") for i in range(size)}
        for index in range(size):
            self.add(f"recent-{index}")

    def add(self, key: str) -> bool:
        hashed = hash(key)
        if hashed in self._current or hashed in self._previous:
            return False
        self._current.add(hashed)
        if len(self._current) >= self._size:
            self._previous, self._current = self._current, set()
        return True


def variants(logger: LLMStatsLogger) -> dict[str, Variant]:
    hasher = logger._hasher
    writer = logger.writer
    assert writer is not None
    events, calls = _RecentIds(), _RecentIds()

    def callback_before(kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> object:
        """The peer: the callback as it was before the fast row (reference row, duplicate
        look-ups on the loop, the same spool)."""
        row = extract_event(kwargs, response, status="success", privacy="standard",
                            hash_id=hasher, start_time=start, end_time=end)  # fmt: skip
        if row is None or not events.add(row["event_id"]):
            return None
        calls.add(row["call_id"])
        return writer.submit(row)

    def callback(kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> object:
        return logger._capture(kwargs, response, "success", start, end)

    def do_nothing(kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> object:
        return None

    def fast_row(kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> object:
        return raw_line(kwargs, response, status="success", privacy="standard", hash_id=hasher,
                        count_here=False)  # fmt: skip

    def fast_row_tools(kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> object:
        return raw_line(kwargs, response, status="success", privacy="standard", hash_id=hasher)

    def tool_calls(kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> object:
        return tool_call_count(response)

    def reference_row(kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> object:
        return extract_event(kwargs, response, status="success", privacy="standard",
                             hash_id=hasher, start_time=start, end_time=end)  # fmt: skip

    def reference_encoded(kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> object:
        return encode_line(reference_row(kwargs, response, start, end))  # type: ignore[arg-type,unused-ignore]

    def field_reads(kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> object:
        payload = kwargs["standard_logging_object"]
        values = tuple(map(payload.get, PAYLOAD_FIELDS))
        return tuple(map(values[PAYLOAD_FIELDS.index("metadata")].get, METADATA_FIELDS))

    return {
        "callback (fast row, encode, spool)": callback,
        "do-nothing callback": do_nothing,
        "peer: the callback before (reference row, dedupe)": callback_before,
        "fast row and its line (raw_row.raw_line)": fast_row,
        "fast row, tool calls counted on the loop": fast_row_tools,
        "tool calls of the response alone": tool_calls,
        "reference row (extract_event)": reference_row,
        "reference row and its line": reference_encoded,
        "the allow-listed reads alone": field_reads,
    }


def run_child(events: int, rate: float | None) -> dict[str, float]:
    records = load_calls()
    with tempfile.TemporaryDirectory() as data_dir:
        logger = LLMStatsLogger(load_settings(data_dir=data_dir, segments=False))
        assert logger.writer is not None
        chosen = list(variants(logger).items())
        timings: dict[str, list[float]] = {name: [] for name, _ in chosen}
        clock = time.perf_counter_ns
        # Each round runs every variant once, in a shuffled order: a variant that follows
        # another finds the code they share warm in the CPU's caches, so a fixed order
        # would favour whichever variant comes after its closest relative.
        shuffle = random.Random(0).shuffle
        began = time.perf_counter()
        for first in range(0, events, len(chosen)):
            shuffle(chosen)
            for index, (name, variant) in enumerate(chosen, first):
                if rate is not None:
                    wait_for_turn(began, index, rate)
                # A different recording each call (9 variants, 37 recordings).
                kwargs, response, start_time, end_time = fresh_call(records[index % len(records)])
                start = clock()
                variant(kwargs, response, start_time, end_time)
                timings[name].append((clock() - start) / 1000.0)
        assert logger.errors == 0, "the callback raised during the benchmark"
        assert logger.flush(60)
    return {name: statistics.median(values) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=60_000, help="calls per process, all variants")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rate", type=float, default=None, help="pace the calls (events/s)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.events, args.rate)))
        return
    runs: dict[str, list[float]] = {}
    child = ["--events", str(args.events)]
    if args.rate is not None:
        child += ["--rate", str(args.rate)]
    for _ in range(args.repeats):
        for name, median in child_result(__file__, *child).items():
            runs.setdefault(name, []).append(median)
    pace = "back to back" if args.rate is None else f"paced at {args.rate:g}/s"
    print(f"per call on recorded proxy objects (litellm {litellm_version()}), {pace}, "
          f"median of {args.repeats} processes' medians (min-max):")  # fmt: skip
    for name, medians in runs.items():
        print(f"  {name:<46} {statistics.median(medians):6.1f} µs "
              f"({min(medians):.1f}-{max(medians):.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
