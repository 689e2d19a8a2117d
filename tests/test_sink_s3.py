"""The writer's targets go through pyarrow.fs: object storage works without a rewrite."""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from llmstats.plugin.config import load_settings
from llmstats.plugin.writer import EventWriter
from tests.support.moto_server import create_bucket, s3_env
from tests.support.rows import event_row


def test_writer_puts_complete_parquet_objects_and_heartbeats(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in s3_env(s3_endpoint).items():
        monkeypatch.setenv(key, value)
    create_bucket(s3_endpoint, "fleet")
    settings = load_settings(data_dir="s3://fleet/llm", spool_dir=str(tmp_path / "spool"))
    writer = EventWriter(settings)
    rows = [event_row() for _ in range(25)]
    for row in rows:
        writer.submit(row)
    writer.flush()

    fs, root = pafs.FileSystem.from_uri("s3://fleet/llm")
    names = sorted(
        info.path.removeprefix(root + "/")
        for info in fs.get_file_info(pafs.FileSelector(root, recursive=True))
        if info.type == pafs.FileType.File
    )
    assert names == [
        f"events/date=2026-11-18/{writer.writer_id}-00000001.parquet",
        f"writers/{writer.writer_id}.json",
    ]
    table = ds.dataset(f"{root}/events", filesystem=fs, partitioning="hive").to_table()
    assert sorted(table.column("event_id").to_pylist()) == sorted(r["event_id"] for r in rows)
    assert not any(
        p.suffix == ".jsonl" and p.stat().st_size for p in (tmp_path / "spool").rglob("*")
    )
