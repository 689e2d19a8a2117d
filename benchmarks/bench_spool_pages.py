"""Spool: what the first copy into each page of a mapped window costs, and what the
preparing thread saves the callback (see plugin/spool.py).

Two measurements, each side by side in this one process:

1. Per page: copy one byte into every page of a freshly mapped 1 MiB window whose blocks
   were only reserved (`posix_fallocate`, what the callback's own mapping does), against
   one whose pages were also faulted in ahead (MADV_POPULATE_WRITE, what the preparing
   thread does); and what faulting them in costs that thread.
2. Per append: `SpoolSegments.append` of recorded event lines, with the preparing thread
   at work and with it switched off (every window then mapped by the append itself),
   interleaved in blocks. Between two appends the loop keeps the CPU (and the GIL) busy
   for --gap-us, standing for the rest of the callback and LiteLLM's own work: back to
   back appends would fill a window faster than any thread that needs the GIL can prepare
   the next one, which no proxy does.

    .venv/bin/python benchmarks/bench_spool_pages.py [--windows 40] [--lines 100000]
        [--gap-us 20]
"""

from __future__ import annotations

import argparse
import mmap
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_hot_path import percentile

from llmstats.plugin.extract import extract_event
from llmstats.plugin.spool import WINDOW_BYTES, SpoolFiles, _populate
from llmstats.plugin.spool_line import encode_line

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*, tests.support.*
from benchmarks.payloads import fresh_call, load_calls

PAGE = mmap.PAGESIZE


def first_copy_per_page(folder: Path, populate: bool) -> tuple[float, float]:
    """µs per page for the first one-byte copy into each page of a new window, and for
    faulting it in ahead (0 when not)."""
    fd = os.open(folder / f"window-{time.monotonic_ns()}", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, WINDOW_BYTES)
        window = mmap.mmap(fd, WINDOW_BYTES)
        began = time.perf_counter_ns()
        if populate:
            assert _populate(window), "this kernel has no MADV_POPULATE_WRITE"
        ahead = time.perf_counter_ns() - began
        began = time.perf_counter_ns()
        for offset in range(0, WINDOW_BYTES, PAGE):
            window[offset] = 1
        elapsed = time.perf_counter_ns() - began
        window.close()
    finally:
        os.close(fd)
    pages = WINDOW_BYTES // PAGE
    return elapsed / 1000 / pages, ahead / 1000 / pages


def event_lines(count: int) -> list[bytes]:
    calls = load_calls()
    lines = []
    for index in range(count):
        kwargs, response, _, _ = fresh_call(calls[index % len(calls)])
        row = extract_event(
            kwargs, response, status="success", privacy="standard", hash_id=lambda v: "h"
        )
        assert row is not None
        lines.append(encode_line(row))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=int, default=40, help="windows per page test")
    parser.add_argument("--lines", type=int, default=100_000, help="appends per configuration")
    parser.add_argument("--gap-us", type=float, default=20.0, help="busy time between appends")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        pages: dict[str, list[tuple[float, float]]] = {"reserved only": [], "faulted in ahead": []}
        for _ in range(args.windows):
            pages["reserved only"].append(first_copy_per_page(folder, populate=False))
            pages["faulted in ahead"].append(first_copy_per_page(folder, populate=True))
        print(f"first copy into a page, median of {args.windows} windows of {WINDOW_BYTES >> 10} KiB:")
        for name, values in pages.items():
            copy = statistics.median(v[0] for v in values)
            ahead = statistics.median(v[1] for v in values)
            print(f"  {name:<20} {copy:6.2f} µs a page (faulting in ahead: {ahead:.2f} µs a page)")

        lines = event_lines(2_000)
        spools = {
            "thread on": SpoolFiles(folder / "on", {"writer_id": "on"}),
            "thread off": SpoolFiles(folder / "off", {"writer_id": "off"}),
        }
        spools["thread off"]._prepare_next = lambda: None  # type: ignore[method-assign]
        timings: dict[str, list[float]] = {name: [] for name in spools}
        clock = time.perf_counter_ns
        gap_ns = int(args.gap_us * 1000)
        block = 1_000
        for start in range(0, args.lines, block):
            for name, spool in spools.items():
                for index in range(start, start + block):
                    line = lines[index % len(lines)]
                    until = clock() + gap_ns
                    while clock() < until:
                        pass
                    began = clock()
                    spool.append(line)
                    timings[name].append((clock() - began) / 1000)
            if start % 20_000 == 0:  # keep the files small: a new segment now and then
                for spool in spools.values():
                    spool.rotate()
        for spool in spools.values():
            spool.close()
        print(
            f"append of a recorded event line, {args.lines:,} each, interleaved, "
            f"{args.gap_us:g} µs apart:"
        )
        for name, values in timings.items():
            print(
                f"  {name:<20} median {statistics.median(values):5.2f} µs  "
                f"p90 {percentile(values, 0.9):5.2f}  p99 {percentile(values, 0.99):6.2f}  "
                f"mean {statistics.fmean(values):5.2f}"
            )


if __name__ == "__main__":
    main()
