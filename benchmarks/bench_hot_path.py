"""Hot path: time spent inside `async_log_success_event` per event, on recorded payloads.

Goal (issue 2): median ≤ 20 µs, p99 ≤ 100 µs, with the writer thread running (it competes
for the GIL exactly as in the proxy). Goal (issue 4): the same with the segmenter thread
counting every prompt. The coroutine is driven with `send(None)`, which is what the event
loop does, without counting the loop's own scheduling.

Three configurations, interleaved, each repeat in a fresh process: calls back to back (the
writer alone keeps up with any rate), and paced at --rate with segments off and on. Pacing matters once the segmenter
runs: it does real CPU work per prompt, and a burst of 30,000 calls a second would measure
two threads fighting for one core rather than what a proxy's event loop sees.

    .venv/bin/python benchmarks/bench_hot_path.py [--events 50000] [--paced-events 10000]
        [--rate 1000] [--repeats 5]
"""

from __future__ import annotations

import os

# Before anything imports LiteLLM: use the price map it ships, never download one.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import gc
import json
import statistics
import tempfile
import time

from llmstats.plugin.config import load_settings
from llmstats.plugin.extract import call_type_of
from llmstats.plugin.litellm_logger import SEGMENTED_CALL_TYPES, LLMStatsLogger

from fresh_process import child_result
from payloads import fresh_call, load_records, wait_for_turn


def run_once(events: int, data_dir: str, segments: bool, rate: float | None) -> list[float]:
    """Per-call wall time in µs; `rate` paces the calls (events/s), None fires them back to back."""
    # The settings a proxy runs with (flush every 60 s or 50,000 rows, conversion in a
    # child process), so the writer and segmenter threads do what they do there.
    settings = load_settings(data_dir=data_dir, segments=segments)
    logger = LLMStatsLogger(settings)
    records = load_records()
    timings = []
    clock = time.perf_counter_ns
    gc.collect()
    began = time.perf_counter()
    for index in range(events):
        # In LiteLLM the payload is built just before the callback runs, so it is still in
        # the CPU caches: copy it right before the call (untimed), not all up front.
        if rate is not None:
            wait_for_turn(began, index, rate)
        kwargs, response = fresh_call(records[index % len(records)])
        coroutine = logger.async_log_success_event(kwargs, response, None, None)
        start = clock()
        try:
            coroutine.send(None)
        except StopIteration:
            pass
        timings.append((clock() - start) / 1000.0)
    assert logger.errors == 0, "the callback raised during the benchmark"
    assert logger.flush(60)
    writer = logger.writer
    assert writer is not None and writer.stats.written == events, writer.stats
    if segments:
        segmented = sum(
            call_type_of(
                records[i % len(records)]["kwargs"]["standard_logging_object"]["call_type"]
            )
            in SEGMENTED_CALL_TYPES
            for i in range(events)
        )
        beat = writer.heartbeat_document()
        assert beat["segments_counted"] + beat["segments_estimated"] == segmented, beat
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_configurations(args: argparse.Namespace) -> dict[str, tuple[float, float, float]]:
    """One run of each configuration, back to back: (median, p99, p99.9) µs for each."""
    configurations = {
        "burst, segments off": (args.events, False, None),
        f"{args.rate:g}/s, segments off": (args.paced_events, False, args.rate),
        f"{args.rate:g}/s, segments on": (args.paced_events, True, args.rate),
    }
    results = {}
    for name, (events, segments, rate) in configurations.items():
        with tempfile.TemporaryDirectory() as data_dir:
            timings = run_once(events, data_dir, segments, rate)
        results[name] = (
            statistics.median(timings),
            percentile(timings, 0.99),
            percentile(timings, 0.999),
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000, help="events per burst run")
    parser.add_argument("--paced-events", type=int, default=10_000, help="events per paced run")
    parser.add_argument("--rate", type=float, default=1000.0, help="paced runs: events/s")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_configurations(args)))
        return
    # Each repeat is a process of its own (see fresh_process.py); the configurations are
    # interleaved within each process, so a noisy neighbour hits all of them alike.
    child = ["--events", str(args.events), "--paced-events", str(args.paced_events),
             "--rate", str(args.rate)]  # fmt: skip
    results: dict[str, list[tuple[float, float, float]]] = {}
    for _ in range(args.repeats):
        for name, figures in child_result(__file__, *child).items():
            results.setdefault(name, []).append(tuple(figures))
    print(f"hot path, medians over {args.repeats} runs, one process each (min-max of the runs):")
    for name, runs in results.items():
        median, p99, p999 = (statistics.median(r[i] for r in runs) for i in range(3))
        spread = [f"{min(r[i] for r in runs):.1f}-{max(r[i] for r in runs):.1f}" for i in range(2)]
        print(
            f"  {name:<28} median {median:6.1f} µs ({spread[0]})  "
            f"p99 {p99:7.1f} µs ({spread[1]})  p99.9 {p999:8.1f} µs"
        )


if __name__ == "__main__":
    main()
