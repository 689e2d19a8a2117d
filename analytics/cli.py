"""The `llmstats` command line: thin typer commands over the library in this package.

Each command parses its options, calls one library function and sends the rows through
`render()`. Heavy modules (duckdb, pyarrow) are imported inside commands so that
`llmstats --help` stays fast; litellm is never imported here. The project's own errors
become a one-line message and an exit code in exactly one place: `_Group.invoke`.
"""

# No `from __future__ import annotations` in the command modules: typer resolves every
# command's annotations at each start, and string annotations cost a compile and an eval
# each (~40 ms a run, a tenth of a rollup-backed report).
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from .errors import LlmstatsError
from .render import Format, render

if TYPE_CHECKING:
    from .connection import Dataset
    from .dashboard import Dashboard
    from .query import Query
    from .reports import Report


class _Group(TyperGroup):
    """The single place where LlmstatsError (and an I/O error of the data dir) turns into
    `llmstats: message` + exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LlmstatsError as exc:
            typer.echo(f"llmstats: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # a data dir that cannot be read or written (disk, bucket)
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            typer.echo(f"llmstats: {first}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group,
    help="Reports on the LLM calls llmstats captured: cost, savings, tokens, latency, errors.\n\n"
    "Example: llmstats report --since 7d --by team",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
report_app = typer.Typer(
    help="Cost, tokens, savings, error rate and latency for a window, grouped as you like.\n\n"
    "Examples: llmstats report --since 7d; llmstats report --by model,day --tz Europe/Berlin; "
    "llmstats report savings --by team; llmstats report --reconcile",
    invoke_without_command=True,
    rich_markup_mode=None,
)
pricing_app = typer.Typer(
    help="The pricing catalog (from LiteLLM's price map) and your overrides.\n\n"
    "Example: llmstats pricing show gpt-4o-mini",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(report_app, name="report")
app.add_typer(pricing_app, name="pricing")

# ---- shared options, declared once ---------------------------------------------------

FormatOption = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="table, json, jsonl, csv, markdown or html (one self-contained file)."
    ),
]
OutputOption = Annotated[
    str | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]
SinceOption = Annotated[
    str | None, typer.Option(help="Start: 7d, 24h, 2w, a date (2026-11-01) or an ISO date-time.")
]
UntilOption = Annotated[
    str | None, typer.Option(help="End: a date (inclusive) or an ISO date-time (exclusive).")
]
ByOption = Annotated[
    str | None,
    typer.Option(
        help="Group by DIM[,DIM]: model, provider, team, key, user, tag, call_type, day, week, month, ... (see docs/analytics.md)."
    ),
]
WhereOption = Annotated[
    list[str] | None,
    typer.Option(
        help="Filter KEY=VALUE on any dimension; repeat for more (same key: any of the values)."
    ),
]
TopOption = Annotated[int | None, typer.Option(help="Only the N largest groups.")]
TzOption = Annotated[
    str | None,
    typer.Option(
        help="Time zone for dates and day/week/month boundaries (IANA name). Default UTC."
    ),
]
QuarantineOption = Annotated[
    bool, typer.Option(help="Move unreadable Parquet files to <data dir>/quarantine/.")
]
DataDirOption = Annotated[
    str | None,
    typer.Option(
        "--data-dir",
        help="Data dir or s3:// URI (default: LLMSTATS_DATA_DIR, then the config file, then ~/.local/share/llmstats).",
    ),
]


# ---- plumbing -----------------------------------------------------------------------


@contextlib.contextmanager
def _progress(message: str) -> Iterator[None]:
    """A spinner on stderr for anything that may take a second; nothing when stderr is not
    a terminal (pipes, CI, tests). rich honours NO_COLOR."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


def _open(data_dir: str | None, quarantine: bool = False, *, lazy_events: bool = False) -> "Dataset":
    from .connection import open_dataset

    with _progress("Opening the dataset…"):
        dataset = open_dataset(data_dir, quarantine=quarantine, lazy_events=lazy_events)
    for path, reason in dataset.state.skipped:
        moved = dict(dataset.state.quarantined).get(path)
        where = f"; moved to {moved}" if moved else "; --quarantine moves it aside"
        typer.echo(f"warning: skipped unreadable file {path} ({reason}){where}", err=True)
    return dataset


def _emit(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        typer.echo(text, nl=False)


def _warn_rollups(dataset: "Dataset") -> None:
    from .rollup_plan import context_of

    context = context_of(dataset.con)
    for warning in context.warnings if context else []:
        typer.echo(f"warning: {warning}", err=True)


def _show(
    report: "Report", fmt: Format, output: str | None, dashboard: "Dashboard | None" = None
) -> None:
    _emit(
        render(
            report.data,
            fmt,
            title=report.title,
            totals=report.totals,
            notes=report.notes,
            dashboard=dashboard,
        ),
        output,
    )


def _query(
    since: str | None,
    until: str | None,
    tz: str | None,
    by: str | None,
    where: list[str] | None,
    top: int | None,
) -> "Query":
    from .query import Query

    return Query.parse(since=since, until=until, tz=tz, by=by, where=where, top=top)


def _empty_note(dataset: "Dataset", query: "Query") -> str:
    if not dataset.state.files:
        return (
            f"No events yet under {dataset.data_dir}. Add the llmstats callback to "
            "LiteLLM (see README) or point LLMSTATS_DATA_DIR at an existing data dir."
        )
    return f"No events in {query.describe_window()} matching the filters."


# ---- report ---------------------------------------------------------------------------


@report_app.callback()
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
    from .reports import reconcile_report, usage_report

    query = _query(since, until, tz, by, where, top)
    # The overview reads rollups where they cover the window: no event views up front.
    dataset = _open(data_dir, quarantine, lazy_events=not reconcile)
    with _progress("Computing the report…"):
        result = (reconcile_report if reconcile else usage_report)(dataset.con, query)
    if not reconcile and not result.totals.get("calls"):
        result.notes.insert(0, _empty_note(dataset, query))
    dashboard = None
    if fmt is Format.html and not reconcile:
        from .dashboard import build_dashboard

        with _progress("Building the dashboard…"):
            dashboard = build_dashboard(dataset.con, query)
    _warn_rollups(dataset)
    _show(result, fmt, output, dashboard)


# Sub-reports built from rollups and sketches (report_parts): opened without event views.
_ROLLUP_REPORTS = ("savings_report", "latency_report")


def _sub_report(name: str, function_name: str, doc: str, module: str = "reports") -> None:
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
        quarantine: QuarantineOption = False,
        data_dir: DataDirOption = None,
    ) -> None:
        import importlib

        query = _query(since, until, tz, by, where, top)
        dataset = _open(data_dir, quarantine, lazy_events=function_name in _ROLLUP_REPORTS)
        with _progress("Computing the report…"):
            library = importlib.import_module(f".{module}", __package__)
            result = getattr(library, function_name)(dataset.con, query)
        if result.row_count == 0:
            result.notes.insert(0, _empty_note(dataset, query))
        _warn_rollups(dataset)
        _show(result, fmt, output)

    command.__doc__ = doc
    report_app.command(name)(command)


_sub_report(
    "segments",
    "segments_report",
    "Where input tokens and input cost go: system prompt, tool definitions, code, JSON, "
    "images, tool results…, and how much of each the prompt cache served.\n\n"
    "Example: llmstats report segments --by team --since 30d",
)
_sub_report(
    "savings",
    "savings_report",
    "What prompt caching (net of the cache-write premium), LiteLLM's response cache and "
    "batch discounts saved; by model unless --by.\n\nExample: llmstats report savings --by team,month",
)
_sub_report(
    "errors",
    "errors_report",
    "Failed attempts by provider, model and error class (or --by): failures, error rate, "
    "HTTP status, provider code, retries, fallbacks.\n\nExample: llmstats report errors --since 24h",
)
_sub_report(
    "latency",
    "latency_report",
    "p50/p95/p99 latency, p50/p95 time to first token and output tokens per second of "
    "successful calls, by provider and model (or --by).\n\nExample: llmstats report latency --by provider",
)
_sub_report(
    "context",
    "context_report",
    "Context-window use per call in bands OK <50 %, LOW 50–70, MEDIUM 70–85, HIGH 85–95, "
    "CRITICAL ≥95 %; by model unless --by.\n\nExample: llmstats report context --by team",
)
_sub_report(
    "requests",
    "recent_requests_report",
    "The most recent call attempts (--top N, default 100), newest first: time, trace id, "
    "status, model, team, key, user, tags, tokens, cost, latency, error.\n\n"
    "Example: llmstats report requests --where status=failure --top 20",
    module="recent",
)
_sub_report(
    "reconcile",
    "reconcile_report",
    "Events where our cost and LiteLLM's response_cost differ by more than 0.5 %, grouped by "
    "model and reason (same as report --reconcile).\n\nExample: llmstats report reconcile --since 30d",
)


# ---- trace, status, export, sql ---------------------------------------------------------


@app.command()
def trace(
    trace_id: Annotated[str, typer.Argument(help="A trace id (or an event id / LiteLLM call id).")],
    *,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """One client request with all its attempts (retries, fallbacks), their cost and errors.

    Example: llmstats trace 0f8e4c1a-…
    """
    from .reports import trace_report

    dataset = _open(data_dir)
    with _progress("Finding the trace…"):
        result = trace_report(dataset.con, trace_id)
    _show(result, fmt, output)


@app.command()
def status(
    *,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    quarantine: QuarantineOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """The data dir, events, files, bytes, date range, pricing, and writer health (heartbeats).

    Example: llmstats status --format json
    """
    from .status import dataset_status, maintenance_notes, writer_health

    dataset = _open(data_dir, quarantine)
    with _progress("Reading the dataset…"):
        summary = dataset_status(dataset)
        writers = writer_health(dataset.data_dir)
    notes = [] if writers else ["No writer heartbeats yet (writers/*.json)."]
    notes += maintenance_notes(summary)
    _emit(render(writers, fmt, title="Writers", totals=summary, notes=notes), output)


@app.command()
def export(
    *,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="csv, json, jsonl or parquet.")
    ] = "jsonl",
    since: SinceOption = None,
    until: UntilOption = None,
    where: WhereOption = None,
    tz: TzOption = None,
    output: OutputOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Events (with their cost columns) in the window, as csv, json, jsonl or parquet.

    Example: llmstats export --since 2026-11-01 --where team=search --format parquet -o nov.parquet
    """
    from .errors import UsageError
    from .export import export_rows, write_parquet

    if fmt not in ("csv", "json", "jsonl", "parquet"):
        raise UsageError(f"unknown export format {fmt!r}: use csv, json, jsonl or parquet")
    if fmt == "parquet" and not output:
        raise UsageError("--format parquet needs --output FILE")
    query = _query(since, until, tz, None, where, None)
    dataset = _open(data_dir)
    with _progress("Exporting…"):
        rows = export_rows(dataset.con, query)
        if fmt == "parquet":
            assert output is not None
            write_parquet(rows, output)
            typer.echo(f"{rows.num_rows} events written to {output}", err=True)
        else:
            _emit(render(rows, fmt), output)
    _audit(dataset.data_dir, "export", {"format": fmt, "since": since, "until": until,
                                        "where": where, "output": output}, {"rows": rows.num_rows})


_READ_ONLY_STATEMENTS = ("SELECT", "EXPLAIN")


@app.command()
def sql(
    query: Annotated[
        str, typer.Argument(help="One read-only DuckDB SQL statement over the views.")
    ],
    *,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run a read-only SQL query over the views (events, event_costs, savings, requests, ...).

    Example: llmstats sql "SELECT model, sum(cost_usd) FROM event_costs GROUP BY 1"
    """
    from .errors import UsageError
    from .reports import run

    dataset = _open(data_dir)
    try:
        statements = dataset.con.extract_statements(query)
    except Exception as exc:  # DuckDB's parser error: show its first line only
        raise UsageError(f"SQL does not parse: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise UsageError("give exactly one SQL statement")
    kind = str(statements[0].type).rsplit(".", 1)[-1].upper()
    if kind not in _READ_ONLY_STATEMENTS:
        raise UsageError(f"llmstats sql is read-only: {kind} statements are refused")
    with _progress("Querying…"):
        rows = run(dataset.con, query)
    _emit(render(rows, fmt), output)


# ---- pricing ---------------------------------------------------------------------------


@pricing_app.command("update")
def pricing_update(*, data_dir: DataDirOption = None) -> None:
    """Snapshot the installed LiteLLM's price map into <data dir>/pricing/catalog.parquet.

    Example: llmstats pricing update
    """
    from .catalog import snapshot_catalog
    from .connection import resolve_data_dir

    catalog = snapshot_catalog(resolve_data_dir(data_dir))
    _audit(resolve_data_dir(data_dir), "pricing update", {},
           {"models": catalog.table.num_rows, "litellm_version": catalog.litellm_version})
    typer.echo(f"pricing catalog: {catalog.table.num_rows} models from litellm "
               f"{catalog.litellm_version}")


@pricing_app.command("show")
def pricing_show(
    model: Annotated[
        str,
        typer.Argument(help="A model name or LiteLLM key (provider/model); substrings match too."),
    ],
    *,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """A model's rates (USD per million tokens; per image / per second where priced) and
    any overrides.

    Example: llmstats pricing show claude-sonnet-4-5
    """
    from .pricing_view import model_rates

    rows, notes = model_rates(data_dir, model)
    _emit(render(rows, fmt, title=f"Prices matching {model!r}", notes=notes), output)


@pricing_app.command("set")
def pricing_set(
    model: Annotated[str, typer.Argument(help="The model as events record it.")],
    *,
    input_price: Annotated[float, typer.Option("--input", help="USD per million input tokens.")],
    output_price: Annotated[float, typer.Option("--output", help="USD per million output tokens.")],
    cache_read: Annotated[
        float | None, typer.Option(help="USD per million cache-read tokens.")
    ] = None,
    cache_write: Annotated[
        float | None, typer.Option(help="USD per million cache-write tokens.")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="Only for this provider.")] = None,
    valid_from: Annotated[
        str | None,
        typer.Option(
            "--from", help="First day (UTC) the price applies; earlier events keep their old price."
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add a negotiated or private price to <data dir>/pricing/overrides.toml.

    Example: llmstats pricing set gpt-4o --input 2.0 --output 8.0 --from 2026-12-01
    """
    from .connection import resolve_data_dir
    from .errors import UsageError
    from .overrides import PriceOverride, set_override

    start = None
    if valid_from:
        try:
            start = dt.date.fromisoformat(valid_from)
        except ValueError:
            raise UsageError(f"bad date {valid_from!r}: use YYYY-MM-DD") from None
    entry = PriceOverride(
        model=model,
        input=input_price,
        output=output_price,
        provider=provider,
        cache_read=cache_read,
        cache_write=cache_write,
        valid_from=start,
    )
    entries = set_override(resolve_data_dir(data_dir), entry)
    _audit(resolve_data_dir(data_dir), "pricing set",
           {"model": model, "provider": provider, "input": input_price, "output": output_price,
            "cache_read": cache_read, "cache_write": cache_write, "valid_from": valid_from},
           {"overrides": len(entries)})
    typer.echo(f"{len(entries)} override(s) in pricing/overrides.toml")


# ---- demo -----------------------------------------------------------------------------


@app.command()
def demo(
    *,
    calls: Annotated[int, typer.Option(min=10, max=5000, help="How many calls to send.")] = 300,
    keep: Annotated[
        str | None,
        typer.Option(
            "--keep",
            help="Leave the demo's data dir here (default: a temporary dir, removed afterwards).",
        ),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Start the real LiteLLM proxy with the llmstats callback in front of a built-in fake
    provider on 127.0.0.1, send a mixed workload (several models, teams, keys and tags;
    streaming; prompt-cache hits; a proxy cache hit; errors, retries and a fallback), then
    print the reports. Needs no API key and no network.

    Example: llmstats demo --calls 500 --keep ./demo-data
    """
    import shutil
    import tempfile
    from pathlib import Path

    from .demo import run_demo
    from .errors import LlmstatsError

    if shutil.which("litellm") is None and not Path(sys.executable).with_name("litellm").exists():
        raise LlmstatsError("the LiteLLM proxy is not installed: pip install 'llmstats[proxy]'")
    workdir = Path(keep).resolve() if keep else Path(tempfile.mkdtemp(prefix="llmstats-demo-"))
    if keep and (workdir / "data").exists():
        raise LlmstatsError(f"{workdir / 'data'} exists already: pick another --keep dir")
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        with _demo_progress(calls) as progress:
            result = _run_demo_or_fail(run_demo, workdir, calls, progress)
        typer.echo(
            f"Sent {result.sent} calls through the LiteLLM proxy in {result.seconds:.1f} s "
            f"({result.answered} answered, {result.failed} errors by design). Events: {result.data_dir}",
            err=True,
        )
        dataset = _open(str(result.data_dir))
        from .query import Query
        from .reports import savings_report, usage_report

        for build, by in ((usage_report, None), (usage_report, "team"), (savings_report, None)):
            _show(
                build(
                    dataset.con,
                    Query.parse(since=None, until=None, tz=None, by=by, where=None, top=None),
                ),
                fmt,
                None,
            )
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def _demo_progress(total: int) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal; otherwise nothing."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(
        transient=True, console=__import__("rich.console").console.Console(stderr=True)
    ) as bar:
        task = bar.add_task("Starting the proxy and sending calls", total=total)
        yield lambda done, _total: bar.update(task, completed=done)


def _run_demo_or_fail(run_demo: Any, workdir: Any, calls: int, progress: Any) -> Any:
    from .errors import LlmstatsError
    from .litellm_proxy import ProxyError

    try:
        return run_demo(workdir, calls=calls, progress=progress)
    except ProxyError as exc:
        raise LlmstatsError(str(exc)) from None

def _audit(data_dir: str, action: str, parameters: dict[str, Any], result: dict[str, Any]) -> None:
    from .cli_maintenance import record

    record(data_dir, action, parameters, result)


# prune, purge, compact, audit (and recover, ddl) live in their own modules, rollup in
# another; importing them registers the commands.
from . import cli_fleet, cli_maintenance, cli_rollups  # noqa: E402,F401


def main() -> None:
    """Console entry point (`llmstats`)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    app()
