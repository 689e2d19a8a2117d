"""Steady memory overhead of capture at a fixed event rate, in a process like the proxy's.

Goal (issue 2): ≤ 50 MB at 1,000 events/s for 10 minutes, default settings (segments on).

The baseline is what the proxy process holds before llmstats exists: LiteLLM and its
proxy server imported (`litellm --config` imports both before it loads a callback). Then
llmstats is imported, the callback created and driven at the given rate with recorded
proxy payloads, the writer flushing on its default schedule (a converter child process per
round), and the RSS sampled every 5 s. Overhead = peak RSS − baseline; the growth over the
second half tells a leak from a plateau.

Two more figures, printed beside it:
- the same overhead measured from a baseline that already holds LiteLLM's own cl100k
  encoding, which a proxy loads as soon as it serves a streaming or an Anthropic call
  (llmstats counts with that very object, so in such a proxy the tokenizer is not ours);
- the peak RSS of the converter child processes (they come and go once a round; they are
  not part of the proxy process, but they are memory the machine needs for a moment).

    .venv/bin/python benchmarks/bench_memory.py [--rate 1000] [--minutes 10]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before anything imports LiteLLM: use the price map it ships, never download one.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import copy
import gc
import tempfile
import time
import uuid

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*, tests.support.*


def memory_mb() -> dict[str, float]:
    """VmRSS (all resident pages) and RssAnon (the private part) of this process."""
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile"):
                found[name] = int(value.split()[0]) / 1024
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--flush-seconds", type=float, default=60.0)
    args = parser.parse_args()

    import litellm
    import litellm.proxy.proxy_server  # noqa: F401

    from benchmarks.payloads import load_records

    records = load_records()
    templates = [(r["kwargs"], r["response"]) for r in records]
    gc.collect()
    baseline = memory_mb()

    from litellm._lazy_imports import get_default_encoding

    get_default_encoding()  # what LiteLLM loads itself once it counts a stream's tokens
    gc.collect()
    with_encoding = memory_mb()

    from llmstats.plugin.config import load_settings
    from llmstats.plugin.litellm_logger import LLMStatsLogger

    with tempfile.TemporaryDirectory() as data_dir:
        logger = LLMStatsLogger(load_settings(data_dir=data_dir, flush_seconds=args.flush_seconds))
        samples: list[tuple[float, dict[str, float]]] = []
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
                samples.append((now - start, memory_mb()))
                next_sample += 5
            time.sleep(0.005)
        assert logger.flush(120)
        writer = logger.writer
        assert writer is not None and logger.errors == 0
        assert writer.stats.written == sent, (writer.stats.written, sent)
        segmenter = writer.segmenter
        assert segmenter is not None
        seg = segmenter.stats
        peak = {key: max(m[key] for _, m in samples) for key in ("VmRSS", "RssAnon")}
        half = [m["VmRSS"] for t, m in samples if t >= duration / 2]
        child_peak = writer.stats.extra.get("converter_peak_rss_kb", 0) / 1024
        print(
            f"memory at {args.rate} events/s for {args.minutes:g} min ({sent:,} events, "
            f"{writer.stats.written:,} written; segments counted {seg.counted:,}, estimated "
            f"{seg.estimated:,}, skipped {seg.skipped:,})\n"
            f"  baseline (LiteLLM and its proxy imported) RSS {baseline['VmRSS']:.1f} MB; "
            f"peak {peak['VmRSS']:.1f} MB\n"
            f"  overhead {peak['VmRSS'] - baseline['VmRSS']:.1f} MB "
            f"(private {peak['RssAnon'] - baseline['RssAnon']:.1f} MB), "
            f"second-half growth {half[-1] - half[0]:+.1f} MB\n"
            f"  overhead where LiteLLM already holds its encoding "
            f"{peak['VmRSS'] - with_encoding['VmRSS']:.1f} MB "
            f"(the encoding: {with_encoding['VmRSS'] - baseline['VmRSS']:.1f} MB)\n"
            f"  converter child processes: peak RSS {child_peak:.1f} MB"
        )


if __name__ == "__main__":
    main()
