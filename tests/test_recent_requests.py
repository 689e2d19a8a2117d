"""`report requests` reads the newest partitions first (report/recent.py): its rows must be
the newest of the whole window whatever the limit, filters and end, including when the
newest partitions hold fewer matching calls than asked and older ones must be read."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from llmstats.analytics.connection import open_dataset
from llmstats.analytics.query import Query
from llmstats.analytics.report.browse import requests_page
from llmstats.analytics.report.recent import RECENT_COLUMNS, recent_requests_report
from llmstats.analytics.report.reports import run
from tests.support.sample_dataset import generator, isolated_environment

NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scratch = tmp_path_factory.mktemp("recent")
    with isolated_environment(scratch):
        generator().generate(str(scratch / "data"), 8_000, days=20)
    return scratch / "data"


CASES: list[dict[str, Any]] = [
    {"top": 10},  # the newest day holds them
    {"top": 500},  # the newest day holds about 400: older days are read too
    {"top": 3_000, "until": "2026-11-12"},  # an end before the newest partitions
    {"top": 1_000, "since": "2026-11-15T06:00"},  # a start inside a day: fewer than asked
    {"top": 50, "where": ["user=user-0001"]},  # a rare value: several days to find 50
    {"top": 20, "where": ["status=failure"], "tz": "Asia/Kolkata"},
    {"top": 100, "where": ["model=no-such-model"]},  # nothing matches: every partition read
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_the_newest_calls_of_the_window(data_dir: Path, case: dict[str, Any],
                                        isolated_data_dir: Path) -> None:
    top = case.pop("top")
    query = dataclasses.replace(Query.parse(now=NOW, **case), top=top)
    dataset = open_dataset(str(data_dir))
    shown = recent_requests_report(dataset.con, query).rows.to_pylist()
    # The plain answer: every event of the window, sorted.
    source, params = query.source("event_costs")
    expected = run(dataset.con, f"SELECT {RECENT_COLUMNS} FROM {source} "
                                f"ORDER BY ts DESC, event_id LIMIT {top}", params).to_pylist()
    assert shown == expected
    if case.get("where") != ["model=no-such-model"]:
        assert shown, case  # an empty answer would prove nothing


@pytest.mark.parametrize(("offset", "limit", "where"), [
    (0, 100, []), (900, 100, []), (0, 50, ["user=user-0001"]), (20, 30, ["status=failure"]),
])
def test_a_page_of_the_newest_calls(data_dir: Path, offset: int, limit: int, where: list[str],
                                    isolated_data_dir: Path) -> None:
    # The dashboard's Requests page in its default order (time, newest first).
    query = Query.parse(now=NOW, where=where)
    dataset = open_dataset(str(data_dir))
    page = requests_page(dataset.con, query, offset=offset, limit=limit)
    source, params = query.source("event_costs")
    expected = run(dataset.con, f"SELECT {RECENT_COLUMNS}, event_id FROM {source} "
                                f"ORDER BY ts DESC, event_id LIMIT {limit} OFFSET {offset}",
                   params).to_pylist()
    assert page.rows == expected and len(expected) == limit


@pytest.mark.parametrize(("sort", "descending", "offset", "where"), [
    ("latency_ms", True, 0, []), ("latency_ms", False, 700, []),
    ("input_tokens", True, 30, ["user=user-0001"]), ("model", False, 0, ["status=failure"]),
    ("team", True, 3_000, []), ("ttft_ms", True, 0, ["tag=prod"]),
    ("cost_usd", True, 10, []), ("latency_ms", True, 0, ["priced_by=catalog"]),
])
def test_a_page_in_any_order_is_the_plain_order_by(data_dir: Path, sort: str, descending: bool,
                                                   offset: int, where: list[str],
                                                   isolated_data_dir: Path) -> None:
    """Columns of the events are sorted before anything is priced (browse._page_then_price),
    ties and NULLs included; cost, and filters on a priced column, through event_costs."""
    from llmstats.analytics.report.browse import SORT_COLUMNS

    query = Query.parse(now=NOW, where=where)
    dataset = open_dataset(str(data_dir))
    page = requests_page(dataset.con, query, offset=offset, limit=40, sort=sort,
                         descending=descending)
    source, params = query.source("event_costs")
    expected = run(dataset.con, f"SELECT {RECENT_COLUMNS}, event_id FROM {source} "
                                f"ORDER BY {SORT_COLUMNS[sort]} {'DESC' if descending else 'ASC'} "
                                f"NULLS LAST, ts DESC, event_id LIMIT 40 OFFSET {offset}",
                   params).to_pylist()
    assert page.rows == expected and len(expected) == 40
