"""The views on small hand-written events, written through the real EventWriter, priced
by a small fixed catalog (so expected costs are computed by hand, not by the code)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmstats.analytics.connection import connect, open_dataset
from llmstats.analytics.pricing.catalog import Catalog, build_catalog_table, snapshot_catalog
from tests.support.event_data import PRICE_MAP, fixture_events, write_events


@pytest.fixture
def data_dir(isolated_data_dir: Path) -> Path:
    write_events(fixture_events())
    snapshot_catalog(
        str(isolated_data_dir), Catalog(build_catalog_table(PRICE_MAP), "test", "snapshot")
    )
    return isolated_data_dir


def rows(sql: str) -> list[tuple[Any, ...]]:
    con = connect()
    return [
        tuple(round(v, 12) if isinstance(v, float) else v for v in r)
        for r in con.execute(sql).fetchall()
    ]


def test_event_costs_by_component_and_how_each_was_priced(data_dir: Path) -> None:
    assert rows("""
        SELECT event_id, priced_by, long_context, input_cost_usd, cache_read_cost_usd,
            cache_write_cost_usd, output_cost_usd, list_cost_usd, cost_usd,
            prompt_cache_savings_usd, proxy_cache_savings_usd, batch_savings_usd
        FROM event_costs ORDER BY event_id
    """) == [
        ("e1", "catalog", False, 6e-5, 4e-6, 0.0, 2e-5, 8.4e-5, 8.4e-5, 3.6e-5, 0.0, 0.0),
        ("e2", "catalog", False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        ("e3", "default", False, 3e-3, 0.0, 0.0, 1.5e-3, 4.5e-3, 4.5e-3, 0.0, 0.0, 0.0),
        ("e4", "catalog_zero", False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        # 50 uncached + 60 five-minute writes + 40 one-hour writes; the write premium
        # makes prompt-cache "savings" negative.
        ("e5", "catalog", False, 5e-5, 0.0, 1.55e-4, 4e-5, 2.45e-4, 2.45e-4, -5.5e-5, 0.0, 0.0),
        ("e6", "catalog", False, 1e-4, 0.0, 0.0, 2e-5, 1.2e-4, 0.0, 0.0, 1.2e-4, 0.0),
        # A batch call above the 200-token tier: half of $2 / $4 per M.
        ("e7", "catalog", True, 1e-3, 0.0, 0.0, 2e-4, 2.4e-3, 1.2e-3, 0.0, 0.0, 1.2e-3),
        ("e8", "catalog", True, 1.8e-3, 0.0, 0.0, 4e-5, 1.84e-3, 1.84e-3, 0.0, 0.0, 0.0),
    ]


def test_requests_fold_attempts_into_one_row_per_trace(data_dir: Path) -> None:
    assert rows("""
        SELECT trace_id, attempts, retries, fallbacks, first_model, final_model, final_status,
            cost_usd, latency_ms
        FROM requests WHERE trace_id IN ('t1', 't2') ORDER BY trace_id
    """) == [
        ("t1", 1, 0, 0, "acme-chat", "acme-chat", "success", 8.4e-5, 200),
        ("t2", 2, 0, 1, "acme-chat", "mystery-model", "success", 4.5e-3, 1400),
    ]


def test_errors_latency_and_context_usage(data_dir: Path) -> None:
    assert rows("SELECT event_id, error_class, error_code, http_status FROM errors") == [
        ("e2", "RateLimitError", "rate_limit_exceeded", 429)
    ]
    assert rows(
        "SELECT event_id, latency_ms, ttft_ms, output_tokens_per_second FROM latency "
        "WHERE event_id IN ('e1', 'e3') ORDER BY 1"
    ) == [("e1", 200.0, None, 50.0), ("e3", 400.0, 100.0, round(1000 / 3, 12))]
    assert rows(
        "SELECT event_id, context_window, usage_pct, band FROM context_usage ORDER BY event_id"
    ) == [
        ("e1", 1000, 10.0, "OK"),
        ("e3", None, None, "UNKNOWN"),
        ("e4", 8192, round(500 / 81.92, 12), "OK"),
        ("e5", 1000, 15.0, "OK"),
        ("e6", 1000, 10.0, "OK"),
        ("e8", 1000, 90.0, "HIGH"),
    ]


def test_rollups_and_what_if(data_dir: Path) -> None:
    assert rows(
        "SELECT period, team_id, calls, cost_usd FROM daily_usage "
        "WHERE model = 'acme-chat' ORDER BY 1, 2"
    ) == [
        (dt.date(2026, 11, 19), "search", 2, 8.4e-5),
        (dt.date(2026, 11, 21), "labs", 2, 2.085e-3),
        (dt.date(2026, 11, 21), "search", 2, 1.2e-3),
    ]
    # e3 (1000 in, 100 out) on acme-chat: above the 200-token tier, $2 / $4 per M.
    assert rows(
        "SELECT event_id, what_if_cost_usd FROM what_if('acme-chat') WHERE event_id = 'e3'"
    ) == [("e3", 2.4e-3)]


def test_an_override_window_reprices_only_its_own_period(data_dir: Path) -> None:
    (data_dir / "pricing" / "overrides.toml").write_text(
        '[[price]]\nmodel = "acme-chat"\ninput = 10.0\noutput = 20.0\nvalid_from = 2026-11-21\n'
    )
    assert rows(
        "SELECT event_id, priced_by, cost_usd FROM event_costs "
        "WHERE event_id IN ('e1', 'e8') ORDER BY 1"
    ) == [("e1", "catalog", 8.4e-5), ("e8", "override", 9.2e-3)]


def test_date_filters_prune_partitions(data_dir: Path) -> None:
    con = connect()
    plan = con.execute(
        "EXPLAIN ANALYZE SELECT sum(cost_usd) FROM event_costs WHERE date >= DATE '2026-11-21'"
    ).fetchall()[0][1]
    assert "Total Files Read: 1" in plan, plan
    plan_all = con.execute("EXPLAIN ANALYZE SELECT sum(cost_usd) FROM event_costs").fetchall()[0][1]
    assert "Total Files Read: 3" in plan_all


def test_reports_read_only_the_partitions_they_need(data_dir: Path) -> None:
    """The events side of a report (report/fetch.py, events_source) prunes partitions by its
    window and by the days the rollups leave to it."""
    from llmstats.analytics.query import Query
    from llmstats.analytics.report.fetch import events_source
    from llmstats.analytics.rollups.plan import Plan

    con = connect(use_rollups=False)
    for query, plan, files in (
        (Query.parse(since="2026-11-21"), Plan(), 1),
        (Query.parse(), Plan(raw=("2026-11-20",)), 1),
        (Query.parse(since="2026-11-20"), Plan(raw=("2026-11-19", "2026-11-21")), 1),
        (Query.parse(), Plan(), 3),
    ):
        found = events_source(query, plan, "cost_basis")
        assert found is not None
        sql, params = found
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        explained = con.execute(f"EXPLAIN ANALYZE SELECT sum(t_uncached) FROM {sql}", used).fetchall()
        assert f"Total Files Read: {files}" in explained[0][1], (query, plan)


def test_files_from_an_older_schema_read_with_nulls_for_missing_columns(data_dir: Path) -> None:
    old = data_dir / "events" / "date=2026-11-18"
    old.mkdir(parents=True)
    ts = dt.datetime(2026, 11, 18, 12, tzinfo=dt.UTC)
    pq.write_table(
        pa.table(
            {
                "event_id": ["old1"],
                "trace_id": ["old1"],
                "ts": pa.array([ts], pa.timestamp("us", tz="UTC")),
                "status": ["success"],
                "provider": ["openai"],
                "model": ["acme-chat"],
                "input_tokens": pa.array([100], pa.int64()),
                "output_tokens": pa.array([10], pa.int64()),
                "legacy_field": ["kept"],
            }
        ),
        old / "old-00000001.parquet",
    )
    assert rows(
        "SELECT event_id, date, cache_write_1h_tokens, tags, batch, cost_usd, legacy_field "
        "FROM event_costs WHERE date = DATE '2026-11-18'"
    ) == [("old1", dt.date(2026, 11, 18), None, None, None, 1.2e-4, "kept")]
    assert rows("SELECT count(*) FROM events") == [(9,)]


def test_an_unreadable_file_is_skipped_named_and_can_be_moved_aside(data_dir: Path) -> None:
    bad = data_dir / "events" / "date=2026-11-19" / "broken-00000001.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    dataset = open_dataset()
    assert [path for path, _ in dataset.state.skipped] == [str(bad)]
    assert dataset.con.execute("SELECT count(*) FROM events").fetchall() == [(8,)]
    moved = open_dataset(quarantine=True).state.quarantined
    assert moved == [
        (str(bad), str(data_dir / "quarantine" / "events" / "date=2026-11-19" / bad.name))
    ]
    assert not bad.exists()


def test_an_empty_data_dir_has_every_view_with_no_rows() -> None:
    con = connect()
    for view in (
        "events",
        "event_costs",
        "savings",
        "requests",
        "errors",
        "latency",
        "context_usage",
        "daily_usage",
        "weekly_usage",
        "monthly_usage",
    ):
        assert con.execute(f"SELECT count(*) FROM {view}").fetchall() == [(0,)], view


def test_segments_take_cache_reads_from_the_start_of_the_prompt(data_dir: Path) -> None:
    (e1,) = [e for e in fixture_events() if e["event_id"] == "e1"]
    segmented = {
        **e1,
        "event_id": "s1",
        "trace_id": "ts1",
        "segments": [
            {"role": "system", "kind": "tool_definitions", "tokens": 30},
            {"role": "system", "kind": "text", "tokens": 20},
            {"role": "user", "kind": "code", "tokens": 50},
        ],
    }
    write_events([segmented], writer_id="segmented")
    # 40 cache-read tokens at $0.1/M cover the first 40 tokens; the rest are $1/M.
    assert rows("""
        SELECT segment_pos, role, kind, segment_tokens, segment_cached_tokens,
            segment_input_cost_usd
        FROM segments ORDER BY segment_pos
    """) == [
        (1, "system", "tool_definitions", 30, 30, 3e-6),
        (2, "system", "text", 20, 10, 1.1e-5),
        (3, "user", "code", 50, 0, 5e-5),
    ]
    assert rows("""
        SELECT round(sum(segment_input_cost_usd), 12) = round(any_value(input_cost_usd)
            + any_value(cache_read_cost_usd), 12)
        FROM segments
    """) == [(True,)]


def test_a_dataset_mixing_schema_versions_reads_failures_alike(data_dir: Path) -> None:
    """A failure written by schema version 1 (0 tokens and $0 where nothing was reported,
    no error_code_source or client_retry_count) and one written by version 2 or later (NULLs,
    a code derived from LiteLLM's class, the client's retry number) read the same way: neither is
    an OK call in the context report, both fail on context length, both are requests."""
    from llmstats.analytics.connection import open_dataset
    from llmstats.analytics.query import Query
    from llmstats.analytics.report.reports import context_report, errors_report
    from llmstats.plugin.schema import EVENT_SCHEMA, SCHEMA_VERSION

    ts = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)
    v1_columns = [f for f in EVENT_SCHEMA
                  if f.name not in ("client_retry_count", "error_code_source", "batch_requests")]
    v1_row = {
        "event_id": "v1-fail", "trace_id": "t-v1", "ts": ts, "end_ts": ts, "call_type": "chat",
        "status": "failure", "provider": "openai", "model": "acme-chat",
        "error_class": "BadRequestError", "error_code": "context_length_exceeded",
        "http_status": 400, "input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
        "reported_cost_usd": 0.0, "max_input_tokens": 1000, "schema_version": 1,
    }  # fmt: skip
    old = data_dir / "events" / "date=2026-11-22"
    old.mkdir(parents=True)
    table = pa.Table.from_pylist([v1_row], schema=pa.schema(v1_columns))
    pq.write_table(table, old / "v1writer-00000001.parquet")
    us = int(ts.timestamp() * 1_000_000)
    write_events([
        {"event_id": "v2-fail", "trace_id": "t-v2", "ts": us + 1, "end_ts": us + 2,
         "call_type": "chat", "status": "failure", "provider": "anthropic", "model": "acme-chat",
         "error_class": "ContextWindowExceededError", "error_code": "context_length_exceeded",
         "error_code_source": "derived", "http_status": 400, "client_retry_count": 0},
        {"event_id": "v2-retry", "trace_id": "t-v2-retry", "ts": us + 3, "end_ts": us + 4,
         "call_type": "chat", "status": "failure", "provider": "openai", "model": "acme-chat",
         "error_class": "RateLimitError", "error_code": "rate_limit_exceeded",
         "error_code_source": "provider", "http_status": 429, "client_retry_count": 1},
    ], writer_id="v2writer")  # fmt: skip
    assert rows(
        "SELECT event_id, schema_version, input_tokens, error_code_source, client_retry_count "
        "FROM events WHERE date = DATE '2026-11-22' ORDER BY event_id"
    ) == [
        ("v1-fail", 1, 0, None, None),
        ("v2-fail", SCHEMA_VERSION, None, "derived", 0),
        ("v2-retry", SCHEMA_VERSION, None, "provider", 1),
    ]
    assert rows(
        "SELECT event_id, band, usage_pct FROM context_usage "
        "WHERE date = DATE '2026-11-22' ORDER BY event_id"
    ) == [("v1-fail", "EXCEEDED", None), ("v2-fail", "EXCEEDED", None)]
    dataset = open_dataset()
    query = Query.parse(since="2026-11-22", until="2026-11-23")
    (context,) = context_report(dataset.con, query).rows.to_pylist()
    assert (context["calls"], context["ok"], context["exceeded"]) == (2, 0, 2)
    totals = errors_report(dataset.con, query).totals
    assert (totals["requests"], totals["first_attempts"], totals["client_retries"]) == (3, 2, 1)
