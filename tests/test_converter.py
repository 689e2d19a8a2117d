"""The converter: streamed conversion, the memory-mapped spool, counts, carry files, and the
child process the proxy's writer runs it in."""

from __future__ import annotations

import errno
import json
import mmap
import os
import resource
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from llmstats.plugin import spool as spool_module
from llmstats.plugin import spool_to_parquet
from llmstats.plugin.config import load_settings
from llmstats.plugin.conversion_round import Result, convert_folder, parquet_name
from llmstats.plugin.sink import Sink
from llmstats.plugin.spool import (
    SpoolFiles,
    carry_path,
    list_carries,
    list_spool_files,
    read_spool_file,
    spool_chunks,
)
from llmstats.plugin.spool_line import encode_line
from llmstats.plugin.spool_to_parquet import convert_spool_file
from llmstats.plugin.writer import ConverterFailed, EventWriter
from tests.support.rows import BASE_TS, event_row
from tests.test_writer import read_events

DAY_US = 86_400_000_000
CONSTANTS = {"writer_id": "w", "privacy_level": "standard", "schema_version": 1}


def marker(call_id: str, **overrides: Any) -> dict[str, Any]:
    row = event_row(call_id=call_id, event_id=f"{call_id}@{BASE_TS}", capture="response_hook")
    row["end_ts"] = int(time.time() * 1_000_000)
    row.update(overrides)
    return row


def callback(call_id: str) -> dict[str, Any]:
    return event_row(call_id=call_id, event_id=f"{call_id}@{BASE_TS}")


# ---- streamed conversion ----------------------------------------------------------------


def test_a_spool_file_many_chunks_long_over_two_dates_with_a_torn_end_converts_exactly(
    tmp_path: Path,
) -> None:
    rows = [event_row(ts=BASE_TS + i * 1000) for i in range(600)]
    rows += [event_row(ts=BASE_TS + DAY_US + i) for i in range(400)]  # the next UTC day
    rows.insert(300, dict(rows[10]))  # a duplicate id, far from its first
    spool_file = tmp_path / "00000001.jsonl"
    data = b"".join(encode_line(r) for r in rows) + b'{"event_id": "torn", "ts": 1'
    spool_file.write_bytes(data)
    assert len(list(spool_chunks(spool_file, 8192))) > 50

    done = convert_spool_file(
        spool_file,
        constants=CONSTANTS,
        sink=Sink(str(tmp_path / "data")),
        name="w-00000001.parquet",
        row_group_rows=128,
        chunk_bytes=8192,
    )
    assert done.rows == {"2026-11-18": 600, "2026-11-19": 400} and done.files == 2
    got = read_events(tmp_path / "data")
    assert sorted(r["event_id"] for r in got) == sorted({r["event_id"] for r in rows})
    first_day = pq.ParquetFile(tmp_path / "data/events/date=2026-11-18/w-00000001.parquet")
    assert first_day.metadata.num_row_groups == 5  # 128-row groups, gathered across chunks
    for group in range(first_day.metadata.num_row_groups):
        ts = first_day.read_row_group(group, columns=["ts"]).column("ts").to_pylist()
        assert ts == sorted(ts)


def test_converting_the_same_spool_file_twice_gives_the_same_rows(tmp_path: Path) -> None:
    spool_file = tmp_path / "00000001.jsonl"
    spool_file.write_bytes(b"".join(encode_line(event_row(ts=BASE_TS + i)) for i in range(300)))
    sink = Sink(str(tmp_path / "data"))
    for _ in range(2):
        convert_spool_file(spool_file, constants=CONSTANTS, sink=sink, name="x.parquet", chunk_bytes=4096)
    assert len(read_events(tmp_path / "data")) == 300


def test_counts_join_their_events_by_line_offset_across_chunks(tmp_path: Path) -> None:
    spool_file = tmp_path / "00000001.jsonl"
    counts = tmp_path / "00000001.counts"
    lines = [encode_line(event_row(event_id=f"e{i}", ts=BASE_TS + i)) for i in range(200)]
    spool_file.write_bytes(b"".join(lines))
    offsets = [sum(len(line) for line in lines[:i]) for i in range(200)]
    counted = [
        encode_line(
            {
                "at": offsets[i],
                "event_id": f"e{i}",
                "segments": [{"role": "user", "kind": "text", "tokens": i}],
                "segments_estimated": i % 2 == 0,
            }
        )
        for i in range(0, 200, 3)  # not every event has counts
    ]
    counts.write_bytes(b"".join(counted) + b'{"at": 99999999, "event_id": "stray"}\n')
    convert_spool_file(
        spool_file,
        constants=CONSTANTS,
        sink=Sink(str(tmp_path / "data")),
        name="x.parquet",
        counts=counts,
        chunk_bytes=2048,
    )
    by_id = {r["event_id"]: r for r in read_events(tmp_path / "data")}
    for i in range(200):
        row = by_id[f"e{i}"]
        if i % 3:
            assert row["segments"] is None and row["segments_estimated"] is None
        else:
            assert row["segments"] == [{"role": "user", "kind": "text", "tokens": i}]
            assert row["segments_estimated"] is (i % 2 == 0)


# ---- the memory-mapped spool --------------------------------------------------------------


def test_lines_across_many_windows_come_back_whole_and_a_closed_spool_file_has_no_slack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "WINDOW_BYTES", 4096)
    spool = SpoolFiles(tmp_path / "w", {"writer_id": "w"})
    lines = [encode_line(event_row(tags=["t" * (i * 37 % 9000)])) for i in range(200)]
    for line in lines:
        spool.append(line)
    current = tmp_path / "w" / "00000001.jsonl"
    assert current.stat().st_size > sum(map(len, lines))  # reserved room at the end
    assert read_spool_file(current) == b"".join(lines)  # readers stop at the zeros
    spool.rotate()
    assert current.stat().st_size == sum(map(len, lines))
    assert (tmp_path / "w" / "00000002.jsonl").stat().st_size == 0
    spool.close()


def test_after_a_spool_files_first_window_the_next_ones_come_ready_and_faulted_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe_fd = os.open(tmp_path / "probe", os.O_RDWR | os.O_CREAT)
    os.posix_fallocate(probe_fd, 0, 4096)
    with mmap.mmap(probe_fd, 4096) as probe:
        can_populate = spool_module._populate(probe)
    os.close(probe_fd)
    monkeypatch.setattr(spool_module, "WINDOW_BYTES", 32 * mmap.PAGESIZE)
    spool = SpoolFiles(tmp_path / "w", {"writer_id": "w"})
    mapped_by_append = []
    map_window = spool._map_window
    monkeypatch.setattr(
        spool, "_map_window", lambda size: mapped_by_append.append(size) or map_window(size)
    )
    lines = [encode_line(event_row(tags=["t" * (i * 53 % 700)])) for i in range(600)]
    windows = set()
    faults = []
    for line in lines:
        spool.append(line)
        if spool._map_start in windows:
            continue
        windows.add(spool._map_start)
        # The preparing thread answers within milliseconds; bounded all the same.
        deadline = time.monotonic() + 10
        while spool._ready is None and time.monotonic() < deadline:
            time.sleep(0.001)
        ready = spool._ready
        assert ready is not None
        assert os.fstat(spool._fd).st_size >= ready.end  # its blocks are reserved
        # Touch every page of the ready window past the current one with the zero byte it
        # holds: page faults now are what the callback's copies would take.
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for offset in range(spool._map_end - ready.start, ready.end - ready.start, mmap.PAGESIZE):
            ready.map[offset] = 0
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    assert len(windows) > 3
    assert len(mapped_by_append) == 1  # the spool file's first window only
    if can_populate:  # the kernel has MADV_POPULATE_WRITE (Linux 5.14)
        assert max(faults) < 8, faults  # against 31 a window without it
    current = tmp_path / "w" / "00000001.jsonl"
    assert read_spool_file(current) == b"".join(lines)
    spool.rotate()
    assert current.stat().st_size == sum(map(len, lines))
    spool.close()


def test_a_full_disk_is_an_error_before_a_byte_is_written(
    isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "WINDOW_BYTES", 4096)
    writer = EventWriter(load_settings(flush_seconds=3600))
    kept = event_row()
    writer.submit(kept)

    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    big = event_row(tags=["x" * 9000])  # needs a new window, which cannot be had
    writer.submit(big)
    assert writer.stats.held == 1 and "No space" in (writer.stats.last_error or "")
    monkeypatch.undo()
    writer.flush()
    got = read_events(isolated_data_dir)
    assert sorted(r["event_id"] for r in got) == sorted([kept["event_id"], big["event_id"]])


def test_a_dead_writers_zero_tail_and_torn_line_lose_only_the_torn_line(
    isolated_data_dir: Path,
) -> None:
    folder = isolated_data_dir / "spool" / "dead-writer"
    spool = SpoolFiles(folder, {"writer_id": "dead-writer"})
    rows = [event_row() for _ in range(20)]
    for row in rows:
        spool.append(encode_line(row))
    # Die in the middle of copying a line: half of it in the page cache, nothing after.
    torn = encode_line(event_row())
    start = spool._pos - spool._map_start
    assert spool._map is not None
    spool._map[start : start + len(torn) // 2] = torn[: len(torn) // 2]
    spool.abandon()  # the process is gone: its lock with it

    survivor = EventWriter(load_settings())
    assert survivor.recover_orphans() == 1
    assert sorted(r["event_id"] for r in read_events(isolated_data_dir)) == sorted(
        r["event_id"] for r in rows
    )
    assert not folder.exists()


def test_a_rotation_while_an_append_waits_for_its_window_puts_the_line_in_the_new_spool_file(
    tmp_path: Path,
) -> None:
    """An append that needs the next window can wait for the preparing thread, which lets
    go of the mutex; the writer can rotate in between. The line then belongs at the start
    of the new spool file (it was written at the old spool file's offset once: a spool file whose
    first megabyte was zeros, which readers take for its end, or an IndexError)."""
    spool = SpoolFiles(tmp_path / "w", {"writer_id": "w"})
    # The preparing thread stays idle; the test plays its part (`_filling`) by hand.
    spool._prepare_next = lambda: None  # type: ignore[method-assign]
    line = encode_line(event_row())
    spool.append(line)  # maps the spool file's first window
    while spool._pos + len(line) <= spool._map_end:
        spool.append(line)
    first_rows = spool.rows_in_file
    with spool._mutex:  # as if the preparing thread were at work on the next window
        spool._filling = True
    waiters = spool._filled._waiters  # type: ignore[attr-defined]

    def started(thread: threading.Thread, count: int) -> None:
        thread.start()
        for _ in range(500):
            if len(waiters) == count:
                return
            time.sleep(0.01)
        raise AssertionError("the thread never waited")

    rotation = threading.Thread(target=spool.rotate)
    started(rotation, 1)  # waits for the window first: woken first
    failures: list[BaseException] = []

    def append() -> None:
        try:
            spool.append(line)
        except BaseException as exc:
            failures.append(exc)

    appending = threading.Thread(target=append)
    started(appending, 2)
    with spool._mutex:
        spool._filling = False
        spool._filled.notify(1)
    rotation.join(5)
    with spool._mutex:
        spool._filled.notify_all()
    appending.join(5)
    assert not failures and not rotation.is_alive() and not appending.is_alive()
    spool.rotate()
    first, second, _current = list_spool_files(tmp_path / "w")
    assert read_spool_file(first).count(b"\n") == first_rows
    assert read_spool_file(second) == line
    spool.close()


# ---- carry files ----------------------------------------------------------------------------


def _spool_file(folder: Path, seq: int, rows: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{seq:08d}.jsonl"
    path.write_bytes(b"".join(encode_line(r) for r in rows))
    return path


def test_a_marker_is_carried_from_spool_file_to_spool_file_until_its_event_comes(
    tmp_path: Path,
) -> None:
    folder, sink, result = tmp_path / "w", Sink(str(tmp_path / "data")), Result()
    _spool_file(folder, 1, [marker("late"), callback("other")])
    convert_folder(folder, CONSTANTS, sink, result, through=1, final=False, own=True)
    assert [c.name for c in list_carries(folder)] == ["00000001.carry"]
    _spool_file(folder, 2, [event_row()])
    convert_folder(folder, CONSTANTS, sink, result, through=2, final=False, own=True)
    assert [c.name for c in list_carries(folder)] == ["00000002.carry"]  # superseded
    _spool_file(folder, 3, [callback("late")])
    convert_folder(folder, CONSTANTS, sink, result, through=3, final=False, own=True)
    rows = read_events(tmp_path / "data")
    assert sorted(r["call_id"] or "" for r in rows if r["call_id"] in ("late", "other")) == [
        "late",
        "other",
    ]
    assert {r["capture"] for r in rows} == {"callback"} and len(rows) == 3
    assert list_spool_files(folder) == [] and result.written == 3


def test_a_crash_at_any_step_of_a_carried_conversion_repeats_it_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, sink = tmp_path / "w", Sink(str(tmp_path / "data"))
    _spool_file(folder, 1, [marker("m1"), marker("m2", end_ts=BASE_TS), callback("a")])
    convert_folder(folder, CONSTANTS, sink, Result(), through=1, final=False, own=True)
    _spool_file(folder, 2, [callback("m1"), callback("b")])

    # Die after the Parquet file and the new carry file are in place, before any delete.
    monkeypatch.setattr(Path, "unlink", lambda self, missing_ok=False: None)
    convert_folder(folder, CONSTANTS, sink, Result(), through=2, final=False, own=True)
    monkeypatch.undo()
    assert carry_path(folder, 1).exists() and carry_path(folder, 2).exists()
    # Next round (or a recovering writer) converts spool file 2 again, then the folder as dead.
    convert_folder(folder, CONSTANTS, sink, Result(), through=None, final=True, own=False)
    rows = read_events(tmp_path / "data")
    assert sorted(r["call_id"] for r in rows) == ["a", "b", "m1", "m2"]
    assert {r["call_id"]: r["capture"] for r in rows}["m2"] == "response_hook"  # expired
    assert list(folder.iterdir()) == []


def test_a_duplicate_across_a_spool_file_cut_is_dropped(tmp_path: Path) -> None:
    """LiteLLM fired the callback twice and the spool file was cut in between: the carried
    ids of spool file 1 recognise the second one in spool file 2."""
    folder, sink = tmp_path / "w", Sink(str(tmp_path / "data"))
    _spool_file(folder, 1, [callback("a"), callback("b")])
    convert_folder(folder, CONSTANTS, sink, Result(), through=1, final=False, own=True)
    _spool_file(folder, 2, [callback("a"), callback("c")])
    result = Result()
    convert_folder(folder, CONSTANTS, sink, result, through=2, final=False, own=True)
    assert sorted(r["call_id"] for r in read_events(tmp_path / "data")) == ["a", "b", "c"]
    assert (result.written, result.duplicates) == (1, 1)
    # The carried ids never become rows, even when the writer is gone.
    convert_folder(folder, CONSTANTS, sink, Result(), through=None, final=True, own=False)
    assert len(read_events(tmp_path / "data")) == 3 and list(folder.iterdir()) == []


def test_the_carried_ids_are_the_folders_last_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window of RECENT_IDS rows, across spool files (a short spool file does not shrink it);
    an id older than the window is forgotten."""
    monkeypatch.setattr(spool_to_parquet, "RECENT_IDS", 3)
    monkeypatch.setattr(spool_to_parquet, "SEEN_PER_LINE", 2)
    folder, sink = tmp_path / "w", Sink(str(tmp_path / "data"))
    _spool_file(folder, 1, [callback(f"e{i}") for i in range(4)])
    convert_folder(folder, CONSTANTS, sink, Result(), through=1, final=False, own=True)
    _spool_file(folder, 2, [callback("e4")])
    convert_folder(folder, CONSTANTS, sink, Result(), through=2, final=False, own=True)
    lines = [json.loads(line) for line in carry_path(folder, 2).read_text().splitlines()]
    assert [line["capture"] for line in lines] == ["seen", "seen"]  # two ids a line
    assert [i for line in lines for i in line["seen_events"]] == [f"e{i}@{BASE_TS}" for i in (2, 3, 4)]
    assert [i for line in lines for i in line["seen_calls"]] == ["e2", "e3", "e4"]
    _spool_file(folder, 3, [callback("e3"), callback("e0")])
    convert_folder(folder, CONSTANTS, sink, Result(), through=3, final=False, own=True)
    ids = sorted(r["call_id"] for r in read_events(tmp_path / "data"))
    assert ids == ["e0", "e0", "e1", "e2", "e3", "e4"]


def test_a_carry_file_left_alone_becomes_rows_once(tmp_path: Path) -> None:
    folder, sink = tmp_path / "w", Sink(str(tmp_path / "data"))
    _spool_file(folder, 4, [marker("never")])
    convert_folder(folder, CONSTANTS, sink, Result(), through=4, final=False, own=True)
    assert list_carries(folder) and not list_spool_files(folder)
    for _ in range(2):  # the writer is gone; recovery may run twice
        convert_folder(folder, CONSTANTS, sink, Result(), through=None, final=True, own=False)
    (row,) = read_events(tmp_path / "data")
    assert row["call_id"] == "never" and row["capture"] == "response_hook"
    assert (tmp_path / "data/events/date=2026-11-18" / parquet_name("w", 5)).exists()


# ---- the converter child process ---------------------------------------------------------


def test_the_writer_converts_in_a_child_process_by_default(
    isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSTATS_CONVERTER", "process")
    writer = EventWriter(load_settings())
    rows = [event_row() for _ in range(30)]
    for row in rows:
        writer.submit(row)
    writer.flush()
    assert sorted(r["event_id"] for r in read_events(isolated_data_dir)) == sorted(
        r["event_id"] for r in rows
    )
    assert writer.stats.written == 30 and writer.stats.files == 1
    assert writer.stats.extra["converter_peak_rss_kb"] > 10_000  # measured in the child
    beat = json.loads((isolated_data_dir / "writers" / f"{writer.writer_id}.json").read_text())
    assert beat["written"] == 30


def test_a_failing_child_keeps_the_spool_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSTATS_CONVERTER", "process")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    writer = EventWriter(
        load_settings(data_dir=str(blocker / "data"), spool_dir=str(tmp_path / "spool"))
    )
    writer.submit(event_row())
    with pytest.raises(ConverterFailed, match="NotADirectoryError"):
        writer.flush()
    assert list_spool_files(writer.folder)  # still there for the next round
    blocker.unlink()
    writer.flush()
    assert len(read_events(blocker / "data")) == 1


def test_with_no_child_to_be_had_the_writer_converts_in_process(
    isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSTATS_CONVERTER", "process")
    writer = EventWriter(load_settings())
    monkeypatch.setattr(sys, "executable", str(isolated_data_dir / "missing" / "python3"))
    writer.submit(event_row())
    writer.flush()
    assert len(read_events(isolated_data_dir)) == 1
    assert "FileNotFoundError" in (writer.stats.last_error or "")


PROXY_LIKE = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, {tests!r})
    from tests.support.rows import event_row
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.litellm_logger import LLMStatsLogger
    logger = LLMStatsLogger(load_settings())
    payload = {{"id": "r1", "litellm_call_id": "c1", "call_type": "acompletion",
               "startTime": 1795000000.0, "endTime": 1795000001.0, "prompt_tokens": 5,
               "messages": [{{"role": "user", "content": "hello there"}}]}}
    logger.log_success_event({{"standard_logging_object": payload}}, None, None, None)
    assert logger.flush(60)
    print(json.dumps({{"pyarrow": "pyarrow" in sys.modules, "written": logger.writer.stats.written,
                      "errors": logger.errors}}))
    """
)


def test_a_process_that_captures_never_loads_pyarrow(isolated_data_dir: Path) -> None:
    env = {**os.environ, "LLMSTATS_CONVERTER": "process"}
    script = PROXY_LIKE.format(tests=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "pyarrow": False,
        "written": 1,
        "errors": 0,
    }
    (row,) = read_events(isolated_data_dir)
    assert row["segments"] == [{"role": "user", "kind": "text", "tokens": 5}]


COUNTING_WRITER = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {tests!r})
    from tests.support.rows import event_row
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.writer import EventWriter
    writer = EventWriter(load_settings(flush_seconds=3600))
    for i in range(50):
        row = event_row(event_id=f"e{{i}}", input_tokens=100)
        prompt = (row["event_id"], {{"messages": [{{"role": "user", "content": "count me " * 20}}]}}, 100, False, None)
        writer.submit(row, prompt)
    writer.segmenter.drain()
    os.kill(os.getpid(), 9)
    """
)


def test_counts_written_before_a_kill_9_reach_the_recovered_rows(isolated_data_dir: Path) -> None:
    script = COUNTING_WRITER.format(tests=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    EventWriter(load_settings()).recover_orphans()
    rows = read_events(isolated_data_dir)
    assert len(rows) == 50
    assert all(r["segments"] == [{"role": "user", "kind": "text", "tokens": 100}] for r in rows)
    assert all(r["segments_estimated"] is False for r in rows)


@pytest.mark.parametrize("missing", [AttributeError, OSError(errno.EOPNOTSUPP, "not supported")])
def test_without_fallocate_the_window_is_reserved_by_writing_zeros(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: BaseException
) -> None:
    def unavailable(fd: int, offset: int, length: int) -> None:
        raise missing

    monkeypatch.setattr(os, "posix_fallocate", unavailable)
    monkeypatch.setattr(spool_module, "WINDOW_BYTES", 8192)
    spool = SpoolFiles(tmp_path / "w", {"writer_id": "w"})
    lines = [encode_line(event_row()) for _ in range(40)]
    for line in lines:
        spool.append(line)
    assert read_spool_file(tmp_path / "w" / "00000001.jsonl") == b"".join(lines)
    spool.close()


def test_every_line_read_is_a_row_a_counted_drop_or_carried_on(tmp_path: Path) -> None:
    """A conversion's own books: lines + carried_in == rows + dropped + carried_out, with
    each drop under its reason, across a carry into the next spool file."""
    folder, sink = tmp_path / "w", Sink(str(tmp_path / "data"))
    twice = event_row()
    spool_file = _spool_file(folder, 1, [
        callback("a"), marker("a"),  # a marker settled by its event
        marker("b"),  # a marker whose event comes in the next spool file: carried
        twice, twice,  # LiteLLM reported one attempt twice
        event_row(ts=None),  # no start time anywhere: no date for a row
        event_row(),
    ])  # fmt: skip
    with spool_file.open("ab") as out:
        out.write(b'{"event_id": "torn", "ts": \n')  # a damaged line mid-file
        out.write(encode_line(event_row()))
    done = convert_spool_file(spool_file, constants=CONSTANTS, sink=sink, name="one.parquet",
                           carry_after_us=0)  # fmt: skip
    assert done.balanced and (done.lines, done.carried_in, done.carried.num_rows) == (9, 0, 1)
    assert sum(done.rows.values()) == 4
    assert done.dropped == {"no_id_or_start": 1, "unreadable": 1, "duplicate": 1,
                            "marker_settled": 1}  # fmt: skip
    carry = tmp_path / "carry"
    carry.write_bytes(b"".join(encode_line(r) for r in done.carried.to_pylist() + done.recent_ids))
    later = _spool_file(folder, 2, [callback("b"), twice])
    after = convert_spool_file(later, constants=CONSTANTS, sink=sink, name="two.parquet",
                            carry_in=carry, carry_after_us=0)  # fmt: skip
    assert after.balanced and (after.lines, after.carried_in, after.carried.num_rows) == (2, 1, 0)
    assert after.dropped == {"no_id_or_start": 0, "unreadable": 0, "duplicate": 1,
                             "marker_settled": 1}  # fmt: skip
