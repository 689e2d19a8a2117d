"""`llmstats rollup`: build (or drop) the per-day rollups reports read instead of events.

Thin like the rest of the CLI: parse, call one library function (rollup_build), render.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from .cli import DataDirOption, FormatOption, OutputOption, _emit, app
from .cli_maintenance import _settings, parse_dates, record
from .errors import LlmstatsError, UsageError
from .render import Format, render


@contextmanager
def _bar(label: str) -> Iterator[tuple[Any, Any]]:
    """A rich progress bar over partitions on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield None, None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield (lambda _date: bar.advance(task, 1)), (lambda total: bar.update(task, total=total))


@app.command()
def rollup(
    *,
    date: Annotated[
        list[str] | None,
        typer.Option(help="Only this partition (YYYY-MM-DD); repeat for more. Default: every day before today (UTC)."),
    ] = None,
    rebuild: Annotated[bool, typer.Option(help="Rebuild rollups that are up to date too.")] = False,
    drop: Annotated[bool, typer.Option(help="Remove every rollup instead (reports then read the events).")] = False,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Build the per-day rollups (sums and latency sketches, plain Parquet under
    rollups/) that make reports fast, for every partition whose event files have none
    or a stale one. Rollups are derived data: reports check that a rollup was made from
    exactly the files there now and read the events otherwise. `llmstats compact`
    builds them for the partitions it compacts.

    Example: llmstats rollup          (daily from cron; or: llmstats rollup --date 2026-11-20)
    """
    from llmstats.plugin.retention import MaintenanceBusy, maintenance_lock

    from .rollup_build import build_rollups, drop_rollups

    dates = parse_dates(date)
    if drop and (dates or rebuild):
        raise UsageError("--drop removes every rollup; it takes no --date or --rebuild")
    settings = _settings(data_dir)
    try:
        with maintenance_lock(settings.data_dir):
            if drop:
                removed = drop_rollups(settings.data_dir)
                record(settings.data_dir, "rollup", {"drop": True}, {"removed": removed})
                typer.echo(f"{removed} rollup file(s) removed")
                return
            with _bar("Building rollups") as (progress, on_plan):
                run = build_rollups(settings.data_dir, dates=dates, rebuild=rebuild,
                                    include_today=bool(dates), progress=progress, on_plan=on_plan)
    except MaintenanceBusy as exc:
        raise LlmstatsError(str(exc)) from None
    if run.errors and not run.built and not run.up_to_date:
        raise LlmstatsError(run.errors[0])
    record(settings.data_dir, "rollup", {"dates": dates, "rebuild": rebuild}, run.summary())
    rows = [{"date": p.date, "files": p.files, "rows": sum(p.rows.values()),
             "seconds": p.seconds} for p in run.built]
    notes = [f"{run.up_to_date} partition(s) already up to date; {run.bytes:,} bytes written; "
             f"{len(run.merged)} cube(s) merged; {run.removed} unused segment(s) removed"]
    notes += [f"failed: {error} (reports read that day's events)" for error in run.errors]
    if not rows:
        notes.insert(0, "No partition needed a rollup.")
    _emit(render(rows, fmt, title="Rollups", notes=notes), output)
    if run.errors:
        raise typer.Exit(1)
