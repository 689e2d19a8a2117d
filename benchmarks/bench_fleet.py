"""A fleet on object storage: objects written per proxy worker per day, before and after
compaction, and report time over s3:// against the same data on local disk.

    python benchmarks/bench_fleet.py --work-dir benchmarks/out/fleet   (one benchmark at a time)

1. Objects per day. A real EventWriter with the default settings (flush every 60 s or at
   50,000 rows) writes one event object per flush per day it touched, plus one heartbeat
   PUT per flush. The run compresses time: the flush interval is shortened (--flush 0.5 s
   stands for 60 s) and events are submitted at the rate that puts the same number of
   events into each flush as 1, 10 and 100 requests/s put into 60 s. Objects and PUTs per
   interval are counted in moto (S3 on loopback) and multiplied by 1,440 intervals a day;
   the rows-per-object and bytes-per-object figures are the measured ones. Then the
   partition is compacted and its objects counted again.
2. Report time. --events synthetic events (benchmarks/generate.py) over --days days,
   written once locally and copied to moto, plus one day of 1,440 small flush files (one
   writer, one day, uncompacted). Fresh `llmstats report` processes, alternating local
   and s3://, median of --runs each (warm schema cache: the first run of each is dropped).
3. Publication window: how long compaction takes to hide the replaced inputs of that
   uncompacted day from other engines (server-side copy + delete, 16 in flight).

moto is not S3: loopback latency is well under a millisecond where S3 answers a GET in
10-30 ms, so report times over real S3 are higher; request counts carry over exactly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repo root: benchmarks.*, tests.support.*
from tests.support.moto_server import create_bucket, moto_s3, s3_env  # noqa: E402

DAY_INTERVALS = 86_400 / 60.0  # default flush: 60 s → 1,440 flushes a day


def _objects(data_dir: str) -> list[Any]:
    import pyarrow.fs as pafs

    fs, root = pafs.FileSystem.from_uri(data_dir)
    try:
        return [i for i in fs.get_file_info(pafs.FileSelector(root, recursive=True))
                if i.type == pafs.FileType.File]
    except FileNotFoundError:
        return []


def objects_per_day(endpoint: str, rate: float, flush: float, intervals: int) -> dict[str, Any]:
    """Run one writer for `intervals` shortened flush intervals at `rate` requests/s."""
    from llmstats.analytics.maintenance.compaction import compact, delete_replaced
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.writer import EventWriter
    from tests.support.rows import event_row

    bucket = f"objs-{uuid.uuid4().hex[:8]}"
    create_bucket(endpoint, bucket)
    data_dir = f"s3://{bucket}/llmstats"
    settings = load_settings(data_dir=data_dir, flush_seconds=flush, segments=False)
    writer = EventWriter(settings)
    puts: list[str] = []
    write_bytes = writer.sink.write_bytes

    def counted(relative: str, data: bytes) -> None:  # every PUT the writer makes
        puts.append(relative)
        write_bytes(relative, data)

    writer.sink.write_bytes = counted  # type: ignore[method-assign]
    writer.start()
    per_interval = rate * 60.0  # events a real 60 s flush interval holds
    ts = int(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC).timestamp() * 1_000_000)
    started = time.monotonic()
    submitted = 0
    while time.monotonic() - started < intervals * flush:
        due = int((time.monotonic() - started) / flush * per_interval)
        while submitted < due:
            writer.submit(event_row(ts=ts + submitted))
            submitted += 1
        time.sleep(min(0.01, flush / 20))
    writer.close()
    elapsed = time.monotonic() - started
    events = [i for i in _objects(data_dir) if i.path.endswith(".parquet")]
    event_puts = sum(p.startswith("events/") for p in puts)
    rounds = sum(p.startswith("writers/") for p in puts)  # one heartbeat per writer round
    # A round is the flush interval plus its conversion time (negligible next to 60 s,
    # not next to the shortened interval): count per round, then 1,440 rounds a day. The
    # last round (close(), after the submissions stopped) finds the spool empty.
    steady = max(rounds - 1, 1)
    result = {
        "rate": rate,
        "events": submitted,
        "writer_rounds": rounds,
        "round_seconds": round(elapsed / max(rounds, 1), 3),
        "event_objects": len(events),
        "event_puts": event_puts,
        "heartbeat_puts": rounds,
        "event_objects_per_round": round(event_puts / steady, 3),
        "rows_per_object": round(submitted / max(len(events), 1), 1),
        "bytes_per_object": int(statistics.median(i.size for i in events)) if events else 0,
        "objects_per_day": round(event_puts / steady * DAY_INTERVALS),
        "puts_per_day": round((event_puts / steady + 1) * DAY_INTERVALS),
    }
    compact(data_dir, min_files=2)
    delete_replaced(data_dir, grace_seconds=0)
    after = [i for i in _objects(data_dir) if "/events/" in i.path]
    result["after_compaction"] = {
        "parquet": sum(i.path.endswith(".parquet") for i in after),
        "manifests": sum(i.path.endswith(".json") for i in after),
    }
    return result


def run_report(data_dir: str, args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("llmstats")), "report", *args,
                           "-f", "json", "--data-dir", data_dir],
                          capture_output=True, text=True, env=env, timeout=900)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"report failed on {data_dir}: {done.stderr.strip()}")
    return took


def report_times(endpoint: str, work: Path, events: int, days: int, runs: int) -> dict[str, Any]:
    import pyarrow.fs as pafs

    from benchmarks.generate import generate
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.writer import EventWriter
    from tests.support.rows import event_row

    local = work / "local"
    if not (local / "events").exists():
        generate(str(local), events, days=days, batch_size=max(events // 10, 1))
        # One uncompacted day: 1,440 flush files of one writer (60 s flushes, 10 req/s).
        writer = EventWriter(load_settings(data_dir=str(local), flush_seconds=3600,
                                           segments=False))
        day = int(dt.datetime(2026, 11, 21, tzinfo=dt.UTC).timestamp() * 1_000_000)
        for minute in range(1440):
            for i in range(600):
                writer.submit(event_row(ts=day + minute * 60_000_000 + i * 100_000))
            writer.flush()
        writer.close()
    bucket = f"report-{uuid.uuid4().hex[:8]}"
    create_bucket(endpoint, bucket)
    remote = f"s3://{bucket}/llmstats"
    fs, root = pafs.FileSystem.from_uri(remote)
    started = time.perf_counter()
    pafs.copy_files(str(local / "events"), f"{root}/events", destination_filesystem=fs,
                    use_threads=True)
    upload = time.perf_counter() - started
    files = sum(1 for _ in (local / "events").rglob("*.parquet"))
    env = {**os.environ, **s3_env(endpoint), "XDG_CACHE_HOME": str(work / "cache"),
           "LLMSTATS_CONFIG": str(work / "no-config.toml")}
    cases = {
        "overview, all days": [],
        "by model,day, all days": ["--by", "model,day"],
        "overview, the day of 1,440 flush files": ["--since", "2026-11-21", "--until", "2026-11-21"],
    }
    times: dict[str, dict[str, list[float]]] = {c: {"local": [], "s3": []} for c in cases}
    for case, extra in cases.items():
        for data_dir in (str(local), remote):
            run_report(data_dir, extra, env)  # warm the schema cache (first read of footers)
        for _ in range(runs):
            for target, data_dir in (("local", str(local)), ("s3", remote)):
                times[case][target].append(run_report(data_dir, extra, env))
    return {
        "files": files, "upload_seconds": round(upload, 1),
        "medians": {case: {t: round(statistics.median(v), 2) for t, v in by.items()}
                    for case, by in times.items()},
        "runs": times,
        "remote": remote,
    }


def hide_window(remote: str, env_day: str = "2026-11-21") -> dict[str, Any]:
    """Compact the uncompacted day on s3 and time its steps."""
    from llmstats.analytics.maintenance import compaction

    timings: dict[str, float] = {}
    original = compaction.hide_replaced

    def timed_hide(data_dir: str, date: str) -> int:
        started = time.perf_counter()
        hidden = original(data_dir, date)
        timings["hide_seconds"] = round(time.perf_counter() - started, 2)
        timings["hidden"] = hidden
        return hidden

    compaction.hide_replaced = timed_hide  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        run = compaction.compact(remote, dates=[env_day])
        timings["compact_seconds"] = round(time.perf_counter() - started, 2)
    finally:
        compaction.hide_replaced = original  # type: ignore[assignment]
    timings["inputs"] = run.partitions[0].input_files if run.partitions else 0
    return timings


def after_compaction(endpoint: str, work: Path, remote: str, runs: int) -> dict[str, Any]:
    """The day of 1,440 flush files once compacted (on both sides; the s3 copy was
    compacted by `hide_window`), replaced inputs deleted: report medians again."""
    from llmstats.analytics.maintenance.compaction import compact, delete_replaced

    local = str(work / "local")
    compact(local, dates=["2026-11-21"])
    for data_dir in (local, remote):
        delete_replaced(data_dir, grace_seconds=0)
    env = {**os.environ, **s3_env(endpoint), "XDG_CACHE_HOME": str(work / "cache"),
           "LLMSTATS_CONFIG": str(work / "no-config.toml")}
    day = ["--since", "2026-11-21", "--until", "2026-11-21"]
    times: dict[str, list[float]] = {"local": [], "s3": []}
    for data_dir in (local, remote):
        run_report(data_dir, day, env)
    for _ in range(runs):
        for target, data_dir in (("local", local), ("s3", remote)):
            times[target].append(run_report(data_dir, day, env))
    return {"overview, the compacted day": {t: round(statistics.median(v), 2)
                                            for t, v in times.items()}, "runs": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--flush", type=float, default=0.5, help="stands for the 60 s default")
    parser.add_argument("--intervals", type=int, default=20)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")
    os.environ["XDG_STATE_HOME"] = str(work / f"state-{uuid.uuid4().hex[:6]}")
    os.environ["LLMSTATS_CONFIG"] = str(work / "no-config.toml")
    print(f"date {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}", flush=True)
    with moto_s3() as endpoint:
        for key, value in s3_env(endpoint).items():
            os.environ[key] = value
        objects = [objects_per_day(endpoint, rate, args.flush, args.intervals)
                   for rate in (1.0, 10.0, 100.0)]
        print(json.dumps({"objects": objects}, indent=1), flush=True)
        reports = report_times(endpoint, work, args.events, args.days, args.runs)
        print(json.dumps({"reports": {k: v for k, v in reports.items() if k != "runs"}},
                         indent=1), flush=True)
        window = hide_window(reports["remote"])
        print(json.dumps({"publication": window}, indent=1), flush=True)
        print(json.dumps({"after_compaction": after_compaction(
            endpoint, work, reports["remote"], args.runs)}, indent=1))
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
