"""The priced copy (cube `priced_events`): reports served from it give the answers the
events give, over random windows, filters and groupings — with the copy, without it
(deleted), and when it is stale (pricing changed since it was built).

Data: the benchmark generator (4 days, its realistic cardinalities: 5,000 users, tags,
keys, retries and fallbacks), rollups built, so the copy serves every dimension no cube
keeps. Comparisons: counts and tokens exactly, money to 1e-9 relative, quantiles to
1e-12 (both sides merge the same sketch buckets); see test_rollups.same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from llmstats.analytics.connection import open_dataset
from llmstats.analytics.maintenance.rollup_build import build_rollups
from llmstats.analytics.query import Query
from llmstats.analytics.report.reports import (
    errors_report,
    errors_reports,
    latency_report,
    latency_reports,
    savings_report,
    savings_reports,
    usage_report,
)
from llmstats.analytics.rollups.plan import plan_part
from llmstats.analytics.rollups.quantiles import RELATIVE_ERROR
from llmstats.analytics.rollups.spec import ROLLUPS_FOLDER
from tests.support.rollup_data import answers
from tests.support.sample_dataset import generator, isolated_environment
from tests.test_rollups import same

NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
DAYS = ("2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19")
# Dimensions no cube keeps (the copy's reason to be), some a cube keeps (the copy must
# not change their answers), periods (zones whose days are not UTC days, too).
DIMENSIONS = ("user", "tag", "key", "key_hash", "session", "end_user", "priced_by", "model",
              "team", "provider", "status", "error", "stream", "hour", "day", "week")
FILTERS = ("user=user-0001", "user=user-0002", "tag=prod", "tag=rag", "model=gpt-4o-mini",
           "team=Team 01", "key=key-001", "status=failure", "priced_by=catalog")
ZONES = ("UTC", "America/New_York", "Asia/Kolkata")
REPORTS = ("usage_report", "savings_report", "latency_report", "errors_report", "context_report")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated and rolled up once; each test gets a copy (test_rollups builds per test)."""
    scratch = tmp_path_factory.mktemp("priced-copy")
    with isolated_environment(scratch):
        generator().generate(str(scratch / "data"), 6_000, days=4)
        run = build_rollups(str(scratch / "data"), include_today=True)
    assert not run.errors and [p.date for p in run.built] == list(DAYS)
    return scratch / "data"


@pytest.fixture
def data_dir(built: Path, isolated_data_dir: Path) -> Path:
    shutil.copytree(built, isolated_data_dir, dirs_exist_ok=True)
    return isolated_data_dir


def random_queries(seed: int, count: int) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    queries = []
    while len(queries) < count:
        report = rng.choice(REPORTS)
        by = rng.sample(DIMENSIONS, rng.choice((1, 1, 2)))
        where = rng.sample(FILTERS, rng.choice((0, 0, 1, 2)))
        if report in ("latency_report", "errors_report", "context_report") and ("priced_by" in by or any(w.startswith("priced_by") for w in where)):
            continue  # a cost-only dimension: the latency report refuses it (exit 2)
        kwargs: dict[str, Any] = {"by": ",".join(by), "where": where, "tz": rng.choice(ZONES)}
        # Whole days, a window cut inside a day, or an open end.
        start = dt.datetime(2026, 11, 16, tzinfo=dt.UTC) + dt.timedelta(hours=rng.choice((0, 0, 7, 30)))
        if rng.random() < 0.7:
            kwargs["since"] = start.strftime("%Y-%m-%dT%H:%M")
        if rng.random() < 0.5:
            kwargs["until"] = (start + dt.timedelta(hours=rng.choice((24, 53, 72)))).strftime("%Y-%m-%dT%H:%M")
        queries.append((report, kwargs))
    return queries


def assert_agree(data_dir: Path, queries: list[tuple[str, dict[str, Any]]]) -> None:
    """Same rows (as sets keyed by their groups: equal costs may sort either way) and totals."""
    fast = answers(data_dir, queries, use_rollups=True)
    raw = answers(data_dir, queries, use_rollups=False)
    for (name, kwargs), (rows_f, totals_f), (rows_e, totals_e) in zip(queries, fast, raw, strict=True):
        where = f"{name} {kwargs}"
        assert len(rows_f) == len(rows_e), where
        keys = [c for c in kwargs["by"].split(",")]
        by_group = {tuple(str(r[k]) for k in keys): r for r in rows_e}
        for row in rows_f:
            expected = by_group[tuple(str(row[k]) for k in keys)]
            assert list(row) == list(expected), where
            for column in row:
                same(row[column], expected[column], f"{where} {column}")
        for column in totals_f:
            same(totals_f[column], totals_e[column], f"{where} totals {column}")


def served(data_dir: Path, kind: str, **kwargs: Any) -> tuple[str | None, tuple[str, ...]]:
    dataset = open_dataset(str(data_dir), lazy_events=True)
    plan = plan_part(dataset.con, Query.parse(now=NOW, **kwargs), kind, pricing=kind == "sums")
    return (plan.cube.name if plan.cube else None), plan.covered


def test_random_reports_from_the_copy_equal_the_events(data_dir: Path) -> None:
    # The copy serves what no cube keeps (else this test would compare events to events),
    # its sums per user, tag, key and team what they keep.
    assert served(data_dir, "sums", by="user,model") == ("priced_user_models", DAYS)
    assert served(data_dir, "sums", by="model", where=["user=user-0001"]) == (
        "priced_user_models", DAYS)
    assert served(data_dir, "sums", by="user,team") == ("priced_user_teams", DAYS)
    assert served(data_dir, "sums", by="team", where=["user=user-0001"]) == (
        "priced_user_teams", DAYS)
    assert served(data_dir, "sums", by="user,key") == ("priced_events", DAYS)
    assert served(data_dir, "sums", by="user") == ("priced_users", DAYS)
    assert served(data_dir, "sums", by="tag", where=["user=user-0001"]) == ("priced_events", DAYS)
    assert served(data_dir, "sums", by="tag") == ("priced_tags", DAYS)
    assert served(data_dir, "sums", by="tag,model") == ("priced_tag_models", DAYS)
    assert served(data_dir, "sums", by="day,model", where=["tag=prod"]) == (
        "priced_tag_models", DAYS)
    assert served(data_dir, "sums", by="team", where=["tag=prod"]) == ("priced_tag_teams", DAYS)
    assert served(data_dir, "sums", by="key") == ("priced_keys", DAYS)
    assert served(data_dir, "sums", by="key,model") == ("priced_key_models", DAYS)
    assert served(data_dir, "sums", by="day,model", where=["key=key-001"]) == (
        "priced_key_models", DAYS)
    assert served(data_dir, "sums", by="team") == ("priced_team", DAYS)
    assert served(data_dir, "sketch", by="tag", where=["user=user-0001"]) == ("priced_events", DAYS)
    assert served(data_dir, "sums", by="day", tz="Asia/Kolkata") == ("priced_events", DAYS)
    assert served(data_dir, "rows", by="provider,model,error") == ("priced_events", DAYS)
    assert served(data_dir, "sums", by="team,model") == ("priced_team_models", DAYS)
    assert served(data_dir, "sums", by="day,model", where=["team=search"]) == (
        "priced_team_models", DAYS)
    assert served(data_dir, "sums", by="provider,model") == ("priced_models", DAYS)
    assert served(data_dir, "errors", by="provider,model,error", where=["team=Team 01"]) == (
        "errors_team", DAYS)
    assert served(data_dir, "errors", by="error", where=["key=key-001"]) == (
        "priced_events", DAYS)
    # ... and leaves to the cubes what they keep.
    assert served(data_dir, "sums", by="team,status")[0] == "usage_team"
    assert served(data_dir, "sums", by="model,status")[0] == "usage_compact"
    assert_agree(data_dir, random_queries(seed=24, count=18))
    # Reports over single calls grouped by a column they also read.
    assert_agree(data_dir, [
        ("errors_report", {"by": "status", "where": [], "tz": "UTC"}),
        ("context_report", {"by": "model,status", "where": ["tag=prod"], "tz": "UTC"}),
    ])


def test_without_the_copy_and_with_a_stale_one_the_events_answer(data_dir: Path) -> None:
    queries = random_queries(seed=7, count=6)
    by_model = [("usage_report", {"by": "model"})]
    cost = {r["model"]: r["cost_usd"] for r in answers(data_dir, by_model, use_rollups=True)[0][0]}
    # Stale: an override for a model of the data; every day of the copy holds that model.
    (data_dir / "pricing").mkdir(exist_ok=True)
    (data_dir / "pricing" / "overrides.toml").write_text(
        '[[price]]\nmodel = "gpt-4o-mini"\ninput = 10.0\noutput = 20.0\n')
    assert served(data_dir, "sums", by="user")[0] is None
    # The context cube's windows are the catalog's, so it is stale too; errors are not.
    assert served(data_dir, "context")[0] is None
    assert served(data_dir, "errors") == ("errors_calls", DAYS)
    assert_agree(data_dir, queries)
    repriced = {r["model"]: r["cost_usd"] for r in answers(data_dir, by_model, use_rollups=True)[0][0]}
    assert repriced["gpt-4o-mini"] > 10 * cost["gpt-4o-mini"]
    assert repriced["gpt-4o"] == pytest.approx(cost["gpt-4o"], rel=1e-12)
    # `llmstats rollup` rebuilds the stale days' copy (and only that cube).
    run = build_rollups(str(data_dir), include_today=True)
    assert [p.date for p in run.built] == list(DAYS)
    priced = {"priced_events", "priced_team", "priced_keys", "priced_tags", "priced_users",
              "priced_user_models", "priced_key_models", "priced_user_teams", "context_model",
              "priced_models", "priced_team_models", "priced_tag_models", "priced_tag_teams",
              "reconcile_calls", "priced_end_users"}
    assert all(set(p.rows) == priced for p in run.built)
    assert served(data_dir, "sums", by="user") == ("priced_users", DAYS)
    assert_agree(data_dir, queries)
    # Without the copy (deleted; its sums, priced under the override, are stale again):
    # the events answer, as before the override.
    (data_dir / "pricing" / "overrides.toml").unlink()
    shutil.rmtree(data_dir / ROLLUPS_FOLDER / "priced_events")
    assert served(data_dir, "sums", by="user")[0] is None
    assert_agree(data_dir, queries)


def _view_rows(con: Any, view: str) -> list[tuple[Any, ...]]:
    # Every column, in a stable order (event ids are unique in the generated data).
    return con.execute(f"SELECT * FROM {view} ORDER BY event_id").fetchall()


def _copied(data_dir: Path) -> list[str]:
    return sorted(open_dataset(str(data_dir), from_copy=True).copied_days)


def test_connect_reads_closed_days_from_the_copy_with_every_column_the_same(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmstats.analytics import connect
    from llmstats.analytics.rollups import copy_views

    def assert_views_agree() -> None:
        fast, slow = connect(str(data_dir)), connect(str(data_dir), use_rollups=False)
        for view in ("events", "event_costs"):
            columns = [d[0] for d in fast.execute(f"SELECT * FROM {view} LIMIT 0").description]
            assert columns == [d[0] for d in slow.execute(f"SELECT * FROM {view} LIMIT 0").description]
            assert fast.execute(f"DESCRIBE {view}").fetchall() == slow.execute(f"DESCRIBE {view}").fetchall()
            assert _view_rows(fast, view) == _view_rows(slow, view), view
        # A view over event_costs reads the same rows too.
        savings = "SELECT provider, sum(savings_usd) FROM savings GROUP BY ALL ORDER BY ALL"
        for got, want in zip(fast.execute(savings).fetchall(), slow.execute(savings).fetchall(), strict=True):
            assert got[0] == want[0] and got[1] == pytest.approx(want[1], rel=1e-9)

    assert _copied(data_dir) == list(DAYS)
    assert_views_agree()
    # A day whose files changed after the copy was built (a late file) is read from its
    # files, the others still from the copy.
    day = data_dir / "events" / f"date={DAYS[1]}"
    first = sorted(day.glob("*.parquet"))[0]
    shutil.copy(first, day / f"late-{first.name}")
    assert _copied(data_dir) == [DAYS[0], *DAYS[2:]]
    assert_views_agree()  # the late day priced at connect(), its rows twice
    monkeypatch.setattr(copy_views, "LIVE_PRICED_AT_CONNECT", 0)
    assert_views_agree()  # priced by each question
    # New pricing for a model every day holds: no day of the copy is priced as today.
    (data_dir / "pricing").mkdir(exist_ok=True)
    (data_dir / "pricing" / "overrides.toml").write_text(
        '[[price]]\nmodel = "gpt-4o-mini"\ninput = 10.0\noutput = 20.0\n')
    assert _copied(data_dir) == []
    assert_views_agree()


def assert_reconcile_agrees(data_dir: Path, **kwargs: Any) -> None:
    (fast, fast_totals), (slow, slow_totals) = (
        answers(data_dir, [("reconcile_report", kwargs)], use_rollups=flag)[0]
        for flag in (True, False))
    assert fast and len(fast) == len(slow), kwargs
    by_cell = {(r["provider"], r["model"], r["reason"]): r for r in slow}
    for row in fast:
        expected = by_cell[(row["provider"], row["model"], row["reason"])]
        for column in row:
            same(row[column], expected[column], f"{kwargs} {column}")
    for column in fast_totals:
        same(fast_totals[column], slow_totals[column], f"{kwargs} totals {column}")


def test_reconcile_from_its_cube_and_the_copy_equals_the_events(data_dir: Path) -> None:
    assert served(data_dir, "reconcile") == ("reconcile_calls", DAYS)
    assert_reconcile_agrees(data_dir)
    # A window cut inside a day: that day's calls from the copy, the others from the cube.
    assert_reconcile_agrees(data_dir, since="2026-11-16T06:00:00Z", until="2026-11-19")
    # A filter the cube does not keep: the copy's calls.
    assert_reconcile_agrees(data_dir, where=["tag=prod"])
    assert_reconcile_agrees(data_dir, where=["priced_by=default"])
    # New pricing: the events, priced now.
    (data_dir / "pricing").mkdir(exist_ok=True)
    (data_dir / "pricing" / "overrides.toml").write_text(
        '[[price]]\nmodel = "gpt-4o-mini"\ninput = 10.0\noutput = 20.0\n')
    assert served(data_dir, "reconcile")[0] is None
    assert_reconcile_agrees(data_dir)


def test_prune_rewrites_the_copy_without_the_pruned_days(data_dir: Path) -> None:
    from llmstats.plugin.retention import prune_partitions

    prune_partitions(str(data_dir), dt.date(2026, 11, 18))
    assert served(data_dir, "sums", by="user") == ("priced_users", DAYS[2:])
    assert served(data_dir, "sums", by="user,model") == ("priced_user_models", DAYS[2:])
    import pyarrow.parquet as pq

    for part in [*(data_dir / ROLLUPS_FOLDER / "priced_events").glob("part-*.parquet"),
                 *(data_dir / ROLLUPS_FOLDER / "priced_users").glob("part-*.parquet"),
                 *(data_dir / ROLLUPS_FOLDER / "priced_user_models").glob("part-*.parquet")]:
        dates = {d.isoformat() for d in pq.read_table(part, columns=["date"]).column("date").to_pylist()}
        assert dates <= set(DAYS[2:])
    assert_agree(data_dir, random_queries(seed=3, count=4))


@pytest.mark.parametrize("by", ["user", "tag", "key", "key_hash"])
def test_top_groups_have_the_quantiles_of_the_full_report(data_dir: Path, by: str) -> None:
    # With --top, quantiles are computed for the shown groups only (reports._narrowed_to_top).
    dataset = open_dataset(str(data_dir))
    full = usage_report(dataset.con, Query.parse(now=NOW, by=by))
    top = usage_report(dataset.con, dataclasses.replace(Query.parse(now=NOW, by=by), top=7))
    assert len(full.data) > 7 and len(top.data) == 7
    # Money to 1e-9 relative (sums of floats in another order), the rest exactly.
    for row, expected in zip(top.data, full.data[:7], strict=True):
        assert list(row) == list(expected)
        for column in row:
            same(row[column], expected[column], f"{by} {column}")
    for column in full.totals:
        same(top.totals[column], full.totals[column], f"{by} totals {column}")


# The reference for `report errors` and `report context`: each as one SQL statement over
# the events, as the reports computed them before they read per-call codes from the copy
# and pivoted small groupings in Python (the bands as 08_context_bands.sql first wrote them).
REFERENCE_BANDS = """
CREATE OR REPLACE MACRO reference_bands(tbl) AS TABLE
WITH sized AS (
    SELECT e.*, COALESCE(NULLIF(e.max_input_tokens, 0), pr.context_window) AS context_window,
        COALESCE(e.status = 'failure' AND (e.error_code = 'context_length_exceeded'
                 OR e.error_class = 'ContextWindowExceededError'), FALSE) AS exceeded
    FROM query_table(tbl) AS e
    LEFT JOIN pair_rates AS pr
        ON pr.provider IS NOT DISTINCT FROM e.provider AND pr.model IS NOT DISTINCT FROM e.model
    WHERE e.call_type IN ('chat', 'responses')
)
SELECT *,
    CASE WHEN NOT exceeded AND context_window > 0 THEN 100.0 * input_tokens / context_window END
        AS usage_pct,
    CASE WHEN exceeded THEN 'EXCEEDED'
        WHEN context_window IS NULL OR context_window <= 0 THEN 'UNKNOWN'
        WHEN input_tokens < 0.50 * context_window THEN 'OK'
        WHEN input_tokens < 0.70 * context_window THEN 'LOW'
        WHEN input_tokens < 0.85 * context_window THEN 'MEDIUM'
        WHEN input_tokens < 0.95 * context_window THEN 'HIGH'
        ELSE 'CRITICAL' END AS band
FROM sized
WHERE exceeded OR (input_tokens IS NOT NULL AND NOT (status = 'failure' AND input_tokens = 0))
"""
REFERENCE_CONTEXT = """count(*) AS calls,
    count(*) FILTER (WHERE band = 'OK') AS ok, count(*) FILTER (WHERE band = 'LOW') AS low,
    count(*) FILTER (WHERE band = 'MEDIUM') AS medium, count(*) FILTER (WHERE band = 'HIGH') AS high,
    count(*) FILTER (WHERE band = 'CRITICAL') AS critical,
    count(*) FILTER (WHERE band = 'EXCEEDED') AS exceeded,
    count(*) FILTER (WHERE band = 'UNKNOWN') AS unknown,
    quantile_cont(sketch_value(sketch_bucket(usage_pct)), 0.95) AS p95_usage_pct,
    max(usage_pct) AS max_usage_pct, max(context_window) AS context_window,
    quantile_cont(usage_pct, 0.95) AS exact_p95_"""
# The p95 is read from sketch buckets (within 1 %, docs/analytics.md "Quantiles"): DuckDB's
# quantile_cont over each call's bucket value is the same answer another way.


def _mode(column: str) -> str:
    counts = f"histogram({column}) FILTER (WHERE status = 'failure')"
    return (f"list_sort(list_transform(map_entries({counts}), "
            f"lambda e: {{'n': -CAST(e.value AS BIGINT), 'v': e.key}}))[1].v AS {column}")


REFERENCE_ERRORS = f"""count(*) FILTER (WHERE status = 'failure') AS failures, count(*) AS calls,
    COALESCE(count(*) FILTER (WHERE status = 'failure') / NULLIF(count(*), 0), 0) AS error_rate,
    {_mode("http_status")}, {_mode("error_code")}, {_mode("error_code_source")},
    CAST(COALESCE(sum(retries), 0) AS BIGINT) AS retries,
    CAST(COALESCE(sum(fallbacks), 0) AS BIGINT) AS fallbacks,
    CAST(COALESCE(sum(requests), 0) AS BIGINT) AS requests,
    CAST(COALESCE(sum(requests) FILTER (WHERE NOT COALESCE(client_retry_count > 0, FALSE)), 0)
        AS BIGINT) AS first_attempts,
    CAST(COALESCE(sum(requests) FILTER (WHERE client_retry_count > 0), 0) AS BIGINT)
        AS client_retries"""


def reference(con: Any, name: str, query: Query) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(rows, totals) of the errors or context report, by the reference SQL over the events."""
    from llmstats.analytics.rollups.spec import FINAL_ATTEMPT

    def run(q: Query, table: str, aggregates: str, tail: str) -> list[dict[str, Any]]:
        exprs = q.group_exprs(cost_columns=False)
        source, params = q.source(table, cost_columns=False)
        dims = "".join(f"{expr} AS {n}, " for n, expr in exprs)
        keys = ", ".join(n for n, _ in exprs)
        sql = f"SELECT {dims}{aggregates} FROM {source} " + (
            f"GROUP BY {keys} {tail} {keys} {f'LIMIT {q.top}' if q.top else ''}" if keys else "")
        cursor = con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql} or None)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    if name == "context_report":
        con.execute(REFERENCE_BANDS)
        con.execute("CREATE OR REPLACE TEMP VIEW reference_calls AS "
                    "SELECT * FROM reference_bands('events')")
        rows = run(query, "reference_calls", REFERENCE_CONTEXT,
                   "ORDER BY exceeded DESC, critical DESC, high DESC, calls DESC,")
        for row in rows:
            # The sketch's promise: within 1 % of the exact quantile.
            exact = row.pop("exact_p95_")
            assert (exact is None) == (row["p95_usage_pct"] is None)
            if exact:
                assert abs(row["p95_usage_pct"] - exact) <= RELATIVE_ERROR * exact
        return rows, {}
    con.execute(f"CREATE OR REPLACE TEMP VIEW reference_attempts AS "
                f"SELECT *, {FINAL_ATTEMPT} AS requests FROM events")
    rows = run(query, "reference_attempts", REFERENCE_ERRORS,
               "HAVING failures > 0 ORDER BY failures DESC,")
    (total,) = run(query.with_by(()), "reference_attempts",
                   REFERENCE_ERRORS.replace(f"{_mode('http_status')}, {_mode('error_code')}, "
                                            f"{_mode('error_code_source')},", ""), "")
    return rows, total


@pytest.mark.parametrize(("seed", "cubes"), [(1, True), (2, False)])
def test_errors_and_context_from_cubes_and_copy_equal_one_sql_over_the_events(
        data_dir: Path, seed: int, cubes: bool) -> None:
    """From their cubes (errors_calls, context_model) where they serve, the copy where
    they do not (a user, a tag) — and from the copy alone once the cubes are deleted."""
    rng = random.Random(seed)
    queries = [q for q in random_queries(seed, 40) if q[0] in ("errors_report", "context_report")]
    queries = [(name, {**kwargs, "top": rng.choice((None, None, 3))}) for name, kwargs in queries[:8]]
    queries += [("errors_report", {"by": "", "where": [], "tz": "UTC"}),
                ("context_report", {"by": "", "where": ["status=failure"], "tz": "UTC"}),
                ("errors_report", {"by": "day,error", "where": ["provider=openai"], "tz": "UTC"}),
                ("context_report", {"by": "provider,call_type", "where": [], "tz": "UTC"})]
    assert served(data_dir, "rows", by="model") == ("priced_events", DAYS)
    assert served(data_dir, "errors", where=["user=user-0001"]) == ("priced_events", DAYS)
    if cubes:
        assert served(data_dir, "errors", by="day,error") == ("errors_calls", DAYS)
        assert served(data_dir, "context", by="provider,call_type") == ("context_model", DAYS)
    else:
        for cube in ("errors_calls", "context_model"):
            shutil.rmtree(data_dir / ROLLUPS_FOLDER / cube)
        assert served(data_dir, "context", by="model") == ("priced_events", DAYS)
    fast = answers(data_dir, queries, use_rollups=True)
    dataset = open_dataset(str(data_dir), use_rollups=False)
    compared = 0
    for (name, kwargs), (rows, totals) in zip(queries, fast, strict=True):
        query = Query.parse(now=NOW, **kwargs)
        query = query if query.by else dataclasses.replace(
            query, by=("provider", "model", "error") if name == "errors_report" else ("model",))
        expected_rows, expected_totals = reference(dataset.con, name, query)
        where = f"{name} {kwargs}"
        assert [list(r) for r in rows] == [list(r) for r in expected_rows], where
        compared += len(rows)
        for row, expected in zip(rows, expected_rows, strict=True):
            for column in row:
                same(row[column], expected[column], f"{where} {column}")
        assert list(totals) == list(expected_totals), where
        for column in totals:
            same(totals[column], expected_totals[column], f"{where} totals {column}")
    assert compared > 20  # rows compared, not two empty reports


@pytest.mark.parametrize("where", [[], ["team=Team 01"], ["tag=prod"]])
def test_errors_reports_of_one_pass_are_each_errors_report(data_dir: Path, where: list[str]) -> None:
    """The engineering page's two errors tables come from one pass grouped by both
    groupings' dimensions: each equals its own errors_report, row for row."""
    dataset = open_dataset(str(data_dir))
    query = Query.parse(now=NOW, where=where)
    groupings = [(("day", "error"), None), (("provider", "model", "error"), 20), (("tag",), 3)]
    together = errors_reports(dataset.con, query, groupings[:2])
    alone = [errors_report(dataset.con, dataclasses.replace(query, by=by, top=top))
             for by, top in groupings]
    assert together[0].rows.to_pylist() and together[1].rows.to_pylist()
    for one, other in zip(together, alone, strict=False):
        assert one.rows.to_pylist() == other.rows.to_pylist()
        assert one.totals == other.totals
    # With a tag among them: each asked alone (an event with two tags is in two parts).
    tagged = errors_reports(dataset.con, query, groupings)
    assert [r.rows.to_pylist() for r in tagged] == [r.rows.to_pylist() for r in alone]


@pytest.mark.parametrize("where", [[], ["team=Team 01"], ["user=user-0001"],
                                   ["key=key-001", "model=gpt-4o-mini"]])
def test_latency_reports_of_one_pass_are_each_latency_report(
        data_dir: Path, where: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The engineering page's three latency tables: with a filter no sketch cube keeps,
    one pass over the priced copy (seen here by counting passes), each table equal to
    its own latency_report, and to the events' answer without rollups."""
    from llmstats.analytics.report import parts

    passes: list[int] = []
    one_pass = parts.fetch_value_quantile_sets

    def counted(*args: Any, **kwargs: Any) -> Any:
        passes.append(1)
        return one_pass(*args, **kwargs)

    monkeypatch.setattr(parts, "fetch_value_quantile_sets", counted)
    query = Query.parse(now=NOW, where=where, since="2026-11-16T07:00")
    groupings = [(("provider", "model"), 10), (("day", "model"), None), (("deployment",), 10)]
    for use_rollups in (True, False):
        con = open_dataset(str(data_dir), use_rollups=use_rollups).con
        together = latency_reports(con, query, groupings)
        alone = [latency_report(con, dataclasses.replace(query, by=by, top=top))
                 for by, top in groupings]
        assert all(r.rows.to_pylist() for r in together)
        assert [r.rows.to_pylist() for r in together] == [r.rows.to_pylist() for r in alone]
        if use_rollups:
            copied = together
        else:
            for ours, events in zip(copied, together, strict=True):
                for row, expected in zip(ours.rows.to_pylist(), events.rows.to_pylist(),
                                         strict=True):
                    for column, value in row.items():
                        same(value, expected[column], f"{ours.title} {column}")
    # Filtered to what no sketch cube keeps: the three tables from one pass.
    if where:
        assert passes == [1]
    # Where the values would take more than half the memory limit: each table alone.
    monkeypatch.setattr(parts, "VALUE_BYTES", 2**40)
    con = open_dataset(str(data_dir)).con
    before = len(passes)
    assert ([r.rows.to_pylist() for r in latency_reports(con, query, groupings)]
            == [r.rows.to_pylist() for r in copied])
    assert len(passes) == before


def test_the_engine_stopping_a_query_blames_no_cube() -> None:
    """Out of memory (or interrupted: the client went away) is the engine's, not a
    damaged part's: the cube stays trusted, where a read that fails on its file is
    blamed on it (and the connection's later questions go to the events)."""
    import duckdb

    from llmstats.analytics.report.fetch import OutOfMemory, RollupReadFailed, fetch_planned
    from llmstats.analytics.rollups.plan import Plan
    from llmstats.analytics.rollups.spec import CUBES_BY_NAME

    con = duckdb.connect()
    con.execute("SET memory_limit = '2MB'")
    con.execute("SET temp_directory = ''")  # nowhere to spill
    con.execute("SET threads = 1")
    plan = Plan(cube=CUBES_BY_NAME["priced_events"], view="unused")
    with pytest.raises(OutOfMemory):
        fetch_planned(con, plan, "SELECT list(i) FROM range(3000000) t(i)", {})
    with pytest.raises(RollupReadFailed):
        fetch_planned(con, plan, "SELECT * FROM read_parquet('no-such-part.parquet')", {})


@pytest.mark.parametrize("where", [[], ["team=Team 01"], ["user=user-0001"]])
def test_savings_reports_of_one_query_are_each_savings_report(data_dir: Path, where: list[str]) -> None:
    """The overview's trends and savings table come from one query by period and model:
    each equals its own savings_report (money to summation order)."""
    dataset = open_dataset(str(data_dir))
    query = Query.parse(now=NOW, where=where)
    groupings = [(("day",), None), (("day", "model"), None), (("model",), 5), (("tag",), 3)]
    alone = [savings_report(dataset.con, dataclasses.replace(query, by=by, top=top))
             for by, top in groupings]
    for together in (savings_reports(dataset.con, query, groupings[:3]),
                     savings_reports(dataset.con, query, groupings)):
        for one, other in zip(together, alone, strict=False):
            ours, theirs = one.rows.to_pylist(), other.rows.to_pylist()
            assert ours and len(ours) == len(theirs)
            for row, expected in zip(ours, theirs, strict=True):
                assert list(row) == list(expected)
                for column, value in row.items():
                    same(value, expected[column], f"{one.title} {column}")
            for column, value in one.totals.items():
                same(value, other.totals[column], f"{one.title} totals {column}")


@pytest.mark.parametrize(("name", "search", "where"), [
    ("user", "00", []), ("tag", "", ["team=Team 01"]), ("team", "te", ["user=user-0001"]),
    ("model", "mini", []), ("priced_by", "", ["tag=prod"]), ("day", "11-1", []),
])
def test_picker_values_are_the_events_counted(data_dir: Path, name: str, search: str,
                                              where: list[str]) -> None:
    """A value picker's values and counts (from cubes and the copy where they serve) are
    the events' own, counted one by one with the other filters."""
    from llmstats.analytics.report.browse import dimension_values

    dataset = open_dataset(str(data_dir))
    query = Query.parse(now=NOW, where=where)
    found = dimension_values(dataset.con, query, name, search, 50)
    table = "event_costs" if name == "priced_by" else "events"
    source, params = dataclasses.replace(query, by=()).source(table, cost_columns=name == "priced_by")
    inner = (f"SELECT unnest(tags) AS value FROM {source}" if name == "tag" else
             f"SELECT CAST({query.expr(name)} AS VARCHAR) AS value FROM {source}")
    expected = dataset.con.execute(
        f"SELECT value, count(*) AS calls FROM ({inner}) WHERE value IS NOT NULL "
        "AND contains(lower(value), $search) GROUP BY value ORDER BY calls DESC, value LIMIT 50",
        {**{k: v for k, v in params.items() if f"${k}" in inner}, "search": search}).fetchall()
    assert expected
    assert [(v["value"], v["calls"]) for v in found] == expected
