"""Hot path: time spent inside `async_log_success_event` per event, on the objects the real
proxy hands a callback (benchmarks/payloads.py: a pydantic ModelResponse, Usage objects,
datetimes; rebuilt for every call).

Goal (issue 23, on those objects): median ≤ 20 µs, p99 ≤ 100 µs, back to back and paced
at 1,000/s and 2,000/s, with the writer thread running (it competes for the GIL exactly as
in the proxy), and with the segmenter thread counting every prompt. Beside each figure,
the same calls to a callback that does nothing (LiteLLM's CustomLogger with an empty
async_log_success_event): what any callback costs on this machine at that moment, the
floor the figure stands on. The coroutine is driven with `send(None)`, which is what the
event loop does, without counting the loop's own scheduling.

Configurations, interleaved, each repeat in a fresh process: calls back to back (the
writer alone keeps up with any rate), and paced at each --rates with segments off and on.
Pacing matters: the loop sleeps between calls, as a proxy's is idle between requests, and
a call that starts on an idle vCPU finds its code and data cold.

    .venv/bin/python benchmarks/bench_hot_path.py [--events 50000] [--paced-events 10000]
        [--rates 1000,2000] [--repeats 5]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before anything imports LiteLLM: use the price map it ships, never download one.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import gc
import json
import statistics
import tempfile
import time
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from llmstats.plugin.accounts import balanced
from llmstats.plugin.config import load_settings
from llmstats.plugin.litellm_logger import SEGMENTED_CALL_TYPES, LLMStatsLogger
from llmstats.plugin.payload_fields import call_type_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*, tests.support.*
from benchmarks.fresh_process import child_result
from benchmarks.payloads import fresh_call, litellm_version, load_calls, load_records, wait_for_turn


class DoNothing(CustomLogger):
    """The peer: a callback that does nothing at all."""

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        return None


def run_once(
    events: int, data_dir: str, segments: bool, rate: float | None, peer: bool = False
) -> list[float]:
    """Per-call wall time in µs; `rate` paces the calls (events/s), None fires them back to
    back; `peer`: the do-nothing callback instead of llmstats'."""
    # The settings a proxy runs with (flush every 60 s or 50,000 rows, conversion in a
    # child process), so the writer and segmenter threads do what they do there.
    settings = load_settings(data_dir=data_dir, segments=segments)
    logger: CustomLogger = DoNothing() if peer else LLMStatsLogger(settings)
    calls = load_calls()
    timings = []
    clock = time.perf_counter_ns
    gc.collect()
    began = time.perf_counter()
    for index in range(events):
        # In LiteLLM the payload is built just before the callback runs, so it is still in
        # the CPU caches: build it right before the call (untimed), not all up front.
        if rate is not None:
            wait_for_turn(began, index, rate)
        kwargs, response, start_time, end_time = fresh_call(calls[index % len(calls)])
        coroutine = logger.async_log_success_event(kwargs, response, start_time, end_time)
        start = clock()
        try:
            coroutine.send(None)
        except StopIteration:
            pass
        timings.append((clock() - start) / 1000.0)
    if isinstance(logger, LLMStatsLogger):
        check(logger, events, segments)
    return timings


def check(logger: LLMStatsLogger, events: int, segments: bool) -> None:
    """Every call became a row (and, with segments on, was counted)."""
    assert logger.errors == 0, "the callback raised during the benchmark"
    assert logger.flush(60)
    writer = logger.writer
    assert writer is not None and writer.stats.written == events, writer.stats
    beat = writer.heartbeat_document()
    assert balanced(beat) and beat["held"] == 0, beat
    if segments:
        records = load_records()
        segmented = sum(
            call_type_of(
                records[i % len(records)]["kwargs"]["standard_logging_object"]["call_type"]
            )
            in SEGMENTED_CALL_TYPES
            for i in range(events)
        )
        assert beat["segments_counted"] + beat["segments_estimated"] == segmented, beat
    writer.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def configurations(args: argparse.Namespace) -> dict[str, tuple[int, bool, float | None]]:
    # Back to back at ~50,000 calls a second no segmenter keeps up (it skips, by design):
    # that configuration runs with segments off, as before.
    found: dict[str, tuple[int, bool, float | None]] = {
        "back to back, segments off": (args.events, False, None),
    }
    for rate in args.rates:
        for segments in (False, True):
            name = f"{rate:g}/s, segments {'on' if segments else 'off'}"
            found[name] = (args.paced_events, segments, rate)
    return found


def run_configurations(args: argparse.Namespace) -> dict[str, list[float]]:
    """One run of each configuration and of its do-nothing peer, one after the other:
    (median, p99, p99.9) µs for each, then the peer's."""
    results = {}
    for name, (events, segments, rate) in configurations(args).items():
        figures: list[float] = []
        for peer in (False, True):
            with tempfile.TemporaryDirectory() as data_dir:
                timings = run_once(events, data_dir, segments, rate, peer)
            figures += [
                statistics.median(timings),
                percentile(timings, 0.99),
                percentile(timings, 0.999),
            ]
        results[name] = figures
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000, help="events per back-to-back run")
    parser.add_argument("--paced-events", type=int, default=10_000, help="events per paced run")
    parser.add_argument(
        "--rates", type=lambda text: [float(r) for r in text.split(",")], default=[1000.0, 2000.0],
        help="paced runs: events/s, comma-separated",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_configurations(args)))
        return
    # Each repeat is a process of its own (see fresh_process.py); the configurations are
    # interleaved within each process, so a noisy neighbour hits all of them alike.
    child = ["--events", str(args.events), "--paced-events", str(args.paced_events),
             "--rates", ",".join(f"{r:g}" for r in args.rates)]  # fmt: skip
    results: dict[str, list[list[float]]] = {}
    for _ in range(args.repeats):
        for name, figures in child_result(__file__, *child).items():
            results.setdefault(name, []).append(list(figures))
    print(f"hot path on recorded proxy objects (litellm {litellm_version()}), medians over "
          f"{args.repeats} runs, one process each (min-max of the runs); do-nothing callback:")  # fmt: skip
    for name, runs in results.items():
        median, p99, p999, peer, peer_p99, _ = (
            statistics.median(r[i] for r in runs) for i in range(6)
        )
        spread = [f"{min(r[i] for r in runs):.1f}-{max(r[i] for r in runs):.1f}" for i in range(2)]
        print(
            f"  {name:<28} median {median:6.1f} µs ({spread[0]})  "
            f"p99 {p99:7.1f} µs ({spread[1]})  p99.9 {p999:8.1f} µs  "
            f"| do-nothing median {peer:5.2f} µs  p99 {peer_p99:6.2f} µs"
        )


if __name__ == "__main__":
    main()
