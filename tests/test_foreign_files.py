"""Parquet files in an events partition that are valid Parquet but not event files (wrong
column types, unrelated columns, a `date` column that is not a date) are left out and
named exactly like corrupt ones, by every read command and by `compact`; files an older
or newer version wrote, and the other spellings of the contract's types, still read."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmstats.analytics.store.dataset import layout_problem
from tests.support.cli_checks import invoke
from tests.support.event_data import fixture_events, write_events, write_fixture_dataset

CALLS = 8  # the fixture dataset's events


@pytest.fixture
def data_dir(isolated_data_dir: Path) -> Path:
    write_fixture_dataset(str(isolated_data_dir))
    return isolated_data_dir


def _partition(data_dir: Path, day: str) -> Path:
    return data_dir / "events" / f"date={day}"


def plant_foreign_files(data_dir: Path) -> list[Path]:
    """Three valid Parquet files that are not event files, one per fixture day."""
    wrong_types = _partition(data_dir, "2026-11-19") / "wrong-types.parquet"
    pq.write_table(pa.table({
        "event_id": ["x1", "x2"],
        "ts": ["2026-11-19 10:00", "not a time"],
        "input_tokens": ["many", "few"],
        "model": pa.array([b"\x00", b"\xff"], pa.binary()),
    }), wrong_types)
    unrelated = _partition(data_dir, "2026-11-20") / "unrelated.parquet"
    pq.write_table(pa.table({"foo": [1, 2, 3], "bar": ["a", "b", "c"]}), unrelated)
    dated = _partition(data_dir, "2026-11-21") / "string-date.parquet"
    events = pq.read_table(next(_partition(data_dir, "2026-11-21").glob("fixture-*.parquet")))
    pq.write_table(events.append_column("date", pa.array(["yesterday"] * events.num_rows)), dated)
    return [wrong_types, unrelated, dated]


READ_COMMANDS = [
    ["report"], *[["report", sub] for sub in
                  ("savings", "errors", "latency", "context", "segments", "requests", "reconcile")],
    ["status"], ["export", "-f", "json"], ["sql", "SELECT count(*) AS n FROM event_costs"],
    ["trace", "t1"],
]


def _warned(stderr: str, foreign: list[Path]) -> None:
    """One warning line per foreign file, naming it and why; nothing else."""
    lines = stderr.splitlines()
    assert len(lines) == len(foreign), stderr
    for path in foreign:
        [line] = [line for line in lines if str(path) in line]
        assert line.startswith(f"warning: skipped unreadable file {path} (not an event file: ")
        assert line.endswith("; llmstats status --quarantine moves it aside"), line


def test_every_read_command_leaves_foreign_files_out_and_names_them(data_dir: Path) -> None:
    foreign = plant_foreign_files(data_dir)
    for args in READ_COMMANDS:
        fmt = [] if "-f" in args else ["-f", "json"]
        result = invoke(*args, *fmt)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
        _warned(result.stderr, foreign)
        document = json.loads(result.stdout)
        if args == ["report"]:
            assert document["totals"]["calls"] == CALLS
        if args[0] == "status":
            assert (document["totals"]["rows"], document["totals"]["unreadable_files"]) == (CALLS, 3)
        if args[0] in ("export", "sql"):
            assert (len(document["rows"]) if args[0] == "export"
                    else document["rows"][0]["n"]) == CALLS
    reasons = {line.split(" (", 1)[1] for line in invoke("status").stderr.splitlines()}
    assert reasons == {
        "not an event file: ts is string, the event schema says timestamp[us, tz=UTC] "
        "(and 2 more)); llmstats status --quarantine moves it aside",
        "not an event file: no event_id or ts column); llmstats status --quarantine moves it aside",
        "not an event file: date is string, the event schema says date32[day]); "
        "llmstats status --quarantine moves it aside",
    }


def test_quarantine_moves_foreign_files_aside_like_corrupt_ones(data_dir: Path) -> None:
    foreign = plant_foreign_files(data_dir)
    result = invoke("status", "--quarantine", "-f", "json")
    assert result.exit_code == 0, result.output
    for path in foreign:
        moved = data_dir / "quarantine" / path.relative_to(data_dir)
        assert not path.exists() and moved.exists()
        assert f"warning: skipped unreadable file {path} (not an event file: " in result.stderr
        assert f"; moved to {moved}" in result.stderr
    result = invoke("report", "-f", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout)["totals"]["calls"] == CALLS


def test_compact_leaves_foreign_files_where_they_are_and_names_them(data_dir: Path) -> None:
    write_events([{**row, "event_id": f"{row['event_id']}-b"} for row in fixture_events()],
                 writer_id="second")
    foreign = plant_foreign_files(data_dir)
    result = invoke("compact", "--date", "2026-11-19", "--date", "2026-11-21", "-f", "json")
    assert result.exit_code == 0, result.output
    _warned(result.stderr, [foreign[0], foreign[2]])
    rows = json.loads(result.stdout)["rows"]
    assert [(r["date"], r["input_files"]) for r in rows] == [("2026-11-19", 2), ("2026-11-21", 2)]
    assert all(path.exists() for path in foreign)
    result = invoke("report", "-f", "json")
    assert json.loads(result.stdout)["totals"]["calls"] == 2 * CALLS


def test_a_layout_judged_before_is_judged_again_from_the_cache(data_dir: Path,
                                                                tmp_path: Path) -> None:
    """A schema cache written before the rule existed (no verdicts) or under another event
    schema: the cached layout is judged without reading the file again."""
    foreign = plant_foreign_files(data_dir)
    assert invoke("status").exit_code == 0
    [cache] = (tmp_path / "cache" / "llmstats").glob("schemas-*.json")
    document = json.loads(cache.read_text())
    assert set(document["problems"].values()) >= {""}  # the fixture's layout fits
    for stale in ({k: v for k, v in document.items() if k not in ("problems", "contract")},
                  {**document, "contract": "another schema",
                   "problems": dict.fromkeys(document["problems"], "")}):
        cache.write_text(json.dumps(stale))
        result = invoke("report", "-f", "json")
        assert result.exit_code == 0, result.output
        _warned(result.stderr, foreign)
        assert json.loads(result.stdout)["totals"]["calls"] == CALLS


def test_older_newer_and_differently_spelled_files_still_read(data_dir: Path) -> None:
    """What readers keep tolerating: columns an older version did not write (NULL), columns
    a newer one added (kept), and Arrow's other spellings of the contract's types."""
    folder = _partition(data_dir, "2026-11-19")
    events = pq.read_table(next(folder.glob("fixture-*.parquet")))
    events = events.drop_columns(["segments", "route", "search_units", "capture"])
    spelled = {
        "event_id": pa.array([f"{e}-spelled" for e in events["event_id"].to_pylist()]),
        "input_tokens": events["input_tokens"].cast(pa.int32()),
        "latency_ms": events["latency_ms"].cast(pa.float32()),
        "model": events["model"].cast(pa.large_string()),
        "provider": events["provider"].dictionary_encode(),
        "tags": events["tags"].cast(pa.large_list(pa.large_string())),
        "ts": events["ts"].cast(pa.timestamp("ms", tz="UTC")),
    }
    for name, column in spelled.items():
        events = events.set_column(events.schema.get_field_index(name), name, column)
    events = events.append_column("date", pa.array([dt.date(2026, 11, 19)] * events.num_rows))
    events = events.append_column("added_later", pa.array(["kept"] * events.num_rows))
    pq.write_table(events, folder / "spelled-00000001.parquet")
    result = invoke("sql", "SELECT count(*) AS n, sum(input_tokens) AS tokens, "
                    "count(added_later) AS kept, count(route) AS routes FROM events "
                    "WHERE date = DATE '2026-11-19'", "-f", "json")
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    before = invoke("sql", "SELECT sum(input_tokens) AS t FROM events WHERE date = "
                    "DATE '2026-11-19' AND event_id NOT LIKE '%-spelled'", "-f", "json")
    day_tokens = json.loads(before.stdout)["rows"][0]["t"]
    assert json.loads(result.stdout)["rows"] == [
        {"n": 2 * events.num_rows, "tokens": 2 * day_tokens, "kept": events.num_rows,
         "routes": 0}]
    result = invoke("report", "-f", "json")
    assert json.loads(result.stdout)["totals"]["calls"] == CALLS + events.num_rows
    result = invoke("compact", "--date", "2026-11-19", "-f", "json")
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    [merged] = folder.glob("compacted-*.parquet")
    schema = pq.read_schema(merged)
    assert (str(schema.field("input_tokens").type), str(schema.field("ts").type)) == (
        "int64", "timestamp[us, tz=UTC]")


@pytest.mark.parametrize(("columns", "problem"), [
    ([("event_id", "string"), ("ts", "timestamp[us, tz=UTC]")], None),
    ([("event_id", "large_string"), ("ts", "timestamp[ms, tz=+00:00]"),
      ("retries", "int8"), ("input_tokens", "uint32"), ("latency_ms", "float"),
      ("tags", "large_list<element: string_view>"), ("model", "dictionary<values=string, "
                                                     "indices=int32, ordered=0>"),
      ("segments", "list<element: struct<role: string not null, kind: string, tokens: int64>>"),
      ("date", "date32[day]"), ("brand_new", "map<string, int64>")], None),
    ([("ts", "timestamp[us, tz=UTC]")], "not an event file: no event_id column"),
    ([("a", "int64")], "not an event file: no event_id or ts column"),
    ([("event_id", "string"), ("ts", "timestamp[ns, tz=UTC]")],
     "not an event file: ts is timestamp[ns, tz=UTC], the event schema says timestamp[us, tz=UTC]"),
    ([("event_id", "string"), ("ts", "timestamp[us]")],
     "not an event file: ts is timestamp[us], the event schema says timestamp[us, tz=UTC]"),
    ([("event_id", "int64"), ("ts", "timestamp[us, tz=UTC]"), ("input_tokens", "double")],
     "not an event file: event_id is int64, the event schema says string (and 1 more)"),
    ([("event_id", "string"), ("ts", "timestamp[us, tz=UTC]"), ("retries", "int64")],
     "not an event file: retries is int64, the event schema says int32"),
    ([("event_id", "string"), ("ts", "timestamp[us, tz=UTC]"), ("tags", "list<item: int64>")],
     "not an event file: tags is list<item: int64>, the event schema says list<item: string>"),
])
def test_the_rule(columns: list[tuple[str, str]], problem: str | None) -> None:
    assert layout_problem(columns) == problem
