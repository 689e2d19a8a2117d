"""`llmstats report` and its sub-reports: parse the window and filters, run one report
function of the library, render."""

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .data_dir import emit, empty_note, open_data, query_from, warn_rollups
from .options import (
    ByOption,
    DataDirOption,
    FormatOption,
    OutputOption,
    QuarantineOption,
    RawCsvOption,
    SinceOption,
    TopOption,
    TzOption,
    UntilOption,
    WhereOption,
)
from .progress import spinner
from .render import Format, render

if TYPE_CHECKING:
    from ..report.dashboard import Dashboard
    from ..report.reports import Report


def show(report: "Report", fmt: Format, output: str | None,
         dashboard: "Dashboard | None" = None, *, raw_csv: bool = False) -> None:
    """A report's rows, totals and notes in the chosen format."""
    emit(
        render(report.data, fmt, title=report.title, totals=report.totals, notes=report.notes,
               dashboard=dashboard, raw_csv=raw_csv),
        output,
    )


def report(
    ctx: typer.Context,
    *,
    since: SinceOption = None,
    until: UntilOption = None,
    by: ByOption = None,
    where: WhereOption = None,
    top: TopOption = None,
    tz: TzOption = None,
    reconcile: Annotated[
        bool,
        typer.Option(
            help="Show events where our cost and LiteLLM's differ by more than 0.5 %, by model and reason."
        ),
    ] = False,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    raw_csv: RawCsvOption = False,
    quarantine: QuarantineOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Overview: requests, tokens in/out/cached, cost, savings, error rate, p50/p95 latency
    and TTFT, top models (or groups with --by). With --format html: a dashboard (FinOps
    and engineering charts, searchable recent requests) in one offline file.

    Example: llmstats report --since 7d --by team --top 10
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..report.reports import reconcile_report, usage_report

    query = query_from(since, until, tz, by, where, top)
    # The overview reads rollups where they cover the window: no event views up front.
    dataset = open_data(data_dir, quarantine, lazy_events=True)
    with spinner("Computing the report…"):
        result = (reconcile_report if reconcile else usage_report)(dataset.con, query)
    if not reconcile and not result.totals.get("calls"):
        result.notes.insert(0, empty_note(dataset, query))
    dashboard = None
    if fmt is Format.html and not reconcile:
        from ..report.dashboard import build_dashboard

        with spinner("Building the dashboard…"):
            dashboard = build_dashboard(dataset.con, query)
    warn_rollups(dataset)
    show(result, fmt, output, dashboard, raw_csv=raw_csv)


# Sub-reports built from rollups, sketches and the priced copy (report/parts.py): opened
# without event views (defined if a partition is left to the events; binding them all up
# front cost `report errors` 0.25 s at 10 M events).
_ROLLUP_REPORTS = ("savings_report", "latency_report", "errors_report", "context_report",
                   "reconcile_report")


def _sub_report(function_name: str, doc: str, module: str = "reports") -> Callable[..., None]:
    """A command that runs `function_name` of llmstats.analytics.report.<module>."""

    def command(
        *,
        since: SinceOption = None,
        until: UntilOption = None,
        by: ByOption = None,
        where: WhereOption = None,
        top: TopOption = None,
        tz: TzOption = None,
        fmt: FormatOption = Format.table,
        output: OutputOption = None,
        raw_csv: RawCsvOption = False,
        quarantine: QuarantineOption = False,
        data_dir: DataDirOption = None,
    ) -> None:
        query = query_from(since, until, tz, by, where, top)
        dataset = open_data(data_dir, quarantine, lazy_events=function_name in _ROLLUP_REPORTS)
        with spinner("Computing the report…"):
            library: Any = importlib.import_module(f"llmstats.analytics.report.{module}")
            result = getattr(library, function_name)(dataset.con, query)
        if result.row_count == 0:
            result.notes.insert(0, empty_note(dataset, query))
        warn_rollups(dataset)
        show(result, fmt, output, raw_csv=raw_csv)

    command.__doc__ = doc
    return command


SUB_REPORTS: dict[str, Callable[..., None]] = {
    "segments": _sub_report(
        "segments_report",
        "Where input tokens and input cost go: system prompt, tool definitions, code, JSON, "
        "images, tool results…, and how much of each the prompt cache served.\n\n"
        "Example: llmstats report segments --by team --since 30d",
    ),
    "savings": _sub_report(
        "savings_report",
        "What prompt caching (net of the cache-write premium), LiteLLM's response cache and "
        "batch discounts saved; by model unless --by.\n\nExample: llmstats report savings --by team,month",
    ),
    "errors": _sub_report(
        "errors_report",
        "Failed attempts by provider, model and error class (or --by): failures, error rate, "
        "HTTP status, provider code (and whether it was derived), LiteLLM's retries and "
        "fallbacks, client requests split into first attempts and client retries."
        "\n\nExample: llmstats report errors --since 24h",
    ),
    "latency": _sub_report(
        "latency_report",
        "p50/p95/p99 latency, p50/p95 time to first token and output tokens per second of "
        "successful calls, by provider and model (or --by).\n\nExample: llmstats report latency --by provider",
    ),
    "context": _sub_report(
        "context_report",
        "Context-window use per call in bands OK <50 %, LOW 50–70, MEDIUM 70–85, HIGH 85–95, "
        "CRITICAL ≥95 %, and EXCEEDED (failed on context length); by model unless --by."
        "\n\nExample: llmstats report context --by team",
    ),
    "requests": _sub_report(
        "recent_requests_report",
        "The most recent call attempts (--top N, default 100), newest first: time, trace id, "
        "status, model, team, key, user, tags, tokens, cost, latency, error.\n\n"
        "Example: llmstats report requests --where status=failure --top 20",
        module="recent",
    ),
    "reconcile": _sub_report(
        "reconcile_report",
        "Events where our cost and LiteLLM's response_cost differ by more than 0.5 %, grouped by "
        "model and reason (same as report --reconcile).\n\nExample: llmstats report reconcile --since 30d",
    ),
}
