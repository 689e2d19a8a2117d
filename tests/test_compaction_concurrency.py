"""Compaction while writers append and readers query: no reader error, no row lost, no row
duplicated — at every moment a reader looks, and at the end. On a local data dir and on
object storage (moto on loopback), where there is no rename, no lock, and compaction
hides the inputs it replaced while readers that listed them are still reading."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmstats.analytics.connection import connect
from llmstats.analytics.maintenance.compaction import compact, delete_replaced
from llmstats.plugin.config import load_settings
from llmstats.plugin.writer import EventWriter
from tests.support.moto_server import create_bucket, moto_s3, s3_env
from tests.support.rows import event_row

RUN_SECONDS = 15.0
MAX_EXTRA_SECONDS = 60.0
GRACE_SECONDS = 3.0  # short, so deletions of replaced inputs happen while readers read


@pytest.fixture(params=["local", "s3"])
def data_dir(request: pytest.FixtureRequest, isolated_data_dir: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "local":
        yield str(isolated_data_dir)
        return
    with moto_s3() as endpoint:
        for key, value in s3_env(endpoint).items():
            monkeypatch.setenv(key, value)
        bucket = f"race-{uuid.uuid4().hex[:10]}"
        create_bucket(endpoint, bucket)
        monkeypatch.setenv("LLMSTATS_DATA_DIR", f"s3://{bucket}/llm")
        yield f"s3://{bucket}/llm"


@pytest.mark.slow
def test_writers_readers_and_compaction_at_once(data_dir: str) -> None:
    stop = threading.Event()
    lock = threading.Lock()
    durable: set[str] = set()  # ids whose flush() has returned: every later reader must see them
    submitted: set[str] = set()
    failures: list[str] = []
    reads = compactions = 0
    base = event_row()["ts"]

    def write(writer_id: str) -> None:
        writer = EventWriter(load_settings(flush_seconds=3600), writer_id=writer_id)
        writer.start()
        try:
            n = 0
            while not stop.is_set():
                batch = []
                for _ in range(7):
                    n += 1
                    # Two partitions: the day compaction works on and the next one.
                    row = event_row(ts=base + (n % 2) * 86_400_000_000 + n)
                    writer.submit(row)
                    batch.append(row["event_id"])
                with lock:
                    submitted.update(batch)
                if not writer.flush():
                    failures.append(f"{writer_id}: flush timed out")
                with lock:
                    durable.update(batch)
                time.sleep(0.02)
        finally:
            writer.close()

    def read() -> None:
        nonlocal reads
        while not stop.is_set():
            with lock:
                expected = set(durable)
            try:
                con = connect(data_dir)
                ids = [r[0] for r in con.execute("SELECT event_id FROM events").fetchall()]
                con.close()
            except Exception as exc:
                failures.append(f"reader error: {type(exc).__name__}: {exc}")
                continue
            if len(ids) != len(set(ids)):
                failures.append(f"reader saw {len(ids) - len(set(ids))} duplicates")
            if missing := expected - set(ids):
                failures.append(f"reader missed {len(missing)} flushed events")
            reads += 1

    def compact_loop() -> None:
        nonlocal compactions
        while not stop.is_set():
            try:
                # No rollup rebuild: on object storage it is seconds of CPU in this
                # process, which stretches a reader past the 3 s grace period (with the
                # default 15 minutes it does not matter); readers here read events only.
                run = compact(data_dir, min_files=2, grace_seconds=GRACE_SECONDS,
                              rollups=False)
                compactions += len(run.partitions)
            except Exception as exc:
                failures.append(f"compaction error: {type(exc).__name__}: {exc}")
            time.sleep(0.3)

    threads = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(3)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    threads.append(threading.Thread(target=compact_loop))
    for thread in threads:
        thread.start()
    # moto answers a few hundred requests a second: fewer rounds fit on s3.
    least = 3 if data_dir.startswith("s3://") else 5
    # At least RUN_SECONDS, and on a loaded machine longer (bounded) until enough rounds
    # of each kind have overlapped.
    time.sleep(RUN_SECONDS)
    deadline = time.monotonic() + MAX_EXTRA_SECONDS
    while (reads < least or compactions < least) and time.monotonic() < deadline:
        time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(120)

    assert failures == [], failures[:5]
    assert reads >= least and compactions >= least, (reads, compactions)
    compact(data_dir, min_files=2)
    deleted = delete_replaced(data_dir, grace_seconds=0)
    assert deleted > 0
    con = connect(data_dir)
    ids = [r[0] for r in con.execute("SELECT event_id FROM events").fetchall()]
    assert len(ids) == len(set(ids))
    assert set(ids) == submitted
