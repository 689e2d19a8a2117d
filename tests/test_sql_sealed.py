"""`llmstats sql` reads the views and nothing else: read-only is a property of the
connection (sealed: no file or URL, no extension, settings locked), so no statement form
can write a file, reach the network or load code — not through EXPLAIN ANALYZE either."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmstats.analytics.cli.app import app
from llmstats.analytics.connection import connect
from tests.support.event_data import write_fixture_dataset

runner = CliRunner()

# {d}: the data dir. Every one of these must be refused, and leave no trace.
ESCAPES = (
    "EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{d}/x.csv'",
    "EXPLAIN ANALYZE COPY (SELECT * FROM raw_events) TO '{d}/events/date=2026-11-01/injected.parquet'",
    "EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{d}/audit.jsonl'",
    "EXPLAIN ANALYZE SELECT * FROM read_csv('/etc/passwd')",
    "EXPLAIN ANALYZE INSTALL httpfs",
    "EXPLAIN ANALYZE LOAD httpfs",
    "COPY (SELECT 1 AS a) TO '{d}/x.csv'",
    "COPY events TO 'x.csv'",
    "EXPORT DATABASE '{d}/exported'",
    "ATTACH '{d}/x.db'",
    "ATTACH 'x.db' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "PRAGMA enable_profiling",
    "CALL pragma_version()",
    "CREATE TABLE x AS SELECT 1",
    "SELECT * FROM read_csv('/etc/passwd', sep = ':')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM read_blob('/etc/hostname')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM glob('{d}/**')",
    "SELECT * FROM read_parquet('{d}/events/*/*.parquet')",
    "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    "SELECT * FROM read_json('http://127.0.0.1:9/x.json')",
    "SELECT 1; COPY (SELECT 1 AS a) TO '{d}/x.csv'",
)


@pytest.fixture
def data_dir(isolated_data_dir: Path) -> Path:
    write_fixture_dataset(str(isolated_data_dir))
    return isolated_data_dir


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` and a digest of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*")) if path.is_file()
    }


def test_the_escapes_work_on_an_ordinary_connection(data_dir: Path, tmp_path: Path) -> None:
    """The control: without the seal, EXPLAIN ANALYZE really runs a COPY (so the test
    below would notice a seal that did nothing)."""
    target = tmp_path / "written.csv"
    connect(str(data_dir)).execute(f"EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{target}'")
    assert target.exists()


@pytest.mark.parametrize("template", ESCAPES)
def test_sql_refuses_every_statement_that_reaches_beyond_the_views(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    (data_dir / "audit.jsonl").write_text('{"seq": 1}\n')
    before = snapshot(data_dir)
    result = runner.invoke(app, ["sql", template.format(d=data_dir)])
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llmstats: "), result.stderr
    assert snapshot(data_dir) == before
    assert os.listdir(cwd) == []


def test_sql_still_answers_queries_over_every_view(data_dir: Path) -> None:
    result = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM requests", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert '"n": 7' in result.stdout
    for view in ("events", "event_costs", "savings", "errors", "latency", "context_usage",
                 "segments", "daily_usage"):
        result = runner.invoke(app, ["sql", f"SELECT count(*) FROM {view}", "-f", "csv"])
        assert result.exit_code == 0, (view, result.output)
    result = runner.invoke(app, ["sql", "EXPLAIN SELECT model FROM events WHERE date = '2026-11-02'"])
    assert result.exit_code == 0, result.output
