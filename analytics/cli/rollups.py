"""`llmstats rollup`: build (or drop) the per-day rollups reports read instead of events.

Thin like the rest of the CLI: parse, call one library function (maintenance/rollup_build.py), render.
"""

from typing import Annotated

import typer

from ..errors import LlmstatsError, UsageError
from .data_dir import emit, existing_data_dir, record, settings_for
from .maintenance import parse_dates
from .options import DataDirOption, FormatOption, OutputOption, RawCsvOption
from .progress import progress_bar
from .render import Format, render


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
    raw_csv: RawCsvOption = False,
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

    from ..maintenance.rollup_build import build_rollups, drop_rollups

    dates = parse_dates(date)
    if drop and (dates or rebuild):
        raise UsageError("--drop removes every rollup; it takes no --date or --rebuild")
    settings = settings_for(data_dir)
    existing_data_dir(settings.data_dir, "roll up")
    try:
        with maintenance_lock(settings.data_dir):
            if drop:
                removed = drop_rollups(settings.data_dir)
                record(settings.data_dir, "rollup", {"drop": True}, {"removed": removed})
                typer.echo(f"{removed} rollup file(s) removed")
                return
            with progress_bar("Building rollups") as (advance, on_plan):
                run = build_rollups(settings.data_dir, dates=dates, rebuild=rebuild,
                                    include_today=bool(dates), on_plan=on_plan,
                                    progress=(lambda _date: advance(1)) if advance else None)
    except MaintenanceBusy as exc:
        raise LlmstatsError(str(exc)) from None
    if run.errors and not run.built and not run.up_to_date:
        raise LlmstatsError(run.errors[0])
    record(settings.data_dir, "rollup", {"dates": dates, "rebuild": rebuild}, run.summary())
    rows = [{"date": p.date, "files": p.files, "rows": sum(p.rows.values()),
             "seconds": p.seconds} for p in run.built]
    notes = [f"{run.up_to_date} partition(s) already up to date; {run.bytes:,} bytes written; "
             f"{len(run.merged)} cube(s) merged; {run.removed} unused part(s) removed"]
    notes += [f"failed: {error} (reports read that day's events)" for error in run.errors]
    if not rows:
        notes.insert(0, "No partition needed a rollup.")
    emit(render(rows, fmt, title="Rollups", notes=notes, raw_csv=raw_csv), output)
    if run.errors:
        raise typer.Exit(1)
