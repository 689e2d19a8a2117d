"""Writer throughput: events per second into Parquet, spool on, one process.

Goal (issue 2): ≥ 50,000 events/s sustained. Default settings (segments closed at 50,000
rows, converted by a child process per round, whose start-up is inside the clock). Two
figures:
- writer: spool lines already built (as the callback hands them over: raw_row.event_line)
  → `submit_line()` (into the mapped spool) → writer thread → converter child (parse, encode, fsync, rename).
  The clock stops when the last row is in a Parquet file.
- callback: the same, starting from LiteLLM's kwargs (allow-list extraction included).

    .venv/bin/python benchmarks/bench_writer.py [--events 300000] [--repeats 5]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before anything imports LiteLLM: use the price map it ships, never download one.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import statistics
import tempfile
import time
import uuid
from typing import Any

from llmstats.plugin.config import load_settings
from llmstats.plugin.identity import Hasher
from llmstats.plugin.litellm_logger import LLMStatsLogger
from llmstats.plugin.raw_row import event_line
from llmstats.plugin.writer import EventWriter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*, tests.support.*
from benchmarks.payloads import load_records


def writer_rate(lines: list[bytes], data_dir: str) -> float:
    writer = EventWriter(load_settings(data_dir=data_dir))
    writer.start()
    start = time.perf_counter()
    for line in lines:
        writer.submit_line(line)
    assert writer.flush(120)
    elapsed = time.perf_counter() - start
    assert writer.stats.written == len(lines), writer.stats
    writer.close()
    return len(lines) / elapsed


def callback_rate(calls: list[tuple[dict, object]], data_dir: str) -> float:
    logger = LLMStatsLogger(load_settings(data_dir=data_dir))
    start = time.perf_counter()
    for kwargs, response in calls:
        logger.log_success_event(kwargs, response, None, None)
    assert logger.flush(120)
    elapsed = time.perf_counter() - start
    writer = logger.writer
    assert writer is not None and writer.stats.written == len(calls), writer.stats
    # Stop the writer thread before its temp dir goes: a live one would keep waking up
    # (and fail its heartbeat) during the next repeats.
    writer.close()
    return len(calls) / elapsed


def distinct_calls(records: list[dict[str, Any]], count: int) -> list[tuple[dict, object]]:
    """`count` calls cycling through the recordings, each with its own event id.

    Only the two dicts that carry ids are copied; the rest is shared, read-only, as
    extraction never writes to a payload. (Deep copies, as payloads.fresh_calls makes,
    cost ~0.35 ms and ~25 kB each: 300,000 of them per repeat took minutes and GBs.)
    The same list serves every repeat: each repeat has a new logger, so its
    de-duplication window starts empty.
    """
    calls = []
    for index in range(count):
        record = records[index % len(records)]
        kwargs = dict(record["kwargs"])
        payload = kwargs["standard_logging_object"] = dict(kwargs["standard_logging_object"])
        payload["id"] = str(uuid.uuid4())
        payload["litellm_call_id"] = kwargs["litellm_call_id"] = str(uuid.uuid4())
        calls.append((kwargs, record["response"]))
    return calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    calls = distinct_calls(load_records(), args.events)
    hasher = Hasher(b"bench")
    events = [
        event_line(kwargs, response, status="success", privacy="standard", hash_id=hasher)
        for kwargs, response in calls
    ]
    lines = [event[1] for event in events if event is not None]
    writer_rates, callback_rates = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as data_dir:
            writer_rates.append(writer_rate(lines, data_dir))
        with tempfile.TemporaryDirectory() as data_dir:
            callback_rates.append(callback_rate(calls, data_dir))
    for name, rates in (("writer", writer_rates), ("callback → Parquet", callback_rates)):
        print(
            f"{name}: median {statistics.median(rates):,.0f} events/s "
            f"(min {min(rates):,.0f}, max {max(rates):,.0f}) over {args.repeats} runs of {args.events}"
        )


if __name__ == "__main__":
    main()
