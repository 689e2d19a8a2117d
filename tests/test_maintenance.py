"""Retention, purge, compaction and the audit log: exact outputs, the compaction protocol's
hazards one at a time, and the writer's daily retention hook."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llmstats.analytics.cli.app import app
from llmstats.analytics.connection import connect
from llmstats.analytics.maintenance.compaction import compact, delete_replaced
from llmstats.analytics.store.dataset import event_files
from llmstats.plugin.audit import append_entry, verify_chain
from llmstats.plugin.config import load_settings
from llmstats.plugin.spool import SpoolFiles
from llmstats.plugin.writer import EventWriter
from tests.support.rows import event_row

runner = CliRunner()
DAY_US = 86_400_000_000


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def day_ts(days_ago: int, second: int = 0) -> int:
    today = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    return int((today - dt.timedelta(days=days_ago)).timestamp() * 1_000_000) + second * 1_000_000


def day(days_ago: int) -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days_ago)).isoformat()


def write_files(per_file: list[list[dict[str, Any]]], writer_id: str = "w") -> None:
    """One Parquet file per inner list (a flush after each), through the real writer."""
    writer = EventWriter(load_settings(flush_seconds=3600), writer_id=writer_id)
    for rows in per_file:
        for row in rows:
            writer.submit(row)
        writer.flush()
    writer.close()


def ids_in_views(data_dir: Path) -> list[str]:
    con = connect(str(data_dir))
    return [r[0] for r in con.execute("SELECT event_id FROM events ORDER BY event_id").fetchall()]


# ---- audit log ------------------------------------------------------------------------

def _log(data_dir: Path, n: int = 4) -> list[bytes]:
    for i in range(n):
        append_entry(str(data_dir), "prune", {"older_than_days": i + 1}, {"files": i})
    return (data_dir / "audit.jsonl").read_bytes().splitlines(keepends=True)


def _verify(data_dir: Path) -> list[str]:
    result = invoke("audit", "verify")
    assert result.exit_code == (0 if "OK" in result.stdout else 1), result.output
    return result.stdout.splitlines()


def test_an_intact_log_verifies(isolated_data_dir: Path) -> None:
    lines = _log(isolated_data_dir)
    head = json.loads(lines[-1])["hash"]
    result = invoke("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"audit log OK: 4 entries, head {head}\n"
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4]
    assert json.loads(lines[1])["prev"] == json.loads(lines[0])["hash"]


def test_verify_names_an_edited_entry(isolated_data_dir: Path) -> None:
    lines = _log(isolated_data_dir)
    lines[1] = lines[1].replace(b'"files":1', b'"files":0')
    (isolated_data_dir / "audit.jsonl").write_bytes(b"".join(lines))
    result = invoke("audit", "verify")
    assert result.exit_code == 1, result.output
    assert result.stdout == "line 2 (entry 2): edited: the entry's hash does not match its content\n"
    assert result.stderr == "llmstats: audit log verification failed: 1 problem(s) in 4 entries\n"


def test_verify_names_a_deleted_entry(isolated_data_dir: Path) -> None:
    lines = _log(isolated_data_dir)
    del lines[1]
    (isolated_data_dir / "audit.jsonl").write_bytes(b"".join(lines))
    assert _verify(isolated_data_dir) == [
        "line 2 (entry 3): deleted: entry 2 missing before this line"]


def test_verify_names_an_inserted_entry(isolated_data_dir: Path) -> None:
    lines = _log(isolated_data_dir)
    lines.insert(2, lines[1])  # a replayed copy of entry 2, with a valid hash of its own
    (isolated_data_dir / "audit.jsonl").write_bytes(b"".join(lines))
    assert _verify(isolated_data_dir) == [
        "line 3 (entry 2): inserted: entry 2 appears again after entry 2"]


def test_verify_names_reordered_entries(isolated_data_dir: Path) -> None:
    lines = _log(isolated_data_dir)
    lines[1], lines[2] = lines[2], lines[1]
    (isolated_data_dir / "audit.jsonl").write_bytes(b"".join(lines))
    assert _verify(isolated_data_dir) == [
        "line 2 (entry 3): reordered: entry 3 stands where entry 2 belongs",
        "line 3 (entry 2): reordered: entry 2 stands where entry 3 belongs"]


def test_an_edit_that_recomputes_its_own_hash_breaks_the_next_link(isolated_data_dir: Path) -> None:
    from llmstats.plugin.audit import canonical, entry_hash

    lines = _log(isolated_data_dir)
    entry = json.loads(lines[1])
    entry["result"]["files"] = 99
    entry["hash"] = entry_hash(entry)
    lines[1] = canonical(entry) + b"\n"
    (isolated_data_dir / "audit.jsonl").write_bytes(b"".join(lines))
    problems, _, _ = verify_chain(str(isolated_data_dir))
    assert [(p.line, p.seq, p.problem.split(":")[0]) for p in problems] == [(3, 3, "chain broken")]


@pytest.mark.parametrize("depth", [100_000, 990])
def test_a_deeply_nested_line_is_a_problem_not_a_crash(isolated_data_dir: Path,
                                                       depth: int) -> None:
    """Nested deeper than Python's JSON reads (100,000), or than it can hash again (990,
    read at the limit): verify names the line, show skips it, and the maintenance commands
    still append after it (chained to the damage, which stays visible)."""
    lines = _log(isolated_data_dir)
    nested = b'{"seq": 5, "x": ' + b"[" * depth + b"]" * depth + b"}\n"
    (isolated_data_dir / "audit.jsonl").write_bytes(b"".join([*lines[:2], nested, *lines[2:]]))
    result = invoke("audit", "verify")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stdout.splitlines()[0] == (
        "line 3: not a JSON object: the line was edited or damaged")
    assert result.stderr.startswith("llmstats: audit log verification failed: ")
    assert len(result.stderr.splitlines()) == 1
    result = invoke("audit", "show", "-f", "json")
    assert result.exit_code == 0, result.output
    assert [row["line"] for row in json.loads(result.stdout)["rows"]] == [1, 2, 4, 5]
    (isolated_data_dir / "audit.jsonl").write_bytes(b"".join([*lines, nested]))
    result = invoke("rollup")
    assert result.exit_code == 0, result.output
    problems, count, _ = verify_chain(str(isolated_data_dir))
    assert count == 6 and [p.line for p in problems][:1] == [5]


def test_concurrent_appends_from_processes_keep_the_chain(isolated_data_dir: Path) -> None:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(isolated_data_dir), 25))
               for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    problems, count, _ = verify_chain(str(isolated_data_dir))
    assert (problems, count) == ([], 100)


def _append_many(data_dir: str, n: int) -> None:
    for i in range(n):
        append_entry(data_dir, "export", {"i": i}, {})


# ---- prune and purge ------------------------------------------------------------------

@pytest.fixture
def three_days(isolated_data_dir: Path) -> Path:
    write_files([[event_row(ts=day_ts(100)), event_row(ts=day_ts(100, 1))],
                 [event_row(ts=day_ts(40))], [event_row(ts=day_ts(5))]])
    return isolated_data_dir


def test_prune_dry_run_then_prune(three_days: Path) -> None:
    files = {e.path: e.size for e in event_files(str(three_days))}
    old_bytes = sum(size for path, size in files.items() if day(5) not in path)
    result = invoke("prune", "--older-than", "30d", "--dry-run", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == [
        {"what": "event partitions", "files": 2, "rows": 3, "bytes": old_bytes, "partitions": 2},
        {"what": "dead writers' spool", "files": 0, "rows": 0, "bytes": 0, "partitions": None}]
    assert len(event_files(str(three_days))) == 3
    result = invoke("prune", "--older-than", "30d", "-f", "markdown")
    assert result.exit_code == 0, result.output
    assert result.stdout == EXPECTED_PRUNE.format(cutoff=day(30), first=day(100), last=day(40),
                                                  bytes=f"{old_bytes:,}")
    assert sorted(os.listdir(three_days / "events")) == [f"date={day(5)}"]
    assert len(ids_in_views(three_days)) == 1
    entry = json.loads((three_days / "audit.jsonl").read_bytes().splitlines()[-1])
    assert (entry["action"], entry["parameters"], entry["result"]["rows"],
            entry["result"]["partitions"]) == ("prune", {"older_than_days": 30}, 3, 2)


EXPECTED_PRUNE = """\
## Prune before {cutoff}: removed 2 partition(s)

| what | files | rows | bytes | partitions |
|---|---|---|---|---|
| event partitions | 2 | 3 | {bytes} | 2 |
| dead writers' spool | 0 | 0 | 0 | — |

> partitions {first} … {last}
"""


@pytest.mark.parametrize("age", ["30", "0d", "thirty days", "-3d"])
def test_prune_bad_age_is_exit_2_one_line(isolated_data_dir: Path, age: str) -> None:
    result = invoke("prune", "--older-than", age)
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"llmstats: bad age {age!r}: use a number of days or weeks "
                             "like 30d or 4w\n")


def test_prune_removes_dead_spools_before_the_cutoff_and_never_a_live_one(
        isolated_data_dir: Path) -> None:
    spool = isolated_data_dir / "spool"
    dead = spool / "dead-writer"
    dead.mkdir(parents=True)
    (dead / "00000001.jsonl").write_bytes(b'{"event_id":"a"}\n{"event_id":"b"}\n')
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=60)).timestamp()
    os.utime(dead / "00000001.jsonl", (old, old))
    live = SpoolFiles(spool / "live-writer", {"writer_id": "live-writer"})
    live.append(b'{"event_id":"c"}\n')
    os.utime(spool / "live-writer" / "00000001.jsonl", (old, old))
    try:
        result = invoke("prune", "--older-than", "30d", "-f", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["rows"][1] == {
            "what": "dead writers' spool", "files": 1, "rows": 2, "bytes": 34, "partitions": None}
        assert not dead.exists()
        assert (spool / "live-writer" / "00000001.jsonl").exists()
    finally:
        live.close()


def test_purge_refuses_without_yes(isolated_data_dir: Path) -> None:
    result = invoke("purge")
    assert result.exit_code == 2, result.output
    assert result.stderr == "llmstats: purge removes every event; run `llmstats purge --yes` to confirm\n"


def test_purge_keeps_config_secret_pricing_and_audit(three_days: Path) -> None:
    (three_days / "secret.key").write_text("s")
    result = invoke("pricing", "set", "m", "--input", "1", "--output", "2")
    assert result.exit_code == 0, result.output
    result = invoke("rollup")  # rollups hold identities too
    assert result.exit_code == 0, result.output
    rollup_files = len([p for p in (three_days / "rollups").rglob("*") if p.is_file()])
    assert rollup_files
    result = invoke("purge", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("purged 3 partition(s): 3 files, 4 rows, 0 spool files, "
                                    f"{1 + rollup_files} heartbeat/quarantine/rollup files, ")
    assert sorted(os.listdir(three_days)) == [
        "audit.jsonl", "audit.lock", "events", "maintenance.lock", "pricing", "secret.key", "spool"]
    # spool/ keeps only this process's own writer folder: its flock is still held.
    assert os.listdir(three_days / "events") == []
    assert ids_in_views(three_days) == []
    actions = [json.loads(line)["action"] for line in (three_days / "audit.jsonl").read_bytes().splitlines()]
    assert actions == ["pricing set", "rollup", "purge"]


def test_the_writer_applies_retention_once_a_day(isolated_data_dir: Path) -> None:
    write_files([[event_row(ts=day_ts(10))], [event_row(ts=day_ts(1))]])
    writer = EventWriter(load_settings(flush_seconds=3600, retention_days=3), writer_id="r")
    writer.start()
    try:
        writer.submit(event_row(ts=day_ts(0)))
        assert writer.flush()
    finally:
        writer.close()
    assert sorted(os.listdir(isolated_data_dir / "events")) == [f"date={day(1)}", f"date={day(0)}"]
    entries = [json.loads(line) for line in (isolated_data_dir / "audit.jsonl").read_bytes().splitlines()]
    assert [(e["action"], e["actor"]) for e in entries] == [("config", "writer r"), ("prune", "writer r")]
    assert entries[1]["result"]["partitions"] == 1 and entries[1]["result"]["rows"] == 1


def test_a_failing_retention_run_never_stops_the_writer(isolated_data_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import llmstats.plugin.retention as retention

    def boom(*_: Any, **__: Any) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(retention, "prune_partitions", boom)
    writer = EventWriter(load_settings(flush_seconds=3600, retention_days=3), writer_id="f")
    writer.start()
    try:
        writer.submit(event_row(ts=day_ts(0)))
        assert writer.flush()
        assert writer.stats.last_error == "OSError: disk on fire"
        writer.submit(event_row(ts=day_ts(0)))
        assert writer.flush()
        assert writer.stats.written == 2
    finally:
        writer.close()


# ---- compaction -----------------------------------------------------------------------

@pytest.fixture
def small_files(isolated_data_dir: Path) -> tuple[Path, list[str]]:
    batches = [[event_row(ts=day_ts(2, 100 - 3 * i - j)) for j in range(3)] for i in range(20)]
    write_files(batches)
    ids = sorted(r["event_id"] for batch in batches for r in batch)
    return isolated_data_dir, ids


def test_compact_merges_every_partition_that_needs_it(small_files: tuple[Path, list[str]]) -> None:
    data_dir, ids = small_files
    folder = data_dir / "events" / f"date={day(2)}"
    result = invoke("compact", "-f", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    [row] = document["rows"]
    assert (row["date"], row["input_files"], row["rows"]) == (day(2), 20, 60)
    assert document["notes"] == ["0 replaced input file(s) deleted after the grace period",
                                 "rollups rebuilt for 1 partition(s)"]
    assert [os.path.basename(e.path) for e in event_files(str(data_dir))] == [row["output"]]
    assert ids_in_views(data_dir) == ids
    import pyarrow.parquet as pq

    from llmstats.plugin.schema import EVENT_SCHEMA

    merged = pq.read_table(folder / row["output"])
    assert merged.column("ts").to_pylist() == sorted(merged.column("ts").to_pylist())
    assert merged.schema.field("ts").type == EVENT_SCHEMA.field("ts").type
    assert merged.schema.field("segments").type == EVENT_SCHEMA.field("segments").type
    # Inputs stay for the grace period; a second run has nothing to do.
    assert len(list(folder.glob("w-*.parquet"))) == 20
    result = invoke("compact", "-f", "json")
    assert json.loads(result.stdout)["rows"] == []


def test_manifest_without_its_output_hides_nothing(small_files: tuple[Path, list[str]]) -> None:
    """Hazard b: the manifest is written before the output is renamed into place; a
    listing in between must still read the inputs."""
    data_dir, ids = small_files
    folder = data_dir / "events" / f"date={day(2)}"
    inputs = sorted(p.name for p in folder.glob("*.parquet"))
    (folder / "_compaction-x1.json").write_text(json.dumps({"inputs": inputs, "output": "compacted-x1.parquet"}))
    assert ids_in_views(data_dir) == ids


def test_a_recreated_input_stays_excluded_and_is_deleted_later(
        small_files: tuple[Path, list[str]]) -> None:
    """Hazard c: the writer's crash recovery re-creates an input under its deterministic
    name after compaction merged it."""
    data_dir, ids = small_files
    folder = data_dir / "events" / f"date={day(2)}"
    saved = folder / "w-00000003.parquet"
    copy = data_dir.parent / "copy.parquet"
    shutil.copy(saved, copy)
    compact(str(data_dir), min_files=2)
    assert delete_replaced(str(data_dir), grace_seconds=0) == 20
    shutil.copy(copy, saved)  # recovery rewrites the same rows under the same name
    assert ids_in_views(data_dir) == ids
    assert delete_replaced(str(data_dir), grace_seconds=0) == 1
    assert not saved.exists()


def test_recompaction_keeps_excluding_the_first_runs_inputs(
        small_files: tuple[Path, list[str]]) -> None:
    data_dir, ids = small_files
    folder = data_dir / "events" / f"date={day(2)}"
    saved = folder / "w-00000001.parquet"
    copy = data_dir.parent / "copy.parquet"
    shutil.copy(saved, copy)
    first = compact(str(data_dir), min_files=2).partitions[0].output
    more = [[event_row(ts=day_ts(2, 500 + i))] for i in range(3)]
    write_files(more, writer_id="v")
    ids = sorted(ids + [r[0]["event_id"] for r in more])
    second = compact(str(data_dir), min_files=2).partitions[0]
    assert second.input_files == 4  # the first output and three new files
    assert delete_replaced(str(data_dir), grace_seconds=0) == 24
    assert not (folder / str(first)).exists()
    shutil.copy(copy, saved)  # an input of the *first* run, re-created
    assert ids_in_views(data_dir) == ids


def test_bad_compact_input_is_exit_2(isolated_data_dir: Path) -> None:
    for args, message in ((["--date", "yesterday"], "bad date 'yesterday': use YYYY-MM-DD"),
                          (["--date", "2026-11-01", "--since", "7d"], "give --date or --since, not both"),
                          (["--min-files", "1"], "--min-files must be at least 2")):
        result = invoke("compact", *args)
        assert result.exit_code == 2, result.output
        assert result.stderr == f"llmstats: {message}\n"


def test_status_shows_small_files_retention_and_the_compaction_hint(
        small_files: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    del small_files  # the fixture wrote 20 small files
    monkeypatch.setenv("LLMSTATS_RETENTION_DAYS", "90")
    result = invoke("status", "-f", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    totals = document["totals"]
    assert {k: totals[k] for k in ("retention_days", "last_prune", "last_compaction", "small_files",
                                   "small_files_per_partition", "compaction_due")} == {
        "retention_days": 90, "last_prune": None, "last_compaction": None, "small_files": 20,
        "small_files_per_partition": {day(2): 20}, "compaction_due": [day(2)]}
    assert document["notes"] == [
        f"1 closed day(s) without up-to-date rollups ({day(2)}): reports read their events; "
        "`llmstats rollup` builds them.",
        f"Compaction due for 1 partition(s) ({day(2)}): run `llmstats compact`."]
    assert totals["rollup_days"] == 0 and totals["days_without_rollups"] == [day(2)]
    assert invoke("compact").exit_code == 0  # compaction builds the day's rollups too
    document = json.loads(invoke("status", "-f", "json").stdout)
    totals = document["totals"]
    assert totals["small_files"] == 1 and totals["compaction_due"] == []
    assert totals["rollup_days"] == 1 and "notes" not in document
    assert totals["last_compaction"].startswith(dt.datetime.now(dt.UTC).date().isoformat())


def test_audit_show_lists_entries(small_files: tuple[Path, list[str]]) -> None:
    data_dir, _ = small_files
    assert invoke("compact").exit_code == 0
    assert invoke("export", "-o", str(data_dir.parent / "x.jsonl")).exit_code == 0
    result = invoke("audit", "show", "-f", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert [(r["seq"], r["action"]) for r in rows] == [(1, "compact"), (2, "export")]
    assert rows[0]["result"]["rows"] == 60 and rows[1]["result"] == {"rows": 60}
    result = invoke("audit", "show", "--action", "export")
    assert result.exit_code == 0, result.output
    assert "compact" not in result.stdout and "rows=60" in result.stdout


def test_compaction_merges_files_of_older_layouts(small_files: tuple[Path, list[str]]) -> None:
    """A file written before some columns existed: its rows get NULLs there, the merged
    file keeps the contract's types."""
    import pyarrow.parquet as pq

    data_dir, ids = small_files
    folder = data_dir / "events" / f"date={day(2)}"
    old = pq.read_table(folder / "w-00000001.parquet")
    old = old.select([n for n in old.column_names if n not in ("tags", "segments", "route")])
    pq.write_table(old, folder / "w-00000001.parquet")
    [done] = compact(str(data_dir), min_files=2).partitions
    assert (done.input_files, done.rows) == (20, 60)
    merged = pq.read_table(folder / str(done.output))
    assert sorted(merged.column("event_id").to_pylist()) == ids
    old_ids = set(old.column("event_id").to_pylist())
    tags = dict(zip(merged.column("event_id").to_pylist(), merged.column("tags").to_pylist(), strict=True))
    assert {tags[i] is None for i in old_ids} == {True}
    assert {tags[i] == ["alpha"] for i in set(ids) - old_ids} == {True}
