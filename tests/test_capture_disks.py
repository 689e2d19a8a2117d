"""Capture through the real callback when the data dir is unwritable, read-only or full:
no event is lost silently, no end-user id is hashed with a weak key, and what happened is
visible where an operator looks (the heartbeat, `llmstats status`, the log)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from llmstats.analytics.cli import app
from llmstats.plugin.config import load_settings
from llmstats.plugin.identity import SECRET_FILE_NAME
from llmstats.plugin.litellm_logger import LLMStatsLogger
from llmstats.plugin.writer import ConverterFailed, EventWriter
from tests.support.moto_server import create_bucket, s3_env
from tests.support.rows import event_row
from tests.support.tmpfs import fill, remount, small_tmpfs

RECORDINGS = Path(__file__).parent / "fixtures" / "payloads" / "proxy.jsonl"
RECORD = next(
    r
    for r in map(json.loads, RECORDINGS.read_text().splitlines())
    if r["kind"] == "success" and r["kwargs"]["call_type"] == "acompletion"
)
END_USER = "customer-42"


def capture(logger: LLMStatsLogger, count: int) -> list[str]:
    """`count` recorded proxy calls from one end user, each its own event; their call ids."""
    ids = []
    for _ in range(count):
        kwargs = copy.deepcopy(RECORD["kwargs"])
        payload = kwargs["standard_logging_object"]
        payload["id"] = str(uuid.uuid4())
        payload["litellm_call_id"] = kwargs["litellm_call_id"] = str(uuid.uuid4())
        payload["end_user"] = END_USER
        logger.log_success_event(kwargs, RECORD["response"], None, None)
        ids.append(payload["litellm_call_id"])
    return ids


def events(data_dir: Path) -> dict[str, dict[str, Any]]:
    if not (data_dir / "events").exists():
        return {}
    table = ds.dataset(data_dir / "events", format="parquet", partitioning="hive").to_table()
    return {row["call_id"]: row for row in table.to_pylist()}


def heartbeat(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def running(logger: LLMStatsLogger) -> EventWriter:
    writer = logger.writer
    assert writer is not None
    return writer


def expected_hash(data_dir: Path) -> str:
    secret = (data_dir / SECRET_FILE_NAME).read_bytes()
    return hmac.new(secret, END_USER.encode(), hashlib.sha256).hexdigest()


def test_an_unwritable_data_dir_spools_every_event_and_withholds_hashes_until_it_heals(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the data dir's parent should be")
    data_dir, spool_dir = blocker / "data", tmp_path / "spool"
    logger = LLMStatsLogger(
        load_settings(data_dir=str(data_dir), spool_dir=str(spool_dir), flush_seconds=3600)
    )
    logger.start()
    writer = running(logger)
    try:
        early = capture(logger, 5)
        assert writer.stats.spooled == 5 and logger.errors == 0
        logger.flush()
        beat = heartbeat(spool_dir / ".heartbeats" / f"{writer.writer_id}.json")
        # Held: spooled but not yet written (the books: spooled = written + dropped + held).
        assert (beat["spooled"], beat["written"], beat["held"], beat["dropped"]) == (5, 0, 5, 0)
        assert beat["hashes_withheld"] == 5 and "NotADirectoryError" in beat["last_error"]
        assert "no secret for end-user hashes" in caplog.text and "end_user_hash empty" in caplog.text

        blocker.unlink()  # the disk heals
        logger.flush()  # the round makes the secret, then converts the spool
        late = capture(logger, 2)
        logger.flush()
        rows = events(data_dir)
        assert sorted(rows) == sorted(early + late)
        assert all(rows[i]["end_user_hash"] is None for i in early)  # never a weak hash
        assert {rows[i]["end_user_hash"] for i in late} == {expected_hash(data_dir)}
        beat = heartbeat(data_dir / "writers" / f"{writer.writer_id}.json")
        assert (beat["spooled"], beat["written"], beat["dropped"], beat["hashes_withheld"]) == (
            7, 7, 0, 5
        )
        assert not (spool_dir / ".heartbeats" / f"{writer.writer_id}.json").exists()
    finally:
        writer.close()


def test_a_read_only_data_dir_holds_events_shows_them_in_status_and_writes_them_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with small_tmpfs(tmp_path / "data", 8192) as data_dir:
        remount(data_dir, read_only=True)
        monkeypatch.setenv("LLMSTATS_DATA_DIR", str(data_dir))
        logger = LLMStatsLogger(load_settings(flush_seconds=3600))
        logger.start()
        writer = running(logger)
        try:
            ids = capture(logger, 5)  # the spool is inside the data dir: held in memory
            logger.flush()
            # Handed over (`spooled` counts every line the callback gave), held in memory.
            assert (writer.stats.spooled, len(writer._held), writer.stats.dropped) == (5, 5, 0)

            result = CliRunner().invoke(app, ["status", "--format", "json"])
            assert result.exit_code == 0, result.output
            (row,) = json.loads(result.stdout)["rows"]
            assert row["writer_id"] == writer.writer_id and row["health"] == "error"
            assert (row["held"], row["dropped"], row["hashes_withheld"]) == (5, 0, 5)
            assert row["heartbeat_in"].startswith(str(tmp_path / "state"))

            remount(data_dir, read_only=False)
            logger.flush()
            assert sorted(events(data_dir)) == sorted(ids)
            beat = heartbeat(data_dir / "writers" / f"{writer.writer_id}.json")
            assert (beat["spooled"], beat["written"], beat["held"], beat["dropped"]) == (5, 5, 0, 0)
            assert (data_dir / SECRET_FILE_NAME).stat().st_size == 64
        finally:
            writer.close()


def test_a_data_dir_that_fills_up_while_the_writer_runs_shows_its_drops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="llmstats")
    with small_tmpfs(tmp_path / "data", 4096) as data_dir:
        monkeypatch.setenv("LLMSTATS_DATA_DIR", str(data_dir))
        logger = LLMStatsLogger(load_settings(flush_seconds=0.2, max_pending_rows=50))
        logger.start()
        writer = running(logger)
        try:
            before = capture(logger, 10)
            logger.flush()
            assert len(events(data_dir)) == 10
            filler = fill(data_dir)  # while the writer thread keeps running its rounds
            during = capture(logger, 3000)  # more than the spool's reserved windows hold
            logger.flush()
            dropped = writer.stats.dropped
            assert dropped > 0 and len(writer._held) == 50
            assert writer.stats.spooled == 3010
            books = writer.heartbeat_document()
            assert books["spooled"] == books["written"] + books["dropped"] + books["held"] == 3010

            result = CliRunner().invoke(app, ["status", "--format", "json"])
            assert result.exit_code == 0, result.output
            document = json.loads(result.stdout)
            (row,) = document["rows"]
            assert (row["health"], row["dropped"], row["held"]) == ("dropping events", dropped, 50)
            assert "heartbeat_in" in row
            assert (
                f"Heartbeats read from {row['heartbeat_in']}: the data dir refused them "
                "(full, read-only or unreachable)." in document["notes"]
            )

            drops = [r.getMessage() for r in caplog.records if "event dropped" in r.getMessage()]
            assert drops and drops[0].endswith("[dropped so far: 1]")

            filler.unlink()
            logger.flush()
            written = events(data_dir)
            assert set(written) <= set(before + during) and len(written) == 3010 - dropped
            beat = heartbeat(data_dir / "writers" / f"{writer.writer_id}.json")
            assert (beat["written"], beat["held"], beat["dropped"]) == (3010 - dropped, 0, dropped)
        finally:
            writer.close()
        assert f"{dropped} events dropped in all" in caplog.text


def test_a_missing_bucket_leaves_the_heartbeat_in_the_local_spool_dir_until_it_exists(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in s3_env(s3_endpoint).items():
        monkeypatch.setenv(key, value)
    bucket = f"llm-later-{uuid.uuid4().hex[:10]}"
    settings = load_settings(data_dir=f"s3://{bucket}/fleet")
    writer = EventWriter(settings)
    try:
        writer.submit(event_row())
        with pytest.raises(ConverterFailed):
            writer.flush()
        fallback = settings.spool_dir / ".heartbeats" / f"{writer.writer_id}.json"
        beat = heartbeat(fallback)
        assert (beat["spooled"], beat["written"], beat["dropped"]) == (1, 0, 0)
        assert beat["last_error"]

        create_bucket(s3_endpoint, bucket)
        writer.flush()
        assert not fallback.exists()  # the bucket has the heartbeat now
    finally:
        writer.close()
    result = CliRunner().invoke(app, ["status", "--format", "json", "--data-dir", settings.data_dir])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["rows"]
    assert (row["writer_id"], row["written"]) == (writer.writer_id, 1) and "heartbeat_in" not in row
