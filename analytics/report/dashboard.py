"""What the HTML dashboard shows, as reports: the same library functions every other
`--format` uses, each run with the page's window and filters and its own grouping.

`build_dashboard(con, query)` returns plain `Report`s (Arrow rows, totals, notes); the
html modules only lay them out. Nothing here writes SQL of its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..query import Query
from .recent import recent_requests_report
from .reports import (
    Report,
    context_report,
    errors_reports,
    latency_report,
    savings_reports,
    segments_report,
    usage_report,
)

if TYPE_CHECKING:
    import duckdb

SPENDER_DIMENSIONS = ("team", "key", "user", "tag")
TOP_SPENDERS = 10
TOP_MODELS = 12
RECENT_REQUESTS = 500


@dataclass
class Dashboard:
    """Every report the page draws around the overview (`llmstats report` itself, with the
    user's own `--by`): the same window and filters, each regrouped its own way."""

    query: Query
    by_day: Report  # usage_report by day: cost, calls, error rate, latency per day
    cost_by_day_model: Report  # savings_report by day × model: the stacked cost trend
    savings_by_day: Report  # savings_report by day: prompt cache, proxy cache, batch
    spenders: dict[str, Report]  # usage_report by team / key / user / tag, top N by cost, no quantiles
    segments: Report
    latency: Report
    errors: Report
    errors_by_day: Report
    context: Report
    recent: Report
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def _regroup(query: Query, by: tuple[str, ...], top: int | None = None) -> Query:
    return dataclasses.replace(query, by=by, top=top)


def build_dashboard(con: duckdb.DuckDBPyConnection, query: Query) -> Dashboard:
    top = query.top or TOP_SPENDERS
    # Both savings trends from one query, both errors tables from one pass over the calls.
    cost_by_day_model, savings_by_day = savings_reports(
        con, query, [(("day", "model"), None), (("day",), None)])
    errors, errors_by_day = errors_reports(
        con, query, [(("provider", "model"), 20), (("day", "error"), None)])
    return Dashboard(
        query=query,
        by_day=usage_report(con, _regroup(query, ("day",))),
        cost_by_day_model=cost_by_day_model,
        savings_by_day=savings_by_day,
        # Bars of cost: no quantiles (by user or tag they read every event's latency).
        spenders={
            name: usage_report(con, _regroup(query, (name,), top), quantiles=False)
            for name in SPENDER_DIMENSIONS
        },
        segments=segments_report(con, _regroup(query, ())),
        latency=latency_report(con, _regroup(query, ("provider", "model"), TOP_MODELS)),
        errors=errors,
        errors_by_day=errors_by_day,
        context=context_report(con, _regroup(query, ("model",), TOP_MODELS)),
        recent=recent_requests_report(con, _regroup(query, (), RECENT_REQUESTS)),
    )
