"""Maintenance commands: prune, purge, compact and the audit log (`llmstats audit ...`).

Thin like the rest of the CLI: parse, call one library function, render. Every command
that changes the data dir appends an entry to the audit log (`audit.jsonl`).
"""

import datetime as dt
import re
from typing import Annotated, Any

import typer

from ..errors import LlmstatsError, UsageError
from .data_dir import emit, existing_data_dir, record, settings_for, warn_skipped
from .options import DataDirOption, FormatOption, OutputOption, RawCsvOption
from .progress import progress_bar
from .render import Format, render

_AGE = re.compile(r"^(\d+)([dw])$")


def parse_age(text: str) -> int:
    """`30d` / `4w` → days (at least 1, and no further back than year 1)."""
    match = _AGE.match(text.strip().lower())
    if not match or int(match.group(1)) < 1:
        raise UsageError(f"bad age {text!r}: use a number of days or weeks like 30d or 4w")
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if days >= (dt.datetime.now(dt.UTC).date() - dt.date.min).days:
        raise UsageError(f"age {text!r} is out of range: it reaches back before the year 1")
    return days


def parse_dates(values: list[str] | None) -> list[str] | None:
    """`--date` values (YYYY-MM-DD) checked and normalised; None when none were given."""
    if not values:
        return None
    dates = []
    for value in values:
        try:
            dates.append(dt.date.fromisoformat(value).isoformat())
        except ValueError:
            raise UsageError(f"bad date {value!r}: use YYYY-MM-DD") from None
    return dates


def _removal_rows(result: Any) -> list[dict[str, Any]]:
    return [
        {"what": "event partitions", "files": result.files, "rows": result.rows,
         "bytes": result.bytes, "partitions": len(result.partitions)},
        {"what": "dead writers' spool", "files": result.spool_files,
         "rows": result.spool_rows, "bytes": result.spool_bytes, "partitions": None},
    ]


def prune(
    *,
    older_than: Annotated[str, typer.Option(help="Remove date partitions older than this: 30d, 4w. Today (UTC) and the N days before it stay.")],
    dry_run: Annotated[bool, typer.Option(help="Only show what would be removed.")] = False,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    raw_csv: RawCsvOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Remove whole date partitions older than the cut-off, and dead writers' spool
    leftovers from before it; prints files, rows and bytes removed.

    Example: llmstats prune --older-than 90d --dry-run
    """
    from llmstats.plugin.audit import note_config
    from llmstats.plugin.retention import (
        MaintenanceBusy,
        maintenance_lock,
        prune_partitions,
        retention_cutoff,
    )

    days = parse_age(older_than)
    settings = settings_for(data_dir)
    existing_data_dir(settings.data_dir, "prune")
    cutoff = retention_cutoff(days)
    try:
        with maintenance_lock(settings.data_dir):
            result = prune_partitions(settings.data_dir, cutoff, spool_dir=settings.spool_dir,
                                      dry_run=dry_run)
    except MaintenanceBusy as exc:
        raise LlmstatsError(str(exc)) from None
    if not dry_run:
        note_config(settings)
        record(settings.data_dir, "prune", {"older_than_days": days}, result.summary())
    verb = "would remove" if dry_run else "removed"
    title = f"Prune before {cutoff.isoformat()}: {verb} {len(result.partitions)} partition(s)"
    notes = ([f"partitions {result.partitions[0]} … {result.partitions[-1]}"]
             if result.partitions else [])
    emit(render(_removal_rows(result), fmt, title=title, notes=notes, raw_csv=raw_csv), output)


def purge(
    *,
    yes: Annotated[bool, typer.Option("--yes", help="Really remove all telemetry.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Remove all telemetry: events, quarantined files, heartbeats and dead writers'
    spools. Keeps the config, secret.key, pricing overrides and the audit log.

    Example: llmstats purge --yes
    """
    from llmstats.plugin.retention import MaintenanceBusy, maintenance_lock, purge_telemetry

    if not yes:
        raise UsageError("purge removes every event; run `llmstats purge --yes` to confirm")
    settings = settings_for(data_dir)
    existing_data_dir(settings.data_dir, "purge")
    try:
        with maintenance_lock(settings.data_dir):
            result = purge_telemetry(settings.data_dir, spool_dir=settings.spool_dir)
    except MaintenanceBusy as exc:
        raise LlmstatsError(str(exc)) from None
    record(settings.data_dir, "purge", {}, result.summary())
    typer.echo(f"purged {len(result.partitions)} partition(s): {result.files} files, "
               f"{result.rows} rows, {result.spool_files} spool files, "
               f"{result.other_files} heartbeat/quarantine/rollup files, {result.bytes + result.spool_bytes} bytes")


def recover(
    *,
    spool_dir: Annotated[str | None, typer.Option(help="The spool dir to convert (default: LLMSTATS_SPOOL_DIR or the settings' default).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Convert spools left by stopped writers into Parquet in the data dir. Writers do this
    when they start; run it on a host (or volume) where no proxy will start again.

    Example: llmstats recover --spool-dir /var/lib/llmstats/spool
    """
    from llmstats.plugin.recovery import recover_spools

    settings = settings_for(data_dir, spool_dir=spool_dir)
    spool_files, rows = recover_spools(settings)
    typer.echo(f"recovered {rows} rows from {spool_files} spool file(s) of stopped writers "
               f"into {settings.data_dir}")


def compact(
    *,
    date: Annotated[list[str] | None, typer.Option(help="Compact this partition (YYYY-MM-DD); repeat for more.")] = None,
    since: Annotated[str | None, typer.Option(help="Only partitions from this date on: 7d or YYYY-MM-DD.")] = None,
    min_files: Annotated[int, typer.Option(help="With no --date: a partition needs compaction from this many small files on.")] = 16,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    raw_csv: RawCsvOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Merge each partition's small files into one large file sorted by time, atomically
    and safely while writers append and readers query. With no --date: every partition
    that needs it (at least --min-files files under 32 MiB).

    Example: llmstats compact --since 7d
    """
    from ..maintenance import compaction
    from ..query import parse_instant

    if date and since:
        raise UsageError("give --date or --since, not both")
    if min_files < 2:
        raise UsageError("--min-files must be at least 2")
    dates = parse_dates(date)
    start = None
    if since:
        start = parse_instant(since, "UTC", now=dt.datetime.now(dt.UTC)).date().isoformat()
    settings = settings_for(data_dir)
    existing_data_dir(settings.data_dir, "compact")
    with progress_bar("Compacting") as (progress, on_plan):
        run = compaction.compact(settings.data_dir, dates=dates, since=start,
                                 min_files=min_files, progress=progress, on_plan=on_plan)
    warn_skipped(run.skipped)
    record(settings.data_dir, "compact",
           {"dates": dates, "since": start, "min_files": min_files}, run.summary())
    rows = [{"date": p.date, "input_files": p.input_files, "input_bytes": p.input_bytes,
             "rows": p.rows, "output": p.output, "output_bytes": p.output_bytes}
            for p in run.partitions]
    notes = [f"{run.deleted_inputs} replaced input file(s) deleted after the grace period"]
    if run.rollups:
        notes.append(f"rollups rebuilt for {len(run.rollups['built'])} partition(s)")
        notes += [f"rollup failed for {error} (reports read its events)"
                  for error in run.rollups["errors"]]
    if not rows:
        notes.insert(0, "No partition needs compaction.")
    emit(render(rows, fmt, title="Compaction", notes=notes, raw_csv=raw_csv), output)


def audit_show(
    *,
    action: Annotated[str | None, typer.Option(help="Only entries of this action (prune, purge, compact, export, pricing, config).")] = None,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    raw_csv: RawCsvOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """List the audit log's entries: when, what, with which parameters and result.

    Example: llmstats audit show --action prune --format json
    """
    import json

    from llmstats.plugin.audit import read_entries

    settings = settings_for(data_dir)
    rows = []
    for line, entry, _ in read_entries(settings.data_dir):
        if entry is None or (action and not str(entry.get("action", "")).startswith(action)):
            continue
        table = fmt in (Format.table, Format.markdown, Format.csv)
        rows.append({
            "seq": entry.get("seq"), "ts": entry.get("ts"), "action": entry.get("action"),
            "actor": entry.get("actor"),
            "parameters": json.dumps(entry.get("parameters"), sort_keys=True) if table else entry.get("parameters"),
            "result": _short(entry.get("result")) if table else entry.get("result"),
            "line": line,
        })
    notes = [] if rows else ["The audit log is empty."]
    emit(render(rows, fmt, title="Audit log", notes=notes, raw_csv=raw_csv), output)


def _short(result: Any) -> str:
    """A one-line result summary for tables (json keeps everything)."""
    if not isinstance(result, dict):
        return str(result)
    keys = ("partitions", "files", "rows", "bytes", "input_files", "deleted_inputs", "changed")
    parts = []
    for key in keys:
        if key in result:
            value = result[key]
            parts.append(f"{key}={len(value) if isinstance(value, list) and key == 'partitions' else value}")
    return ", ".join(parts) or ", ".join(f"{k}={v}" for k, v in sorted(result.items()))


def audit_verify(*, data_dir: DataDirOption = None) -> None:
    """Check the hash chain: finds edited, deleted, inserted or reordered entries and
    names their lines; exit 1 when the log was tampered with.

    Example: llmstats audit verify
    """
    from llmstats.plugin.audit import verify_chain

    settings = settings_for(data_dir)
    problems, count, head = verify_chain(settings.data_dir)
    if not problems:
        typer.echo(f"audit log OK: {count} entries, head {head}")
        return
    for problem in problems:
        seq = f" (entry {problem.seq})" if problem.seq is not None else ""
        typer.echo(f"line {problem.line}{seq}: {problem.problem}")
    raise LlmstatsError(f"audit log verification failed: {len(problems)} problem(s) in {count} entries")
