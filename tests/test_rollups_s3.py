"""Rollups on an object-store data dir (s3:// on moto's server on loopback): built by
`llmstats rollup` and by compaction, read by reports with the same answers as the events,
rewritten by prune, removed by purge, and a damaged part falls back to the events."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pyarrow.fs as pafs
import pytest
from typer.testing import CliRunner

from llmstats.analytics.cli.app import app
from llmstats.analytics.connection import open_dataset
from llmstats.analytics.pricing.catalog import Catalog, build_catalog_table, snapshot_catalog
from llmstats.analytics.query import Query
from llmstats.analytics.rollups.plan import plan_part
from llmstats.analytics.rollups.spec import ROLLUPS_FOLDER
from tests.support.event_data import write_events
from tests.support.moto_server import use_fresh_bucket
from tests.support.rollup_data import PRICE_MAP, answers, rollup_events

NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
DAYS = ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"]
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("usage_report", {}),
    ("usage_report", {"by": "model,day"}),
    ("usage_report", {"by": "team", "tz": "America/New_York"}),
    ("usage_report", {"by": "model,priced_by"}),
    ("savings_report", {"by": "team,day"}),
    ("latency_report", {"by": "model,day"}),
]
runner = CliRunner()


@pytest.fixture
def bucket_uri(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    uri = use_fresh_bucket(s3_endpoint, monkeypatch)
    write_events(rollup_events(), writer_id="w1")
    snapshot_catalog(uri, Catalog(build_catalog_table(PRICE_MAP), "test", "snapshot"))
    return uri


def rollup_objects(uri: str) -> list[str]:
    fs, root = pafs.FileSystem.from_uri(uri)
    infos = fs.get_file_info(pafs.FileSelector(f"{root}/{ROLLUPS_FOLDER}", recursive=True,
                                               allow_not_found=True))
    return sorted(i.path.removeprefix(f"{root}/{ROLLUPS_FOLDER}/") for i in infos
                  if i.type == pafs.FileType.File)


def covered_days(uri: str) -> tuple[str, ...]:
    """Days the overview's sums read from rollups (not events)."""
    dataset = open_dataset(uri, lazy_events=True)
    try:
        return plan_part(dataset.con, Query.parse(now=NOW), "sums", pricing=True).covered
    finally:
        dataset.con.close()


def close(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return list(a) == list(b) and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def assert_agree(uri: str) -> None:
    rolled = answers(uri, QUERIES, use_rollups=True)
    raw = answers(uri, QUERIES, use_rollups=False)
    assert all(rows for rows, _ in raw)  # two empty reports would prove nothing
    for query, r, e in zip(QUERIES, rolled, raw, strict=True):
        assert close(r, e), query


def test_rollups_on_s3_are_built_read_rewritten_and_removed(bucket_uri: str) -> None:
    assert covered_days(bucket_uri) == ()
    result = runner.invoke(app, ["rollup", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert [r["date"] for r in json.loads(result.stdout)["rows"]] == DAYS
    assert rollup_objects(bucket_uri), "no rollup object was written"
    assert covered_days(bucket_uri) == tuple(DAYS)  # every day now comes from the rollups
    assert_agree(bucket_uri)
    report = runner.invoke(app, ["report", "-f", "json"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["totals"]["calls"] == len(rollup_events())
    assert "warning" not in report.stderr

    # Compaction on object storage rebuilds the rollups of what it compacted.
    write_events(rollup_events(days=1, per_day=30, seed=14, first_day=3, prefix="k"),
                 writer_id="w4")
    assert covered_days(bucket_uri) == tuple(DAYS[:3])
    compacted = runner.invoke(app, ["compact", "--date", "2026-11-22", "-f", "json"])
    assert compacted.exit_code == 0, compacted.output
    assert json.loads(compacted.stdout)["rows"], compacted.stdout
    assert covered_days(bucket_uri) == tuple(DAYS)
    assert_agree(bucket_uri)

    # Pruning rewrites the parts without the pruned days.
    age = (dt.datetime.now(dt.UTC).date() - dt.date.fromisoformat(DAYS[2])).days
    pruned = runner.invoke(app, ["prune", "--older-than", f"{age}d", "-f", "json"])
    assert pruned.exit_code == 0, pruned.output
    fs, root = pafs.FileSystem.from_uri(bucket_uri)
    for name in rollup_objects(bucket_uri):
        if name.endswith(".json"):
            with fs.open_input_stream(f"{root}/{ROLLUPS_FOLDER}/{name}") as stream:
                days = set(json.loads(stream.read())["partitions"])
            assert days and days <= set(DAYS[2:]), name
    assert covered_days(bucket_uri) == tuple(DAYS[2:])
    assert_agree(bucket_uri)

    status = runner.invoke(app, ["status", "-f", "json"])
    assert status.exit_code == 0, status.output

    dropped = runner.invoke(app, ["rollup", "--drop"])
    assert dropped.exit_code == 0, dropped.output
    assert rollup_objects(bucket_uri) == [] and covered_days(bucket_uri) == ()
    assert runner.invoke(app, ["rollup"]).exit_code == 0
    assert covered_days(bucket_uri) == tuple(DAYS[2:])
    assert runner.invoke(app, ["purge", "--yes"]).exit_code == 0
    assert rollup_objects(bucket_uri) == []


def test_a_damaged_rollup_on_s3_is_named_and_the_events_answer(bucket_uri: str) -> None:
    assert runner.invoke(app, ["rollup"]).exit_code == 0
    fs, root = pafs.FileSystem.from_uri(bucket_uri)
    for cube in ("usage_compact", "latency_model"):
        [part] = [n for n in rollup_objects(bucket_uri)
                     if n.startswith(f"{cube}/") and n.endswith(".parquet")]
        path = f"{root}/{ROLLUPS_FOLDER}/{part}"
        with fs.open_input_stream(path) as stream:
            data = stream.read()
        with fs.open_output_stream(path) as out:
            out.write(data[: len(data) // 2])
    assert_agree(bucket_uri)
    result = runner.invoke(app, ["report", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["calls"] == len(rollup_events())
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: rollup")]
    assert {w.split()[2] for w in warnings} == {"usage_compact", "latency_model"}, result.stderr
