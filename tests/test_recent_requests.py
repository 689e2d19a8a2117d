"""`report requests` reads the newest partitions first (report/recent.py): its rows must be
the newest of the whole window whatever the limit, filters and end, including when the
newest partitions hold fewer matching calls than asked and older ones must be read."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
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


def _count(dataset: Any, query: Query) -> int:
    """How many calls match, counted over every priced call."""
    source, params = query.source("event_costs")
    return int(run(dataset.con, f"SELECT count(*) AS n FROM {source}", params).to_pylist()[0]["n"])


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
    assert page.total == _count(dataset, query)


@pytest.mark.parametrize(("sort", "descending", "offset", "where"), [
    ("latency_ms", True, 0, []), ("latency_ms", False, 700, []),
    ("input_tokens", True, 30, ["user=user-0001"]), ("model", False, 0, ["status=failure"]),
    ("team", True, 3_000, []), ("ttft_ms", True, 0, ["tag=prod"]),
    ("cost_usd", True, 10, []), ("latency_ms", True, 0, ["priced_by=catalog"]),
])
def test_a_page_in_any_order_is_the_plain_order_by(data_dir: Path, sort: str, descending: bool,
                                                   offset: int, where: list[str],
                                                   isolated_data_dir: Path) -> None:
    """Columns of the events are sorted before anything is priced (browse._unpriced_page),
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
    assert page.total == _count(dataset, query)


# Pages by cost over a built priced copy (report/cost_page.py): its rows tell where a page
# lies; only the page's calls are read and priced. Ties on (cost, ts) are ordered by
# event_id, ties on cost by ts: a tie group straddles the pages asked for below.
DAY = dt.timedelta(days=1)
TIE_DAY = dt.datetime(2026, 11, 18, 12, tzinfo=dt.UTC)
LATE_DAY = dt.datetime(2026, 11, 17, 9, tzinfo=dt.UTC)
COPY_DAYS = ("2026-11-16", "2026-11-18", "2026-11-19")  # 11-17 gets a late event


def _micros(moment: dt.datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


def tie_events(prefix: str, noon: dt.datetime, free_day: dt.datetime) -> list[dict[str, Any]]:
    """Calls dearer than any generated one, six at one time and four at others (one
    price), and six zero-token failures (free) at the last moment of `free_day`; event
    ids in an order of their own."""
    from tests.support.rows import event_row

    dear = {"model": "gpt-4o", "input_tokens": 500_000, "output_tokens": 100_000,
            "total_tokens": 600_000, "latency_ms": 99_999.0}
    rows = [event_row(event_id=f"{prefix}-same-{(i * 5) % 6}", ts=_micros(noon), **dear)
            for i in range(6)]
    rows += [event_row(event_id=f"{prefix}-near-{i}", ts=_micros(noon) - i * 1_000_000, **dear)
             for i in range(1, 5)]
    last = _micros(free_day.replace(hour=23, minute=59, second=59)) + 999_999
    rows += [event_row(event_id=f"{prefix}-free-{(i * 5) % 6}", ts=last, status="failure",
                       input_tokens=0, output_tokens=0, total_tokens=0, latency_ms=50.0)
             for i in range(6)]
    return rows


def _write(data_dir: Path, rows: list[dict[str, Any]], writer_id: str) -> None:
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.writer import EventWriter

    writer = EventWriter(load_settings(data_dir=str(data_dir), flush_seconds=3600),
                         writer_id=writer_id)
    for row in rows:
        writer.submit(row)
    writer.close()


@pytest.fixture(scope="module")
def priced_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from llmstats.analytics.maintenance.rollup_build import build_rollups

    scratch = tmp_path_factory.mktemp("priced-pages")
    data = scratch / "data"
    with isolated_environment(scratch):
        generator().generate(str(data), 2_000, days=4)
        _write(data, tie_events("tie", TIE_DAY, TIE_DAY + DAY), "ties")
        run = build_rollups(str(data), include_today=True)
        assert not run.errors and len(run.built) == 4
        # Written after the build: the copy no longer serves that day (the events do).
        _write(data, tie_events("late", LATE_DAY, LATE_DAY), "late")
    return data


@pytest.fixture(scope="module")
def priced(priced_dir: Path) -> Iterator[Any]:
    """One connection for the pages below (they only read)."""
    with isolated_environment(priced_dir.parent):
        dataset = open_dataset(str(priced_dir))
    yield dataset
    dataset.con.close()


@pytest.mark.parametrize(("descending", "offset", "limit", "kwargs"), [
    (True, 0, 8, {}), (True, 3, 8, {}),  # inside the six calls at one time and price
    (True, 9, 8, {}),  # the price's other times, the late day's among them
    (True, 700, 40, {}), (False, 3, 6, {}), (False, 1_000, 40, {}),
    (True, 2, 10, {"where": ["model=gpt-4o"]}), (False, 40, 20, {"where": ["tag=prod"]}),
    (True, 4, 10, {"since": "2026-11-17T10:00"}),  # a window cut inside the late day
])
def test_a_page_by_cost_bounded_by_the_priced_copy(priced: Any, descending: bool, offset: int,
                                                   limit: int, kwargs: dict[str, Any]) -> None:
    query = Query.parse(now=NOW, **kwargs)
    dataset = priced
    page = requests_page(dataset.con, query, offset=offset, limit=limit, sort="cost_usd",
                         descending=descending)
    # The copy bounded the page on the days it serves (11-17 is the events'), so the
    # comparison below is the copy's path against the plain sort.
    first = "2026-11-18" if "since" in kwargs else COPY_DAYS[0]
    assert page.copy_days == tuple(d for d in COPY_DAYS if d >= first)
    source, params = query.source("event_costs")
    expected = run(dataset.con, f"SELECT {RECENT_COLUMNS}, event_id FROM {source} ORDER BY "
                                f"cost_usd {'DESC' if descending else 'ASC'} NULLS LAST, ts DESC, "
                                f"event_id LIMIT {limit} OFFSET {offset}", params).to_pylist()
    assert page.rows == expected and len(expected) == limit
    assert page.total == _count(dataset, query)


def test_the_tie_groups_straddle_the_pages(priced: Any) -> None:
    # What the cases above rely on: equal (cost, time) across page edges, on a day the
    # copy serves and on the late day the events serve, at both ends of the order.
    dataset = priced
    dear = requests_page(dataset.con, Query.parse(now=NOW), offset=3, limit=8,
                         sort="cost_usd").rows
    assert [r["event_id"] for r in dear[:3]] == ["tie-same-3", "tie-same-4", "tie-same-5"]
    assert {r["cost_usd"] for r in dear} == {dear[0]["cost_usd"]}
    assert any(r["event_id"].startswith("late-") for r in dear)
    free = requests_page(dataset.con, Query.parse(now=NOW), offset=3, limit=6,
                         sort="cost_usd", descending=False).rows
    assert [r["event_id"] for r in free[:3]] == ["tie-free-3", "tie-free-4", "tie-free-5"]
    assert free[3]["cost_usd"] == 0 and free[3]["time"] < free[2]["time"]


@pytest.mark.parametrize(("sort", "where"), [("cost_usd", ["priced_by=catalog"]),
                                             ("latency_ms", [])])
def test_other_pages_over_the_copy_are_the_plain_order_by(priced: Any, sort: str,
                                                          where: list[str]) -> None:
    """A filter on a priced column sorts event_costs (the copy's priced_by is
    price_groups'); an unpriced order is bounded from the events, its ties included."""
    from llmstats.analytics.report.browse import SORT_COLUMNS

    query = Query.parse(now=NOW, where=where)
    dataset = priced
    page = requests_page(dataset.con, query, offset=3, limit=10, sort=sort)
    assert page.copy_days == ()
    source, params = query.source("event_costs")
    expected = run(dataset.con, f"SELECT {RECENT_COLUMNS}, event_id FROM {source} ORDER BY "
                                f"{SORT_COLUMNS[sort]} DESC NULLS LAST, ts DESC, event_id "
                                f"LIMIT 10 OFFSET 3", params).to_pylist()
    assert page.rows == expected and len(expected) == 10
    assert page.total == _count(dataset, query)
