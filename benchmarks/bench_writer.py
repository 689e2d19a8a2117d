"""Writer throughput: events per second from callback to Parquet, spool on, one process.

Goal (issue 2): ≥ 50,000 events/s sustained. The clock runs from the first callback to the
moment the last event is in a Parquet file (flush returns), so spooling, parsing, encoding,
fsync and rename are all inside it.

    .venv/bin/python benchmarks/bench_writer.py [--events 300000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from llmstats.plugin.config import load_settings
from llmstats.plugin.litellm_logger import LLMStatsLogger

from payloads import fresh_calls, load_records


def run_once(events: int, data_dir: str) -> float:
    logger = LLMStatsLogger(load_settings(data_dir=data_dir, flush_seconds=1.0))
    calls = fresh_calls(load_records(), events)
    start = time.perf_counter()
    for kwargs, response in calls:
        logger.log_success_event(kwargs, response, None, None)
    assert logger.flush(120)
    elapsed = time.perf_counter() - start
    writer = logger.writer
    assert writer is not None and writer.stats.written == events, writer.stats
    return events / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rates = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as data_dir:
            rates.append(run_once(args.events, data_dir))
    print(
        f"writer: median {statistics.median(rates):,.0f} events/s "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f}) over {args.repeats} runs of {args.events}"
    )


if __name__ == "__main__":
    main()
