"""The HTML dashboard (`llmstats report --format html`) shows the same numbers whether its
reports read per-day rollups or the events: every panel's rows and totals agree."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import Any

from llmstats.analytics.connection import open_dataset
from llmstats.analytics.maintenance.rollup_build import build_rollups
from llmstats.analytics.pricing.catalog import Catalog, build_catalog_table, snapshot_catalog
from llmstats.analytics.query import Query
from llmstats.analytics.report.dashboard import Dashboard, build_dashboard
from llmstats.analytics.rollups.plan import plan_part
from tests.support.event_data import write_events
from tests.support.rollup_data import PRICE_MAP, rollup_events

NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)


def panels(data_dir: Path, query: Query, *, use_rollups: bool) -> dict[str, Any]:
    dataset = open_dataset(str(data_dir), use_rollups=use_rollups, lazy_events=use_rollups)
    board = build_dashboard(dataset.con, query)
    out: dict[str, Any] = {}
    for item in dataclasses.fields(Dashboard):
        value = getattr(board, item.name)
        reports = value if isinstance(value, dict) else {"": value}
        for key, report in reports.items() if item.name not in ("query", "generated_at") else ():
            rows = report.data if isinstance(report.data, list) else report.data.to_pylist()
            out[f"{item.name}{key}"] = (rows, report.totals)
    dataset.con.close()
    return out


def close(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def test_the_dashboard_is_the_same_from_rollups_and_from_events(isolated_data_dir: Path) -> None:
    write_events(rollup_events(), writer_id="w1")
    snapshot_catalog(str(isolated_data_dir), Catalog(build_catalog_table(PRICE_MAP), "test", "snapshot"))
    assert not build_rollups(str(isolated_data_dir), include_today=True).errors
    # New York days come from the hourly cube, which has no team: the last page reads its
    # daily sums from the priced copy (rows with their own time), where it is exact.
    for query, served in ((Query.parse(now=NOW, since="7d"), True),
                          (Query.parse(now=NOW, since="7d", where=["team=Labs"]), True),
                          (Query.parse(now=NOW, since="7d", tz="America/New_York"), True),
                          (Query.parse(now=NOW, since="7d", where=["team=Labs"],
                                       tz="America/New_York"), True)):
        dataset = open_dataset(str(isolated_data_dir), lazy_events=True)
        plan = plan_part(dataset.con, dataclasses.replace(query, by=("day",)), "sums", pricing=True)
        assert bool(plan.covered) is served, "the rollup side must really read rollups"
        dataset.con.close()
        rolled = panels(isolated_data_dir, query, use_rollups=True)
        raw = panels(isolated_data_dir, query, use_rollups=False)
        assert rolled.keys() == raw.keys()
        assert raw["by_day"][0] and raw["spendersteam"][0]  # empty panels would prove nothing
        for name in raw:
            assert close(rolled[name], raw[name]), (name, query.where)
