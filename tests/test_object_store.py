"""An object-store data dir (s3:// on a real S3-compatible server on loopback: moto in
server mode): every command works on the URI, readers see complete objects only, compaction
keeps readers exact and hides replaced inputs from other engines, credentials stay out of
everything llmstats writes."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest
from typer.testing import CliRunner

from llmstats.analytics.cli.app import app
from llmstats.analytics.connection import connect
from llmstats.analytics.maintenance.compaction import compact, delete_replaced, hide_replaced
from llmstats.plugin.accounts import balanced
from llmstats.plugin.audit import verify_chain
from llmstats.plugin.config import load_settings
from llmstats.plugin.writer import EventWriter
from tests.support.event_data import write_fixture_dataset
from tests.support.moto_server import use_fresh_bucket
from tests.support.rows import event_row

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


@pytest.fixture
def bucket_uri(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket; LLMSTATS_DATA_DIR points into it."""
    return use_fresh_bucket(s3_endpoint, monkeypatch)


def objects(uri: str) -> dict[str, bytes]:
    """Every object under the URI, by path relative to it."""
    fs, root = pafs.FileSystem.from_uri(uri)
    found: dict[str, bytes] = {}
    try:
        infos = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    except FileNotFoundError:
        return found
    for info in infos:
        if info.type == pafs.FileType.File:
            with fs.open_input_stream(info.path) as stream:
                found[info.path.removeprefix(root + "/")] = stream.read()
    return found


def event_ids(data_dir: str) -> list[str]:
    con = connect(data_dir)
    return sorted(r[0] for r in con.execute("SELECT event_id FROM events").fetchall())


def write_batches(batches: int, rows: int, data_dir: str | None = None) -> list[str]:
    """One Parquet object per batch (a flush after each), through the real writer."""
    writer = EventWriter(load_settings(data_dir=data_dir, flush_seconds=3600))
    ids = []
    for _ in range(batches):
        for _ in range(rows):
            row = event_row()
            writer.submit(row)
            ids.append(row["event_id"])
        writer.flush()
    writer.close()
    return sorted(ids)


def rounded(text: str) -> Any:
    def walk(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 12)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    lines = text.splitlines()
    if len(lines) > 1 and all(line.startswith("{") for line in lines):  # jsonl
        return [walk(json.loads(line)) for line in lines]
    return walk(json.loads(text))


def masked(document: Any) -> Any:
    """Status without what differs between two data dirs by nature (their names, bytes)."""
    text = json.dumps(document, sort_keys=True)
    text = re.sub(r'"(data_dir|bytes|bytes_per_event|last_seen_s_ago)": [^,}]+', r'"\1": "*"', text)
    return json.loads(text)


def test_report_export_and_status_over_s3_equal_the_local_layout(
    bucket_uri: str, isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fixture_dataset(bucket_uri)
    monkeypatch.setenv("LLMSTATS_DATA_DIR", str(isolated_data_dir))
    write_fixture_dataset(str(isolated_data_dir))
    commands = [
        ["report", "-f", "json"],
        ["report", "--by", "model,day", "-f", "json"],
        ["report", "savings", "--by", "team", "-f", "json"],
        ["export", "-f", "jsonl"],
    ]
    commands.append(["sql", "SELECT model, count(*) AS n, sum(cost_usd) AS cost FROM event_costs "
                            "GROUP BY ALL ORDER BY ALL", "-f", "json"])
    for command in commands:
        local = invoke(*command, "--data-dir", str(isolated_data_dir))
        remote = invoke(*command, "--data-dir", bucket_uri)
        assert local.exit_code == 0 and remote.exit_code == 0, (local.output, remote.output)
        # Equal up to float summation order (DuckDB adds in parallel, in no fixed order).
        assert rounded(remote.stdout) == rounded(local.stdout), command
    local = invoke("status", "-f", "json", "--data-dir", str(isolated_data_dir))
    remote = invoke("status", "-f", "json", "--data-dir", bucket_uri)
    assert remote.exit_code == 0, remote.output
    assert json.loads(remote.stdout)["totals"]["data_dir"] == bucket_uri
    assert masked(json.loads(remote.stdout)["totals"]) == masked(json.loads(local.stdout)["totals"])
    # The export was recorded in the object-store audit log.
    assert [e["action"] for e in map(json.loads, _audit_lines(bucket_uri))] == ["export"]


def test_sql_on_s3_reads_the_views_and_cannot_write_to_the_bucket(bucket_uri: str) -> None:
    write_fixture_dataset(bucket_uri)
    before = objects(bucket_uri)
    for statement in (f"COPY (SELECT 1 AS a) TO '{bucket_uri}/events/date=2026-11-20/x.parquet'",
                      f"EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{bucket_uri}/audit/x.json'",
                      f"SELECT * FROM read_parquet('{bucket_uri}/events/*/*.parquet')"):
        result = invoke("sql", statement, "--data-dir", bucket_uri)
        assert result.exit_code in (1, 2) and result.output.startswith("llmstats: "), result.output
    assert objects(bucket_uri) == before


def _audit_lines(uri: str) -> list[bytes]:
    return [body for name, body in sorted(objects(uri).items()) if name.startswith("audit/")]


def test_a_missing_bucket_is_a_one_line_error(bucket_uri: str) -> None:
    result = invoke("report", "--data-dir", "s3://no-such-bucket-anywhere/llm")
    assert result.exit_code == 1
    assert result.output.startswith("llmstats: ") and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output


def test_commands_that_write_never_start_a_prefix_that_is_not_there(bucket_uri: str) -> None:
    """A prefix exists only through its objects: export (its audit entry) and maintenance
    on a mistyped one are bad usage and write nothing into the bucket."""
    bucket = bucket_uri.rsplit("/", 1)[0]
    typo = f"{bucket}/flet"
    for args, doing in ((["export"], "export"), (["compact"], "compact"), (["rollup"], "roll up"),
                        (["prune", "--older-than", "30d"], "prune")):
        result = invoke(*args, "--data-dir", typo)
        assert result.exit_code == 2, result.output
        assert result.stderr == (f"llmstats: no data dir at {typo}: nothing to {doing} "
                                 "(check --data-dir or LLMSTATS_DATA_DIR)\n")
    assert objects(bucket) == {}
    write_fixture_dataset(bucket_uri)
    result = invoke("compact")
    assert result.exit_code == 0, result.output


def test_partition_pruning_on_date_holds_over_s3(bucket_uri: str) -> None:
    write_fixture_dataset(bucket_uri)
    con = connect(bucket_uri)
    plan = con.execute("EXPLAIN ANALYZE SELECT count(*), sum(input_tokens) FROM events "
                       "WHERE date = DATE '2026-11-20'").fetchall()[0][1]
    assert "Scanning Files: 1/3" in plan and "Total Files Read: 1" in plan, plan


def test_large_objects_are_read_by_range_with_the_same_rows(
    bucket_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmstats.analytics.store import object_store

    ids = write_batches(3, 4)
    monkeypatch.setattr(object_store, "WHOLE_FILE_BYTES", 0)  # every file counts as large
    con = connect(bucket_uri)
    assert sorted(r[0] for r in con.execute("SELECT event_id FROM events").fetchall()) == ids
    assert con.execute("SELECT sum(input_tokens) FROM events").fetchone() == (12 * 120,)


def test_writers_spool_locally_and_put_only_finished_objects(bucket_uri: str, tmp_path: Path) -> None:
    ids = write_batches(3, 4)
    names = sorted(objects(bucket_uri))
    assert [n.rsplit("-", 1)[-1] for n in names if n.startswith("events/")] == [
        "00000001.parquet", "00000002.parquet", "00000003.parquet"]
    assert all(not n.rpartition("/")[2].startswith((".", "_")) for n in names)
    assert event_ids(bucket_uri) == ids
    spool_root = load_settings().spool_dir
    assert spool_root.is_relative_to(tmp_path / "state")  # local state dir, never the bucket


MULTIPART_WRITER = """
import os, signal, sys, time
import pyarrow.fs as pafs
fs, root = pafs.FileSystem.from_uri(sys.argv[1])
out = fs.open_output_stream(root + "/events/date=2026-11-20/big.parquet")
chunk = os.urandom(1 << 20)
for _ in range(24):  # past the part size: pyarrow starts a multipart upload
    out.write(chunk)
time.sleep(1.0)  # let the background part uploads reach the server
print("parts uploaded", flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # the writer dies before completing the upload
"""


def test_a_writer_killed_mid_upload_leaves_no_visible_object(
    bucket_uri: str, s3_endpoint: str
) -> None:
    """S3 shows an object only once its PUT, or its multipart upload's completion,
    succeeded: a writer killed half-way leaves nothing a reader can list or open."""
    done = subprocess.run([sys.executable, "-c", MULTIPART_WRITER, bucket_uri],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == -9 and "parts uploaded" in done.stdout, done.stderr
    bucket = bucket_uri.split("/")[2]
    with urllib.request.urlopen(f"{s3_endpoint}/{bucket}?uploads", timeout=5) as answer:
        in_progress = answer.read().decode()
    assert "<UploadId>" in in_progress and "big.parquet" in in_progress  # it really began
    assert objects(bucket_uri) == {}
    assert event_ids(bucket_uri) == []


def test_compaction_on_s3_keeps_every_reader_exact_and_hides_inputs(bucket_uri: str) -> None:
    ids = write_batches(12, 5)
    before = connect(bucket_uri)  # lists the small files before compaction
    run = compact(bucket_uri, min_files=2)
    assert [(p.input_files, p.rows) for p in run.partitions] == [(12, 60)]
    names = sorted(n.rpartition("/")[2] for n in objects(bucket_uri) if n.startswith("events/"))
    output = run.partitions[0].output
    assert output is not None and output in names
    # Other engines skip `_` files: only the compacted file is left for them.
    assert [n for n in names if not n.startswith("_")] == [output]
    assert sum(n.startswith("_replaced-") for n in names) == 12
    # The reader that listed the inputs still reads them (under their hidden names).
    assert sorted(r[0] for r in before.execute("SELECT event_id FROM events").fetchall()) == ids
    assert event_ids(bucket_uri) == ids
    assert delete_replaced(bucket_uri, grace_seconds=0) == 12
    assert [n for n in objects(bucket_uri) if n.startswith("events/")
            and n.endswith(".parquet")] == [f"events/date=2026-11-18/{output}"]
    assert event_ids(bucket_uri) == ids
    assert invoke("compact", "-f", "json").exit_code == 0


def test_a_compaction_that_lost_a_race_gives_back_the_names_it_hid(bucket_uri: str) -> None:
    """Two compactions at once (no lock on object storage): the one with the older
    manifest wins, the other's output counts for nothing and inputs only it had hidden
    get their names back."""
    ids = write_batches(4, 3)
    fs, root = pafs.FileSystem.from_uri(bucket_uri)
    folder = f"{root}/events/date=2026-11-18"
    names = sorted(i.base_name for i in fs.get_file_info(pafs.FileSelector(folder)))
    winner = compact(bucket_uri, min_files=2).partitions[0].output
    # A concurrent compaction that merged the same four files and a fifth one, published
    # with a newer manifest, and hid its inputs before it saw the winner.
    extra = write_batches(1, 3)
    fifth = sorted({i.base_name for i in fs.get_file_info(pafs.FileSelector(folder))
                    if i.base_name.endswith(".parquet")}
                   - {f"_replaced-{n}" for n in names} - {winner})
    assert len(fifth) == 1 and fifth[0] != winner
    fs.copy_file(f"{folder}/{winner}", f"{folder}/compacted-29991231T000000-loser.parquet")
    manifest = {"id": "29991231T000000-loser", "created_at": 4_102_444_800.0,
                "output": "compacted-29991231T000000-loser.parquet", "inputs": [*names, fifth[0]]}
    with fs.open_output_stream(f"{folder}/_compaction-29991231T000000-loser.json") as out:
        out.write(json.dumps(manifest).encode())
    fs.copy_file(f"{folder}/{fifth[0]}", f"{folder}/_replaced-{fifth[0]}")
    fs.delete_file(f"{folder}/{fifth[0]}")
    assert event_ids(bucket_uri) == sorted(ids + extra)  # llmstats readers: exact already
    hide_replaced(bucket_uri, "2026-11-18")
    visible = sorted(i.base_name for i in fs.get_file_info(pafs.FileSelector(folder))
                     if not i.base_name.startswith("_"))
    assert fifth[0] in visible and winner in visible
    assert event_ids(bucket_uri) == sorted(ids + extra)


def test_prune_and_purge_on_s3(bucket_uri: str) -> None:
    write_fixture_dataset(bucket_uri)
    dry = invoke("prune", "--older-than", "1d", "--dry-run", "-f", "json")
    assert dry.exit_code == 0, dry.output
    assert event_ids(bucket_uri) != []
    done = invoke("prune", "--older-than", "1d", "-f", "json")
    assert done.exit_code == 0, done.output
    [events] = [r for r in json.loads(done.stdout)["rows"] if r["what"] == "event partitions"]
    assert (events["rows"], events["partitions"]) == (8, 3)
    assert event_ids(bucket_uri) == []
    assert not [n for n in objects(bucket_uri) if n.startswith("events/")]
    assert invoke("purge", "--yes").exit_code == 0
    assert not [n for n in objects(bucket_uri) if n.startswith("writers/")]


def test_audit_log_on_s3_is_one_object_per_entry_and_a_fork_is_reported(bucket_uri: str) -> None:
    write_fixture_dataset(bucket_uri)
    for _ in range(3):
        assert invoke("export", "-f", "csv", "-o", "/dev/null").exit_code == 0
    names = [n for n in objects(bucket_uri) if n.startswith("audit/")]
    assert [n.split("/")[1].split("-")[0] for n in sorted(names)] == [
        "000000000001", "000000000002", "000000000003"]
    assert verify_chain(bucket_uri)[0] == []
    ok = invoke("audit", "verify")
    assert ok.exit_code == 0 and "3 entries" in ok.stdout, ok.output
    # Two hosts appending at once both write entry 4: nothing is lost, verify says so.
    fs, root = pafs.FileSystem.from_uri(bucket_uri)
    [last] = [n for n in sorted(names) if n.startswith("audit/000000000003")]
    entry = json.loads(objects(bucket_uri)[last])
    for host in ("a", "b"):
        from llmstats.plugin.audit import canonical, entry_hash

        twin = {**entry, "seq": 4, "prev": entry["hash"], "host": host}
        twin["hash"] = entry_hash(twin)
        with fs.open_output_stream(f"{root}/audit/000000000004-{twin['hash'][:16]}.json") as out:
            out.write(canonical(twin) + b"\n")
    problems, count, _ = verify_chain(bucket_uri)
    assert count == 5 and [p.problem.split(":")[0] for p in problems] == ["inserted"]


CANARY_KEY_ID = "AKIACANARY7X2Q9Z"
CANARY_SECRET = "canary-secret-" + "k3Yp" * 8


def test_credentials_never_reach_the_data_dir_spool_cache_or_logs(
    s3_endpoint: str, bucket_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CANARY_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
    caplog.set_level(logging.DEBUG)
    outputs = []
    # A writer that cannot reach its bucket records and logs the error...
    broken = EventWriter(load_settings(data_dir="s3://no-such-bucket-here/x", flush_seconds=3600))
    broken.start()
    broken.submit(event_row())
    broken.flush()
    assert broken.stats.last_error and "NO_SUCH_BUCKET" in broken.stats.last_error
    outputs.append(json.dumps(broken.heartbeat_document()))
    with contextlib.suppress(OSError):  # its last flush fails the same way
        broken.close(timeout=5)
    # ...and a working fleet writes, reports, compacts, prunes and audits.
    write_batches(3, 2)
    for command in (["report", "-f", "json"], ["status", "-f", "json"], ["compact", "-f", "json"],
                    ["prune", "--older-than", "3650d"], ["audit", "show", "-f", "json"],
                    ["audit", "verify"], ["export", "-f", "csv"]):
        result = invoke(*command)
        assert result.exit_code == 0, (command, result.output)
        outputs.append(result.output)
    outputs.append(caplog.text)
    stored = objects(bucket_uri)
    assert any(n.startswith("writers/") for n in stored) and any(n.startswith("audit/") for n in stored)
    for name, body in stored.items():  # heartbeats the converter child wrote: books booked
        if name.startswith("writers/"):
            assert balanced(json.loads(body)), name
    local_files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any("spool" in str(p) for p in tmp_path.rglob("*"))
    for secret in (CANARY_SECRET, CANARY_KEY_ID):
        for name, body in stored.items():
            assert secret.encode() not in body, name
        for path in local_files:
            assert secret.encode() not in path.read_bytes(), path
        for text in outputs:
            assert secret not in text


DYING_WRITER = """
import os, sys
sys.path.insert(0, sys.argv[1])
from llmstats.plugin.config import load_settings
from llmstats.plugin.writer import EventWriter
from tests.support.rows import event_row
writer = EventWriter(load_settings(flush_seconds=3600))
for i in range(5):
    writer.submit(event_row(event_id=f"orphan-{i}"))
os._exit(0)  # gone before any flush: the rows are only in the local spool
"""


def test_recover_uploads_what_a_stopped_writer_left_in_its_spool(bucket_uri: str) -> None:
    tests = str(Path(__file__).resolve().parents[1])
    subprocess.run([sys.executable, "-c", DYING_WRITER, tests], check=True, timeout=60)
    assert event_ids(bucket_uri) == []
    result = invoke("recover")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("recovered 5 rows from 1 spool file(s)")
    assert event_ids(bucket_uri) == [f"orphan-{i}" for i in range(5)]
    assert not [p for p in load_settings().spool_dir.rglob("*.jsonl") if p.stat().st_size]
    assert invoke("recover").stdout.startswith("recovered 0 rows")


def test_connect_reads_the_priced_copy_on_s3_with_the_same_rows(bucket_uri: str) -> None:
    from llmstats.analytics.connection import open_dataset
    from llmstats.analytics.maintenance.rollup_build import build_rollups

    write_fixture_dataset(bucket_uri)
    run = build_rollups(bucket_uri, include_today=True)
    assert run.built and not run.errors
    assert open_dataset(bucket_uri, from_copy=True).copied_days == {p.date for p in run.built}
    fast, slow = connect(bucket_uri), connect(bucket_uri, use_rollups=False)
    for view in ("events", "event_costs"):
        query = f"SELECT * FROM {view} ORDER BY event_id"
        assert fast.execute(query).fetchall() == slow.execute(query).fetchall(), view
