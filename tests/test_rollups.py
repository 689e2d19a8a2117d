"""Rollup-backed reports give the answers event-backed reports give, on the same data.

Every comparison opens the same data dir twice — with the rollups, and with
`use_rollups=False` (every partition read from its events) — and requires the same rows
and totals: counts and tokens exactly, money to 1e-9 (relative), quantiles to 1e-12
(both sides merge the same sketch counts). Then the data changes under the rollups (a
late event for a closed day, a new day, a compaction, a prune, a new override, a
catalog with another long-context threshold) and the answers must still agree.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from llmstats.analytics.connection import open_dataset
from llmstats.analytics.maintenance.rollup_build import build_rollups
from llmstats.analytics.pricing.catalog import Catalog, build_catalog_table, snapshot_catalog
from llmstats.analytics.query import Query
from llmstats.analytics.report import reports
from llmstats.analytics.rollups.index import context_of
from llmstats.analytics.rollups.plan import plan_part
from llmstats.analytics.rollups.spec import CUBES_BY_NAME, ROLLUPS_FOLDER
from tests.support.event_data import DAY0, write_events
from tests.support.rollup_data import PRICE_MAP, answers, rollup_events

NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("usage_report", {}),
    ("usage_report", {"by": "model,day"}),
    ("usage_report", {"by": "team"}),
    ("usage_report", {"by": "key,model"}),
    ("usage_report", {"by": "provider,model", "where": ["team=Labs"]}),
    ("usage_report", {"by": "team", "where": ["model=tiered", "model=xtiered"]}),
    ("usage_report", {"by": "model,priced_by"}),
    ("usage_report", {"by": "day", "tz": "America/New_York"}),
    ("usage_report", {"by": "day,model", "tz": "Asia/Kolkata"}),
    ("usage_report", {"by": "hour", "since": "2026-11-20T05:00", "until": "2026-11-20T09:00"}),
    ("usage_report", {"by": "hour", "tz": "Europe/Berlin", "since": "2026-11-20T05:00"}),
    ("usage_report", {"by": "week", "tz": "Europe/Berlin"}),
    ("usage_report", {"by": "tag"}),
    ("usage_report", {"by": "user", "where": ["tag=beta"]}),
    ("usage_report", {"by": "status,stream,error"}),
    ("usage_report", {"since": "2026-11-20T06:30", "until": "2026-11-21"}),
    ("usage_report", {"since": "2d", "by": "model"}),
    ("usage_report", {"by": "day", "since": "2026-11-20", "until": "2026-11-21", "tz": "America/New_York"}),
    # Two team ids share the alias Labs: its quantiles merge sketches; Search's alone are
    # read as precomputed (test_team_quantiles_are_read_as_precomputed_unless_...).
    ("usage_report", {"by": "team,day"}),
    ("usage_report", {"by": "day,team", "where": ["team=Search"]}),
    ("savings_report", {}),
    ("savings_report", {"by": "team,day"}),
    ("savings_report", {"by": "key"}),
    ("savings_report", {"by": "month", "where": ["provider=openai"]}),
    # Days the priced sums serve (whole, exact: see the test below).
    ("usage_report", {"by": "team", "since": "2026-11-22"}),
    ("usage_report", {"by": "user"}),
    ("usage_report", {"by": "user", "since": "2026-11-22", "where": ["provider=openai"]}),
    ("savings_report", {"by": "key", "where": ["team=Labs"], "since": "2026-11-22"}),
    ("usage_report", {"by": "tag,day", "since": "2026-11-22"}),
    ("latency_report", {}),
    ("latency_report", {"by": "model,day"}),
    ("latency_report", {"by": "team"}),
    ("latency_report", {"by": "provider", "where": ["team=Search"]}),
    ("latency_report", {"by": "day", "tz": "America/New_York"}),
    ("latency_report", {"by": "call_type,route", "where": ["stream=true"]}),
    # Their cubes (errors_calls; context_model where the copy is exact), the copy (a user,
    # a team), the events (a cut day).
    ("errors_report", {}),
    ("errors_report", {"by": "day,error", "where": ["provider=openai"]}),
    ("errors_report", {"by": "user"}),
    ("context_report", {}),
    ("context_report", {"by": "provider,status"}),
    ("context_report", {"by": "model,team", "since": "2026-11-20T06:30"}),
]
# Enough of the list to exercise each source after the data changed.
SHORT = [QUERIES[i] for i in (0, 1, 2, 3, 7, 15, 20, 21, 24, 25, 30)]


def snapshot(data_dir: Path, price_map: dict[str, Any]) -> None:
    snapshot_catalog(str(data_dir), Catalog(build_catalog_table(price_map), "test", "snapshot"))


@pytest.fixture
def data_dir(isolated_data_dir: Path) -> Path:
    write_events(rollup_events(), writer_id="w1")
    snapshot(isolated_data_dir, PRICE_MAP)
    run = build_rollups(str(isolated_data_dir), include_today=True)
    assert not run.errors and len(run.built) == 4
    return isolated_data_dir


def same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, where
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (where, a, b)
    else:
        assert a == b, (where, a, b)


def assert_agree(data_dir: Path, queries: list[tuple[str, dict[str, Any]]]) -> None:
    rolled = answers(data_dir, queries, use_rollups=True)
    raw = answers(data_dir, queries, use_rollups=False)
    for (name, kwargs), (rows_r, totals_r), (rows_e, totals_e) in zip(queries, rolled, raw, strict=True):
        where = f"{name} {kwargs}"
        assert rows_e, where  # a comparison of two empty reports proves nothing
        assert len(rows_r) == len(rows_e), where
        for i, (row_r, row_e) in enumerate(zip(rows_r, rows_e, strict=True)):
            assert list(row_r) == list(row_e), where
            for column in row_r:
                same(row_r[column], row_e[column], f"{where} row {i} {column}")
        assert list(totals_r) == list(totals_e), where
        for column in totals_r:
            same(totals_r[column], totals_e[column], f"{where} totals {column}")


def _plan(data_dir: Path, kind: str, **kwargs: Any) -> Any:
    dataset = open_dataset(str(data_dir), lazy_events=True)
    return plan_part(dataset.con, Query.parse(now=NOW, **kwargs), kind, pricing=kind == "sums")


def test_rollup_backed_reports_equal_event_backed_reports(data_dir: Path) -> None:
    assert_agree(data_dir, QUERIES)


def test_each_question_is_served_by_the_cube_that_covers_it(data_dir: Path) -> None:
    days = ("2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22")

    def served(kind: str, **kwargs: Any) -> tuple[str | None, tuple[str, ...], tuple[str, ...] | None]:
        plan = _plan(data_dir, kind, **kwargs)
        return (plan.cube.name if plan.cube else None), plan.covered, plan.raw

    assert served("sums") == ("usage_compact", days, ())
    assert served("sums", by="team") == ("usage_team", days, ())
    assert served("sums", by="key,model") == ("usage_key", days, ())
    assert served("sums", by="model,error") == ("usage_model", days, ())
    # Local days that are not UTC days: hours (New York), or the events (Kolkata, +5:30).
    assert served("sums", by="day", tz="America/New_York") == ("usage_hourly", days, ())
    # ... and the priced copy (one row per call, any zone) where it is exact: not on the
    # two days with a call a catalog entry prices none of the units of (priced alone it
    # is unpriced, in a group it is not: see rollups/pricing_key.py).
    exact, inexact = (days[0], days[3]), (days[1], days[2])
    assert served("sums", by="day", tz="Asia/Kolkata") == ("priced_events", exact, inexact)
    # A window that starts inside a day: that day from its events, the others from cubes.
    assert served("sums", since="2026-11-20T06:30") == (
        "usage_compact", days[2:], ("2026-11-20",))
    assert served("sums", since="2026-11-20T06:00") == ("usage_hourly", days[1:], ())
    # Users and tags: the copy's prices summed per day and group, where it is exact;
    # teams and keys from them only where they cover as many days as the usage cubes.
    assert served("sums", by="user") == ("priced_users", exact, inexact)
    assert served("sums", by="tag") == ("priced_tags", exact, inexact)
    assert served("sums", by="user", where=["model=tiered"]) == (
        "priced_user_models", exact, inexact)
    assert served("sums", by="user", where=["status=failure"]) == ("priced_events", exact, inexact)
    assert served("sums", by="team", since=days[3]) == ("priced_team", days[3:], ())
    assert served("sums", by="key", since=days[3]) == ("priced_keys", days[3:], ())
    assert served("sums", by="key,model", since=days[3]) == ("priced_key_models", days[3:], ())
    assert served("sums", by="key,model") == ("usage_key", days, ())  # covers more days
    assert served("sums", by="team,model", since=days[3]) == ("priced_team_models", days[3:], ())
    assert served("sums", by="team,model") == ("usage_team", days, ())  # covers more days
    assert served("sums", by="model", since=days[3]) == ("priced_models", days[3:], ())
    assert served("sketch") == ("latency_total", days, ())
    assert served("sketch", by="model") == ("latency_model", days, ())
    assert served("sketch", by="call_type,error", where=["route=/chat/completions"]) == (
        "latency_calls", days, ())
    assert served("sketch", by="hour") == ("latency_hourly", days, ())
    assert served("sketch", by="day", tz="America/New_York") == ("latency_hourly", days, ())
    assert served("quantiles", by="model,day") == ("quantiles_model", days, ())
    assert served("quantiles", by="model") == (None, (), ())
    assert served("quantiles", by="team,day") == ("quantiles_team", days, ())
    assert served("quantiles", by="day") == ("quantiles_total", days, ())
    assert served("quantiles", by="hour") == ("quantiles_hourly", days, ())
    assert served("quantiles", by="hour", tz="America/New_York") == ("quantiles_hourly", days, ())
    assert served("quantiles", by="hour", tz="Asia/Kolkata") == (None, (), ())
    assert served("quantiles", by="hour,model") == (None, (), ())
    assert served("sketch", by="key") == ("priced_events", exact, inexact)
    assert served("errors", by="day,error") == ("errors_calls", days, ())
    assert served("errors", by="user") == ("priced_events", exact, inexact)
    assert served("context", by="provider,status") == ("context_model", exact, inexact)
    assert served("context", by="team") == ("priced_events", exact, inexact)


def test_team_quantiles_are_read_as_precomputed_unless_two_team_ids_share_a_name(
        data_dir: Path) -> None:
    # `team` is the alias, else the id: the quantiles cube keeps both, per day. A team
    # whose day is one group of the cube reads its quantiles as they were precomputed; a
    # name two team ids share (Labs) is two groups whose quantiles do not merge.
    from llmstats.analytics.report.fetch import fetch_quantiles
    from llmstats.analytics.rollups.spec import SKETCH_QUANTILES

    dataset = open_dataset(str(data_dir), lazy_events=True)
    measures = {"latency": SKETCH_QUANTILES["latency"]}
    for where, expected in (([], None), (["team=Search"], "Search"), (["team=Labs"], None)):
        query = Query.parse(now=NOW, by="team,day", where=where)
        plan = plan_part(dataset.con, query, "quantiles")
        assert plan.cube is not None and plan.cube.name == "quantiles_team"
        found = fetch_quantiles(dataset.con, query, plan, measures)
        assert (found if found is None else {team for team, _ in found}) == (
            expected if expected is None else {expected}), where


def test_a_fully_covered_report_reads_no_event_and_imports_no_pyarrow(data_dir: Path) -> None:
    code = (
        "import sys; from llmstats.analytics.connection import open_dataset; "
        "from llmstats.analytics.query import Query; from llmstats.analytics.report import reports; "
        f"d = open_dataset({str(data_dir)!r}, lazy_events=True); "
        "[f(d.con, Query.parse(by=by)) for f, by in ((reports.usage_report, None), "
        "(reports.usage_report, 'model,day'), (reports.usage_report, 'team'), "
        "(reports.savings_report, None), (reports.latency_report, None))]; "
        "views = d.con.execute(\"SELECT count(*) FROM duckdb_views() WHERE view_name = 'events'\").fetchone()[0]; "
        "print(views, 'pyarrow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"], out.stderr


def test_late_events_for_a_closed_day_and_a_new_open_day(data_dir: Path) -> None:
    late = rollup_events(days=1, per_day=40, seed=11, first_day=1, prefix="late")
    new_day = rollup_events(days=1, per_day=60, seed=12, first_day=4, prefix="new")
    write_events(late + new_day, writer_id="w2")
    plan = _plan(data_dir, "sums")
    assert plan.covered == ("2026-11-19", "2026-11-21", "2026-11-22")
    assert plan.raw == ("2026-11-20", "2026-11-23")
    assert_agree(data_dir, SHORT)
    # The next run builds the changed and the new day; the answers stay the same.
    run = build_rollups(str(data_dir), include_today=True)
    assert [p.date for p in run.built] == ["2026-11-20", "2026-11-23"]
    assert _plan(data_dir, "sums").raw == ()
    assert_agree(data_dir, SHORT)


def test_a_compacted_and_a_pruned_partition(data_dir: Path) -> None:
    from llmstats.analytics.maintenance.compaction import compact_partition
    from llmstats.plugin.retention import prune_partitions

    write_events(rollup_events(days=1, per_day=30, seed=13, first_day=2, prefix="c"),
                 writer_id="w3")
    # Compacted without its rollup rebuilt: a new file set, read from the events.
    assert compact_partition(str(data_dir), "2026-11-21") is not None
    assert "2026-11-21" in (_plan(data_dir, "sums").raw or ())
    assert_agree(data_dir, SHORT)
    prune_partitions(str(data_dir), dt.date(2026, 11, 20))
    plan = _plan(data_dir, "sums")
    assert "2026-11-19" not in plan.covered + (plan.raw or ())
    assert_agree(data_dir, SHORT)


def test_pruned_days_leave_the_rollups_too(data_dir: Path) -> None:
    from llmstats.plugin.retention import prune_partitions

    prune_partitions(str(data_dir), dt.date(2026, 11, 21))
    manifests = list((data_dir / ROLLUPS_FOLDER).glob("*/part-*.json"))
    assert {m.parent.name for m in manifests} == set(CUBES_BY_NAME)  # every cube rewritten
    for manifest in manifests:
        assert sorted(json.loads(manifest.read_text())["partitions"]) == ["2026-11-21", "2026-11-22"]
        dates = pq.read_table(manifest.with_suffix(".parquet"), columns=["date"]).column("date")
        assert {d.isoformat() for d in dates.to_pylist()} <= {"2026-11-21", "2026-11-22"}
    assert _plan(data_dir, "sums").covered == ("2026-11-21", "2026-11-22")
    assert _plan(data_dir, "errors").covered == ("2026-11-21", "2026-11-22")
    assert_agree(data_dir, [*SHORT, ("errors_report", {}), ("context_report", {})])


def test_compaction_rebuilds_the_rollups_of_what_it_compacted(data_dir: Path) -> None:
    from llmstats.analytics.maintenance.compaction import compact

    write_events(rollup_events(days=1, per_day=30, seed=14, first_day=3, prefix="k"),
                 writer_id="w4")
    assert _plan(data_dir, "sums").raw == ("2026-11-22",)
    run = compact(str(data_dir), dates=["2026-11-22"])
    assert run.rollups["built"] == ["2026-11-22"] and not run.rollups["errors"]
    assert _plan(data_dir, "sums").raw == ()
    assert_agree(data_dir, SHORT)


def test_prices_are_applied_at_read_time(data_dir: Path) -> None:
    before = answers(data_dir, [("usage_report", {"by": "model"})], use_rollups=True)
    (data_dir / "pricing" / "overrides.toml").write_text(
        '[[price]]\nmodel = "flat"\ninput = 10.0\noutput = 20.0\nvalid_from = 2026-11-21\n'
        '[[price]]\nmodel = "mystery"\ninput = 0.5\noutput = 0.5\n'
    )
    after = answers(data_dir, [("usage_report", {"by": "model"})], use_rollups=True)
    cost = {r["model"]: r["cost_usd"] for r in before[0][0]}
    repriced = {r["model"]: r["cost_usd"] for r in after[0][0]}
    assert repriced["flat"] > 2 * cost["flat"] and repriced["mystery"] < cost["mystery"]
    assert repriced["tiered"] == pytest.approx(cost["tiered"], rel=1e-12)
    assert_agree(data_dir, [*SHORT, ("usage_report", {"by": "priced_by,day"})])


def test_a_catalog_threshold_the_rollups_were_not_split_at(data_dir: Path) -> None:
    moved = json.loads(json.dumps(PRICE_MAP))
    tiers = moved["tiered"]
    tiers["input_cost_per_token_above_1500_tokens"] = tiers.pop("input_cost_per_token_above_1000_tokens")
    tiers["output_cost_per_token_above_1500_tokens"] = tiers.pop("output_cost_per_token_above_1000_tokens")
    snapshot(data_dir, moved)
    dataset = open_dataset(str(data_dir), lazy_events=True)
    plan = plan_part(dataset.con, Query.parse(now=NOW), "sums", pricing=True)
    undecided = context_of(dataset.con).index.undecided["usage_compact"]  # type: ignore[union-attr]
    # Every day has prompts of 1,001–1,500 and of 1,501–3,000 tokens in one group.
    assert undecided == {"2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"}
    assert plan.cube is None and plan.raw is None
    assert_agree(data_dir, SHORT)
    run = build_rollups(str(data_dir), include_today=True, rebuild=True)
    assert not run.errors
    assert _plan(data_dir, "sums").raw == ()
    assert_agree(data_dir, SHORT)


def test_a_damaged_rollup_is_named_and_the_events_answer(data_dir: Path) -> None:
    from typer.testing import CliRunner

    from llmstats.analytics.cli.app import app

    for cube in ("usage_compact", "latency_model"):
        [part] = (data_dir / ROLLUPS_FOLDER / cube).glob("part-*.parquet")
        part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    assert_agree(data_dir, SHORT)
    result = CliRunner().invoke(app, ["report", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["calls"] == len(rollup_events())
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: rollup")]
    assert {w.split()[2] for w in warnings} == {"usage_compact", "latency_model"}, result.stderr
    assert all("llmstats rollup --rebuild" in w for w in warnings)


def test_rollups_are_plain_parquet_with_a_manifest_of_their_sources(data_dir: Path) -> None:
    folder = data_dir / ROLLUPS_FOLDER / "usage_team"
    [part] = sorted(folder.glob("part-*.parquet"))
    manifest = json.loads(part.with_suffix(".json").read_text())
    assert sorted(manifest["partitions"]) == ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"]
    sources = manifest["partitions"]["2026-11-20"]["sources"]
    events = sorted((data_dir / "events" / "date=2026-11-20").glob("*.parquet"))
    assert [name for name, _ in sources] == [p.name for p in events]
    table = pq.read_table(part)
    assert set(CUBES_BY_NAME["usage_team"].columns) <= set(table.column_names)
    assert sum(table.column("calls").to_pylist()) == len(rollup_events())
    assert not {"cost_usd", "price", "input_cost_usd"} & set(table.column_names)


def test_requests_count_each_request_once_at_its_final_attempt(isolated_data_dir: Path) -> None:
    def ev(event_id: str, trace: str | None, seconds: float, model: str, status: str) -> dict[str, Any]:
        ts = DAY0 + int(seconds * 1_000_000)
        return {"event_id": event_id, "trace_id": trace, "ts": ts, "end_ts": ts + 1000,
                "status": status, "provider": "openai", "model": model, "call_type": "chat",
                "input_tokens": 10, "output_tokens": 1}

    write_events([
        ev("a1", "t1", 10, "flat", "failure"), ev("a2", "t1", 11, "flat", "failure"),
        ev("a3", "t1", 12, "tiered", "success"),       # two retries, then a fallback
        ev("b1", "t2", 20, "flat", "success"),
        ev("c1", None, 30, "flat", "success"), ev("c2", None, 31, "flat", "success"),
        # A request whose retry crosses midnight UTC counts on each day it touched.
        ev("d1", "t3", 86_399.5, "flat", "failure"), ev("d2", "t3", 86_400.5, "flat", "success"),
    ])
    snapshot(isolated_data_dir, PRICE_MAP)
    for rolled in (False, True):
        if rolled:
            build_rollups(str(isolated_data_dir), include_today=True)
        dataset = open_dataset(str(isolated_data_dir), lazy_events=rolled)
        report = reports.usage_report(dataset.con, Query.parse(by="model,status"))
        got = {(r["model"], r["status"]): (r["requests"], r["calls"]) for r in report.data}
        assert got == {("flat", "failure"): (1, 3), ("flat", "success"): (4, 4),
                       ("tiered", "success"): (1, 1)}, rolled
        assert report.totals["requests"] == 6 and report.totals["calls"] == 8


def test_the_rollup_command_builds_drops_and_rebuilds(isolated_data_dir: Path) -> None:
    from typer.testing import CliRunner

    from llmstats.analytics.cli.app import app

    write_events(rollup_events(days=2, per_day=50), writer_id="w1")
    runner = CliRunner()
    result = runner.invoke(app, ["rollup", "--date", "2026-11-19", "--date", "2026-11-20", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert [r["date"] for r in json.loads(result.stdout)["rows"]] == ["2026-11-19", "2026-11-20"]
    result = runner.invoke(app, ["rollup", "--date", "2026-11-19", "-f", "json"])
    assert json.loads(result.stdout)["rows"] == []
    assert "1 partition(s) already up to date" in json.loads(result.stdout)["notes"][1]
    result = runner.invoke(app, ["rollup", "--drop"])
    assert result.exit_code == 0 and not (isolated_data_dir / ROLLUPS_FOLDER).exists()
    result = runner.invoke(app, ["rollup", "--drop", "--rebuild"])
    assert result.exit_code == 2 and "--drop" in result.stderr
    result = runner.invoke(app, ["rollup", "--date", "2026-13-01"])
    assert result.exit_code == 2 and "bad date" in result.stderr


def test_segments_are_merged_and_unused_ones_removed_after_the_grace_period(
    isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmstats.analytics.maintenance import rollup_build
    from llmstats.analytics.maintenance.rollup_build import remove_unused
    from llmstats.analytics.rollups.index import index_rollups, list_parts

    monkeypatch.setattr(rollup_build, "MAX_PARTS", 2)
    data = str(isolated_data_dir)
    write_events(rollup_events(days=4, per_day=20), writer_id="w1")
    for day in ("2026-11-19", "2026-11-20", "2026-11-21"):
        build_rollups(data, dates=[day])
    cube = CUBES_BY_NAME["usage_compact"]
    assert len(list_parts(data, cube)) == 4  # three, merged into a fourth
    partitions = rollup_build.readable_partitions(data)
    index = index_rollups(data, [e for entries in partitions.values() for e in entries])
    assert len({s.path for s in index.available["usage_compact"].values()}) == 1
    assert remove_unused(data, index, partitions) == 0  # within the grace period
    later = dt.datetime.now(dt.UTC).timestamp() + rollup_build.READER_GRACE_SECONDS + 1
    assert remove_unused(data, index, partitions, now=later) == 3 * len(rollup_build.CUBES)
    assert len(list_parts(data, cube)) == 1
    assert_agree(isolated_data_dir, [QUERIES[0], QUERIES[17], QUERIES[21]])


def test_without_rollups_the_same_reports_are_read_from_events(isolated_data_dir: Path) -> None:
    write_events(rollup_events(days=1, per_day=30), writer_id="w1")
    plan = _plan(isolated_data_dir, "sums")
    assert plan.cube is None and plan.raw is None
    assert not (isolated_data_dir / "rollups").exists()


def test_midnight_of_day_shows_up_in_both_paths(data_dir: Path) -> None:
    """Calls in the half hour before midnight UTC land on the next New York day only
    through the hourly cube; the counts per local day match the events."""
    rows, _ = answers(data_dir, [("usage_report", {"by": "day", "tz": "America/New_York"})],
                      use_rollups=True)[0]
    assert sum(r["calls"] for r in rows) == len(rollup_events())
    assert min(r["day"] for r in rows) == dt.date(2026, 11, 18)
