"""llmstats analytics: DuckDB views over the captured events, pricing, reports and the CLI.

The packages, bottom to top (each imports only those below it):
  store/        the data dir: files local or on object storage, event files, schema cache, DDL
  pricing/      the pricing catalog (LiteLLM's price map) and the user's overrides
  rollups/      what a rollup holds, which rollup serves a report, retention
  connection    `connect()` / `open_dataset()`: DuckDB with every view of sql/ defined
  report/       reports: plan, fetch and shape rows; recent requests, export, status
  maintenance/  compaction and rollup building
  html/         the HTML report (page, charts, dashboard layout, assets)
  cli/          the `llmstats` command line (typer), one module per command group
  demo/         `llmstats demo`: the workload, the LiteLLM proxy runner, the fake provider
`errors` (the error family) and `query` (what a report is asked) sit below them all.

What notebooks and scripts need is importable from here, lazily: `llmstats --help` must
not pay for importing DuckDB and pyarrow.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "connect": "connection",
    "open_dataset": "connection",
    "Query": "query",
    "Report": "report.reports",
    "usage_report": "report.reports",
    "savings_report": "report.reports",
    "errors_report": "report.reports",
    "latency_report": "report.reports",
    "context_report": "report.reports",
    "segments_report": "report.reports",
    "reconcile_report": "report.reports",
    "trace_report": "report.reports",
    "recent_requests_report": "report.recent",
}
# Modules notebooks import by name (`from llmstats.analytics import reports`).
_MODULES = {"reports": "report.reports"}

__all__ = sorted([*_PUBLIC, *_MODULES])


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{_MODULES[name]}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
