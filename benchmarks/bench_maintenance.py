"""Compaction and prune at scale.

    python benchmarks/bench_maintenance.py --work-dir benchmarks/out/maint [--rows 1000000 --files 5000]

1. One day of `--rows` synthetic events (benchmarks/generate.py's rows, EVENT_SCHEMA) spread
   over `--files` files from 5 writers, as a writer flushing every ~17 s would leave them.
2. `llmstats report` on that day (fresh process, median of 3) before compaction;
   `llmstats compact --date D` wall time and peak RSS (wait4 on that child alone); the
   report after (inputs still inside the grace period, then after they are deleted).
3. 365 daily partitions of 4 small files each; `prune_partitions` (library, in process) and
   `llmstats prune --older-than 30d` (fresh process) wall time.

Prints a Markdown section for benchmarks/RESULTS.md. Goals: compaction ≤ 30 s and ≤ 1 GB
peak RSS; prune of 365 partitions ≤ 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*, tests.support.*
from benchmarks.generate import build_batch
from llmstats.plugin.sink import PARQUET_OPTIONS

BIN = Path(sys.executable).parent
DAY = dt.date(2026, 11, 20)


def run_rss(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if status:
        raise SystemExit(f"{args} failed: {child.stderr.read().decode()[-2000:] if child.stderr else ''}")
    return elapsed, usage.ru_maxrss * 1024


def make_day(data_dir: Path, rows: int, files: int) -> None:
    start = dt.datetime(DAY.year, DAY.month, DAY.day, tzinfo=dt.UTC)
    table = build_batch(np.random.default_rng(7), rows, int(start.timestamp() * 1e6),
                        86_400_000_000 - 1, "bench")
    table = table.sort_by("ts")
    folder = data_dir / "events" / f"date={DAY.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    per_file = rows // files
    for i in range(files):
        part = table.slice(i * per_file, per_file if i < files - 1 else rows - i * per_file)
        writer = f"bench{i % 5}"
        part = part.set_column(part.schema.get_field_index("writer_id"), "writer_id",
                               pa.array([writer] * part.num_rows, pa.string()))
        pq.write_table(part, folder / f"{writer}-{i // 5 + 1:08d}.parquet", **PARQUET_OPTIONS)


def make_year(data_dir: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    table = build_batch(np.random.default_rng(3), 40, 0, 1, "old")
    for back in range(31, 31 + 365):
        date = (today - dt.timedelta(days=back)).isoformat()
        folder = data_dir / "events" / f"date={date}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(4):
            pq.write_table(table.slice(i * 10, 10), folder / f"old-{i:08d}.parquet", **PARQUET_OPTIONS)


def median_report(env: dict[str, str]) -> float:
    args = [str(BIN / "llmstats"), "report", "--since", DAY.isoformat(), "--until", DAY.isoformat(),
            "-f", "json"]
    times = [run_rss(args, env)[0] for _ in range(3)]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    work = Path(options.work_dir).resolve()
    if options.generate_only:
        make_day(work / "data", options.rows, options.files)
        return
    shutil.rmtree(work, ignore_errors=True)
    data_dir = work / "data"
    env = {**os.environ, "LLMSTATS_DATA_DIR": str(data_dir), "XDG_CACHE_HOME": str(work / "cache"),
           "LLMSTATS_CONFIG": str(work / "none.toml"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}

    # Generated in a child process: ru_maxrss of a forked child counts the parent's pages
    # until exec, so a parent holding the 1 M-row table would inflate every figure.
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--work-dir", str(work), "--rows", str(options.rows),
                    "--files", str(options.files), "--generate-only"], check=True)
    generated = time.perf_counter() - started
    size = sum(p.stat().st_size for p in data_dir.rglob("*.parquet"))
    report_cold, _ = run_rss([str(BIN / "llmstats"), "report", "-f", "json"], env)
    report_before = median_report(env)
    compact_s, compact_rss = run_rss([str(BIN / "llmstats"), "compact", "--date", DAY.isoformat()], env)
    report_after = median_report(env)
    from llmstats.analytics.maintenance.compaction import delete_replaced

    deleted = delete_replaced(str(data_dir), grace_seconds=0)
    report_after_delete = median_report(env)
    compacted = sum(p.stat().st_size for p in data_dir.rglob("*.parquet"))

    year_dir = work / "year"
    make_year(year_dir)
    from llmstats.plugin.retention import prune_partitions, retention_cutoff

    started = time.perf_counter()
    pruned = prune_partitions(str(year_dir), retention_cutoff(30))
    prune_lib = time.perf_counter() - started
    make_year(year_dir)
    year_env = {**env, "LLMSTATS_DATA_DIR": str(year_dir)}
    prune_cli, _ = run_rss([str(BIN / "llmstats"), "prune", "--older-than", "30d"], year_env)

    mib = 1024 * 1024
    print(f"""
| figure | value | goal |
|---|---|---|
| generate {options.rows:,} rows in {options.files:,} files | {generated:.1f} s, {size / mib:.1f} MiB | — |
| `llmstats report` on the day, first run (cold schema cache) | {report_cold:.2f} s | — |
| `llmstats report` on the day, before compaction (median of 3) | {report_before:.2f} s | — |
| `llmstats compact --date {DAY}` ({options.files:,} → 1 file) | **{compact_s:.1f} s**, peak RSS **{compact_rss / mib:.0f} MiB**, {compacted / mib:.1f} MiB after | ≤ 30 s, ≤ 1 GB |
| `llmstats report` after (inputs inside the grace period) | {report_after:.2f} s | — |
| `llmstats report` after the {deleted:,} inputs were deleted | {report_after_delete:.2f} s | — |
| `prune_partitions`: {len(pruned.partitions)} partitions, {pruned.files} files, {pruned.rows} rows | **{prune_lib:.2f} s** | ≤ 1 s |
| `llmstats prune --older-than 30d` (fresh process, 365 partitions) | {prune_cli:.2f} s | — |
""")


if __name__ == "__main__":
    main()
