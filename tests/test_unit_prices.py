"""Calls billed per unit rather than per token: rerank per search unit (LiteLLM's
input_cost_per_query x meta.billed_units.search_units), images and transcribed audio, with
flagged per-unit defaults where no catalog entry prices the model."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmstats.analytics.connection import connect, open_dataset
from llmstats.analytics.maintenance.rollup_build import build_rollups
from llmstats.analytics.pricing.catalog import Catalog, build_catalog_table, snapshot_catalog
from llmstats.analytics.query import Query
from llmstats.analytics.report import reports
from llmstats.analytics.rollups.plan import plan_part
from llmstats.plugin.extract import extract_event
from tests.support.event_data import write_events

PAYLOADS = Path(__file__).parent / "fixtures" / "payloads" / "proxy.jsonl"
DAY = dt.datetime(2026, 11, 18, 12, tzinfo=dt.UTC)
TS = int(DAY.timestamp() * 1_000_000)
PRICE_MAP: dict[str, Any] = {
    # As LiteLLM's bundled map has it.
    "rerank-english-v3.0": {
        "input_cost_per_query": 0.002, "input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
        "litellm_provider": "cohere", "mode": "rerank", "max_input_tokens": 4096,
    },
    "painter": {"output_cost_per_image": 0.02, "litellm_provider": "openai",
                "mode": "image_generation"},
}


def test_search_units_come_from_the_recorded_rerank_payload() -> None:
    [record] = [json.loads(line) for line in PAYLOADS.read_text().splitlines()
                if json.loads(line)["kwargs"].get("call_type") in ("rerank", "arerank")]
    row = extract_event(record["kwargs"], record["response"], status="success",
                        privacy="standard", hash_id=lambda value: None)
    assert row is not None and row["call_type"] == "rerank"
    assert row["search_units"] == record["response"]["meta"]["billed_units"]["search_units"] == 1


def _event(event_id: str, call_type: str, model: str, provider: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "trace_id": event_id, "ts": TS, "end_ts": TS + 100_000,
            "call_type": call_type, "status": "success", "provider": provider, "model": model,
            "team_id": "search", **fields}


@pytest.fixture
def data_dir(isolated_data_dir: Path) -> Path:
    write_events([
        _event("r1", "rerank", "rerank-english-v3.0", "cohere", search_units=3,
               input_tokens=0, output_tokens=0, reported_cost_usd=0.006),
        _event("r2", "rerank", "rerank-english-v3.0", "cohere", reported_cost_usd=0.0),
        _event("i1", "image", "dall-e-3", "openai", image_count=2, reported_cost_usd=0.0),
        _event("i2", "image", "painter", "openai", image_count=3, reported_cost_usd=0.06),
        _event("a1", "transcription", "mystery-whisper", "openai", audio_seconds=30.0),
        _event("c1", "chat", "mystery-chat", "openai", input_tokens=1000, output_tokens=100),
    ])
    # A file written before the search_units column existed still reads (as NULL).
    old = isolated_data_dir / "events" / "date=2026-11-18"
    pq.write_table(pa.table({
        "event_id": ["old"], "trace_id": ["old"],
        "ts": pa.array([DAY], pa.timestamp("us", tz="UTC")),
        "call_type": ["rerank"], "status": ["success"], "provider": ["cohere"],
        "model": ["rerank-english-v3.0"], "reported_cost_usd": [0.0],
    }), old / "old-00000001.parquet")
    snapshot_catalog(str(isolated_data_dir), Catalog(build_catalog_table(PRICE_MAP), "test", "snapshot"))
    return isolated_data_dir


def test_rerank_is_priced_per_search_unit_and_unpriced_units_use_flagged_defaults(
    data_dir: Path,
) -> None:
    con = connect()
    got = {row[0]: row[1:] for row in con.execute(
        "SELECT event_id, search_units, priced_by, query_cost_usd, image_cost_usd, "
        "audio_cost_usd, cost_usd FROM event_costs").fetchall()}
    expected = {
        "r1": (3, "catalog", 0.006, 0.0, 0.0, 0.006),       # 3 x $0.002, as LiteLLM
        "r2": (None, "catalog", 0.0, 0.0, 0.0, 0.0),        # no search units: 0, as LiteLLM
        "old": (None, "catalog", 0.0, 0.0, 0.0, 0.0),       # older file without the column
        "i1": (None, "default", 0.0, 0.16, 0.0, 0.16),      # 2 x the $0.08 image default
        "i2": (None, "catalog", 0.0, 0.06, 0.0, 0.06),      # the catalog's own image rate
        "a1": (None, "default", 0.0, 0.0, 0.003, 0.003),    # 30 s x $0.0001
        "c1": (None, "default", 0.0, 0.0, 0.0, 0.0045),     # tokens: $3 / $15 per M
    }
    assert got.keys() == expected.keys()
    for event_id, row in expected.items():
        assert got[event_id][:2] == row[:2], event_id
        assert all(math.isclose(a, b, abs_tol=1e-12)
                   for a, b in zip(got[event_id][2:], row[2:], strict=True)), (event_id, got[event_id])
    totals = reports.usage_report(con, Query.parse(by="model")).totals
    assert totals["cost_on_default_prices_usd"] == pytest.approx(0.16 + 0.003 + 0.0045)
    assert totals["calls_on_default_prices"] == 3
    assert totals["calls_on_zero_prices"] == 0  # the rerank model is priced, per query


def test_rollups_carry_the_search_units(data_dir: Path) -> None:
    def report(use_rollups: bool) -> list[dict[str, Any]]:
        dataset = open_dataset(str(data_dir), use_rollups=use_rollups, lazy_events=use_rollups)
        rows = reports.usage_report(dataset.con, Query.parse(by="model,priced_by")).data
        dataset.con.close()
        return rows if isinstance(rows, list) else rows.to_pylist()

    assert not build_rollups(str(data_dir), include_today=True).errors
    rolled, raw = report(True), report(False)
    assert [r["model"] for r in rolled] == [r["model"] for r in raw]
    assert [r["cost_usd"] for r in rolled] == pytest.approx([r["cost_usd"] for r in raw])
    assert {r["model"]: r["cost_usd"] for r in rolled}["rerank-english-v3.0"] == pytest.approx(0.006)
    dataset = open_dataset(str(data_dir), lazy_events=True)
    plan = plan_part(dataset.con, Query.parse(by="model,priced_by"), "sums", pricing=True)
    assert plan.covered == ("2026-11-18",)  # the rolled answer did come from the rollups


def test_reconcile_shares_count_catalog_mismatches_only_among_catalog_events(
    data_dir: Path,
) -> None:
    # i1 (dall-e-3, default) and a1/c1 (default, no reported cost) disagree with LiteLLM;
    # every catalog-priced event agrees.
    con = connect()
    totals = reports.reconcile_report(con, Query.parse()).totals
    assert (totals["events"], totals["catalog_events"]) == (7, 4)
    assert totals["mismatched"] == 3
    assert totals["share_within_tolerance_catalog"] == 1.0
    assert totals["share_within_tolerance"] == pytest.approx(4 / 7)
