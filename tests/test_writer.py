"""The writer: spool → Parquet, exactly once, through crashes and broken disks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from llmstats.plugin.config import load_settings
from llmstats.plugin.conversion_round import parquet_name
from llmstats.plugin.schema import EVENT_SCHEMA, SCHEMA_VERSION
from llmstats.plugin.spool import list_spool_files
from llmstats.plugin.spool_to_parquet import spool_file_tables
from llmstats.plugin.writer import ConverterFailed, EventWriter
from tests.support.rows import BASE_TS, event_row

DAY_US = 86_400_000_000


def read_events(data_dir: Path) -> list[dict]:
    events = data_dir / "events"
    if not events.exists():
        return []
    dataset = ds.dataset(events, format="parquet", partitioning="hive")
    return dataset.to_table().to_pylist()


def test_submitted_rows_land_in_date_partitions_with_the_current_schema(isolated_data_dir: Path) -> None:
    writer = EventWriter(load_settings())
    rows = [event_row(ts=BASE_TS + i * 1000, end_ts=BASE_TS + i * 1000 + 250_000) for i in range(5)]
    rows.append(event_row(ts=BASE_TS + DAY_US, end_ts=BASE_TS + DAY_US + 250_000))  # next UTC day
    for row in rows:
        writer.submit(row)
    writer.flush()

    files = sorted((isolated_data_dir / "events").glob("date=*/*.parquet"))
    assert [f.parent.name for f in files] == ["date=2026-11-18", "date=2026-11-19"]
    assert {f.name for f in files} == {parquet_name(writer.writer_id, 1)}
    assert pq.read_schema(files[0]).remove_metadata() == EVENT_SCHEMA
    got = read_events(isolated_data_dir)
    assert sorted(r["event_id"] for r in got) == sorted(r["event_id"] for r in rows)
    for row in got:  # writer constants and derived durations are filled at conversion
        assert row["writer_id"] == writer.writer_id and row["privacy_level"] == "standard"
        assert row["schema_version"] == SCHEMA_VERSION == 3 and row["llmstats_version"]
        assert row["latency_ms"] == 250.0 and row["ttft_ms"] is None
    assert list_spool_files(isolated_data_dir / "spool" / writer.writer_id) == [
        isolated_data_dir / "spool" / writer.writer_id / "00000002.jsonl"
    ]


def test_duplicate_event_ids_in_a_spool_file_become_one_row() -> None:
    first = event_row(event_id="same", input_tokens=1)
    again = event_row(event_id="same", input_tokens=2)
    data = b"".join(json.dumps(r).encode() + b"\n" for r in (first, again, event_row()))
    tables = spool_file_tables(data, {"writer_id": "w"})
    (table,) = tables.values()
    assert table.num_rows == 2
    assert table.filter(pc.equal(table.column("event_id"), "same")).column(
        "input_tokens"
    ).to_pylist() == [1]


def test_a_torn_line_and_a_fragment_lose_only_themselves() -> None:
    good = [event_row() for _ in range(3)]
    data = (
        json.dumps(good[0]).encode()
        + b"\n"
        + b'{"event_id": "broken", "ts": 12\n'  # a failed write left half a line
        + json.dumps(good[1]).encode()
        + b"\n"
        + json.dumps(good[2]).encode()
        + b"\n"
    )
    (table,) = spool_file_tables(data, {"writer_id": "w"}).values()
    assert sorted(table.column("event_id").to_pylist()) == sorted(r["event_id"] for r in good)


WRITER_SCRIPT = textwrap.dedent(
    """
    import os, sys, json
    sys.path.insert(0, {tests!r})
    from tests.support.rows import event_row
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.writer import ConverterFailed, EventWriter
    writer = EventWriter(load_settings(flush_seconds=3600))
    ids = []
    for i in range({count}):
        row = event_row(ts=1_795_000_000_000_000 + i)
        writer.submit(row)
        ids.append(row["event_id"])
        if i == {flush_at}:
            writer.flush()
    print(json.dumps(ids), flush=True)
    os.kill(os.getpid(), 9)
    """
)


def _run_and_kill(count: int, flush_at: int = -1) -> list[str]:
    script = WRITER_SCRIPT.format(tests=str(Path(__file__).resolve().parents[1]), count=count, flush_at=flush_at)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return json.loads(proc.stdout)


def test_kill_9_loses_nothing_and_recovery_is_exactly_once(isolated_data_dir: Path) -> None:
    ids = _run_and_kill(count=2000, flush_at=999)
    half = read_events(isolated_data_dir)
    assert len(half) == 1000  # the flush before the kill

    survivor = EventWriter(load_settings())
    assert survivor.recover_orphans() == 1
    assert survivor.recover_orphans() == 0
    recovered = read_events(isolated_data_dir)
    assert sorted(r["event_id"] for r in recovered) == sorted(ids)
    assert {r["writer_id"] for r in recovered} != {survivor.writer_id}
    assert len({r["writer_id"] for r in recovered}) == 1
    assert survivor.stats.recovered == 1000
    assert list((isolated_data_dir / "spool").iterdir()) == [
        isolated_data_dir / "spool" / survivor.writer_id
    ]


def test_a_crash_between_rename_and_spool_file_delete_yields_no_duplicates(
    isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _run_and_kill(count=300)
    first = EventWriter(load_settings())
    # Simulate dying right after the Parquet file was renamed into place.
    monkeypatch.setattr(Path, "unlink", lambda self, missing_ok=False: None)
    first.recover_orphans()
    monkeypatch.undo()
    assert len(read_events(isolated_data_dir)) == 300
    second = EventWriter(load_settings())
    second.recover_orphans()
    got = [r["event_id"] for r in read_events(isolated_data_dir)]
    assert sorted(got) == sorted(ids)


def test_unwritable_data_dir_keeps_rows_in_the_spool_until_it_heals(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    settings = load_settings(data_dir=str(blocker / "data"), spool_dir=str(tmp_path / "spool"))
    writer = EventWriter(settings)
    rows = [event_row() for _ in range(10)]
    for row in rows:
        writer.submit(row)
    with pytest.raises(ConverterFailed, match="NotADirectoryError"):
        writer.flush()
    assert writer.stats.spooled == 10
    blocker.unlink()
    writer.flush()
    assert sorted(r["event_id"] for r in read_events(blocker / "data")) == sorted(
        r["event_id"] for r in rows
    )


def test_unusable_spool_holds_rows_in_bounded_memory_and_counts_drops(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings = load_settings(
        data_dir=str(tmp_path / "data"), spool_dir=str(blocker / "spool"), max_pending_rows=5
    )
    writer = EventWriter(settings)
    for _ in range(8):
        writer.submit(event_row())  # must not raise
    assert writer.stats.dropped == 3
    assert len(writer._held) == 5
    beat = writer.heartbeat_document()
    assert (beat["spooled"], beat["held_in_memory"], beat["dropped"]) == (8, 5, 3)
    blocker.unlink()
    writer.flush()
    assert len(read_events(tmp_path / "data")) == 5
    beat = writer.heartbeat_document()
    assert (beat["spooled"], beat["written"], beat["dropped"], beat["held"]) == (8, 5, 3, 0)
    assert beat["dropped_by_reason"]["memory_full"] == beat["lost"] == 3


FULL_DISK_SCRIPT = textwrap.dedent(
    """
    import resource, signal, sys, json
    sys.path.insert(0, {tests!r})
    from tests.support.rows import event_row
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.writer import ConverterFailed, EventWriter
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of dying
    writer = EventWriter(load_settings(flush_seconds=3600, max_pending_rows=50))
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    for _ in range(200):
        writer.submit(event_row())
    print(json.dumps(writer.heartbeat_document()), flush=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # the disk has room again
    writer.flush()
    writer.close(timeout=5)
    print(json.dumps(writer.heartbeat_document()), flush=True)
    """
)


def test_a_full_disk_never_raises_and_drops_are_counted(isolated_data_dir: Path) -> None:
    script = FULL_DISK_SCRIPT.format(tests=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    full, healed = (json.loads(line) for line in proc.stdout.strip().splitlines()[-2:])
    # Every line handed over is accounted: held in memory while the spool cannot take it,
    # or dropped (counted by its reason) once memory is full too; then written.
    assert full["spooled"] == 200 == full["written"] + full["dropped"] + full["held"]
    assert full["held_in_memory"] == 50 and full["written"] == 0
    assert full["dropped"] == full["lost"] == full["dropped_by_reason"]["memory_full"] == 150
    assert healed["spooled"] == 200 == healed["written"] + healed["dropped"] + healed["held"]
    assert (healed["written"], healed["held"], healed["dropped"]) == (50, 0, 150)
    beat = full
    assert "File too large" in beat["last_error"] or "EFBIG" in beat["last_error"]
    # Not a warning per event: one when rows began to wait, one the moment the first was
    # dropped (a minute's throttle must not hide that), and the total at the end.
    warnings = [line for line in proc.stderr.splitlines() if "llmstats:" in line]
    assert len(warnings) == 3, warnings
    assert "holding events in memory" in warnings[0] and "[dropped so far: 0]" in warnings[0]
    assert "event dropped" in warnings[1] and "[dropped so far: 1]" in warnings[1]
    assert f"{beat['dropped']} events dropped in all" in warnings[2]


def test_two_live_writers_share_a_data_dir_without_touching_each_other(
    isolated_data_dir: Path,
) -> None:
    one, two = EventWriter(load_settings()), EventWriter(load_settings())
    assert one.writer_id != two.writer_id
    a, b = event_row(), event_row()
    one.submit(a)
    two.submit(b)
    assert one.recover_orphans() == 0  # two's folder is locked by a live writer
    one.flush()
    two.flush()
    assert sorted(r["event_id"] for r in read_events(isolated_data_dir)) == sorted(
        [a["event_id"], b["event_id"]]
    )


def test_heartbeat_reports_health(isolated_data_dir: Path) -> None:
    writer = EventWriter(load_settings())
    writer.submit(event_row())
    writer.flush()
    beat = json.loads((isolated_data_dir / "writers" / f"{writer.writer_id}.json").read_text())
    assert beat["written"] == 1 and beat["dropped"] == 0 and beat["last_flush"] is not None
    assert beat["pid"] == os.getpid()


def test_rows_threshold_wakes_the_writer_thread(isolated_data_dir: Path) -> None:
    writer = EventWriter(load_settings(flush_rows=10, flush_seconds=3600))
    writer.start()
    for _ in range(10):
        writer.submit(event_row())
    deadline = 100
    while not read_events(isolated_data_dir) and deadline:
        time.sleep(0.05)
        deadline -= 1
    assert len(read_events(isolated_data_dir)) == 10
    writer.close()


def test_a_forked_child_gets_its_own_writer_and_leaves_the_parents_lock_alone(
    isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmstats.plugin.litellm_logger import LLMStatsLogger
    from llmstats.plugin.spool import orphaned_folder

    # The forked child converts in a fresh process, not with the parent's Arrow threads.
    monkeypatch.setenv("LLMSTATS_CONVERTER", "process")
    logger = LLMStatsLogger(load_settings(flush_seconds=3600))
    payload = {"litellm_call_id": "parent", "startTime": 1_795_000_000.0, "call_type": "x"}
    logger.log_success_event({"standard_logging_object": payload}, None, None, None)
    parent = logger.writer
    assert parent is not None
    pid = os.fork()
    if pid == 0:  # the child: capture once, flush, leave without any cleanup
        code = 1
        try:
            child_payload = {**payload, "litellm_call_id": "child"}
            logger.log_success_event({"standard_logging_object": child_payload}, None, None, None)
            writer = logger.writer
            if writer is not None and writer.writer_id != parent.writer_id and logger.flush():
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with orphaned_folder(parent.folder) as orphaned:
        assert not orphaned  # the child's exit did not release the parent's lock
    assert logger.flush()
    got = {r["call_id"]: r["writer_id"] for r in read_events(isolated_data_dir)}
    assert got["parent"] == parent.writer_id and got["child"] != parent.writer_id


def test_a_whole_file_write_that_fails_leaves_the_old_file_and_no_temporary_one(
    tmp_path: Path,
) -> None:
    from llmstats.plugin.atomic import write_atomically

    target = tmp_path / "heartbeat.json"
    write_atomically(target, b"old")
    (tmp_path / "in-the-way").mkdir()
    with pytest.raises(OSError):
        write_atomically(tmp_path / "in-the-way", b"new")  # a rename onto a folder fails
    write_atomically(target, b"new", durable=True)
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heartbeat.json", "in-the-way"]


def test_two_threads_writing_one_file_whole_never_trip_over_each_other(tmp_path: Path) -> None:
    # The price catalog cache: two report threads of one process may both write it.
    import threading

    from llmstats.plugin.atomic import write_atomically

    target = tmp_path / "catalog.parquet"
    errors: list[BaseException] = []

    def write(data: bytes) -> None:
        for _ in range(300):
            try:
                write_atomically(target, data)
            except OSError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(bytes([65 + i]) * 4096,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_bytes() in (b"A" * 4096, b"B" * 4096)
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.parquet"]
