"""Commands that read the dataset as it is: `trace`, `status`, `export`, `sql`."""

from typing import Annotated

import typer

from .data_dir import emit, existing_data_dir, open_data, query_from, record, resolved_data_dir
from .options import (
    DataDirOption,
    FormatOption,
    OutputOption,
    QuarantineOption,
    RawCsvOption,
    SinceOption,
    TzOption,
    UntilOption,
    WhereOption,
)
from .progress import spinner
from .render import Format, render
from .report import show


def trace(
    trace_id: Annotated[str, typer.Argument(help="A trace id (or an event id / LiteLLM call id).")],
    *,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    raw_csv: RawCsvOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """One client request with all its attempts (retries, fallbacks), their cost and errors.

    Example: llmstats trace 0f8e4c1a-…
    """
    from ..report.reports import trace_report

    dataset = open_data(data_dir)
    with spinner("Finding the trace…"):
        result = trace_report(dataset.con, trace_id)
    show(result, fmt, output, raw_csv=raw_csv)


def status(
    *,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    raw_csv: RawCsvOption = False,
    quarantine: QuarantineOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """The data dir, events, files, bytes, date range, pricing, and writer health (heartbeats).

    Example: llmstats status --format json
    """
    from ..report.status import (
        dataset_status,
        fallback_heartbeats,
        maintenance_notes,
        writer_health,
        writer_notes,
    )

    dataset = open_data(data_dir, quarantine)
    with spinner("Reading the dataset…"):
        summary = dataset_status(dataset)
        writers = writer_health(dataset.data_dir, fallbacks=fallback_heartbeats(dataset.data_dir))
    notes = writer_notes(writers) + maintenance_notes(summary)
    emit(render(writers, fmt, title="Writers", totals=summary, notes=notes, raw_csv=raw_csv),
         output)


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
    raw_csv: RawCsvOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Events (with their cost columns) in the window, as csv, json, jsonl or parquet.

    Example: llmstats export --since 2026-11-01 --where team=search --format parquet -o nov.parquet
    """
    from ..errors import UsageError
    from ..report.export import export_rows, write_parquet

    if fmt not in ("csv", "json", "jsonl", "parquet"):
        raise UsageError(f"unknown export format {fmt!r}: use csv, json, jsonl or parquet")
    if fmt == "parquet" and not output:
        raise UsageError("--format parquet needs --output FILE")
    query = query_from(since, until, tz, None, where, None)
    dataset = open_data(existing_data_dir(resolved_data_dir(data_dir), "export"), from_copy=True)
    with spinner("Exporting…"):
        rows = export_rows(dataset.con, query)
        if fmt == "parquet":
            assert output is not None
            write_parquet(rows, output)
            typer.echo(f"{rows.num_rows} events written to {output}", err=True)
        else:
            emit(render(rows, fmt, raw_csv=raw_csv), output)
    record(dataset.data_dir, "export", {"format": fmt, "since": since, "until": until,
                                        "where": where, "output": output}, {"rows": rows.num_rows})


_QUERY_STATEMENTS = ("SELECT", "EXPLAIN")


def sql(
    query: Annotated[
        str, typer.Argument(help="One read-only DuckDB SQL statement over the views.")
    ],
    *,
    fmt: FormatOption = Format.table,
    output: OutputOption = None,
    raw_csv: RawCsvOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """Run a read-only SQL query over the views (events, event_costs, savings, requests, ...).
    It reads the views and nothing else: no file, URL, extension or setting is reachable
    from it (docs/analytics.md).

    Example: llmstats sql "SELECT model, sum(cost_usd) FROM event_costs GROUP BY 1"
    """
    from ..errors import UsageError
    from ..report.reports import run

    # Read-only is the connection's property (sealed: no file access, no extension, settings
    # locked); the statement check below only turns the common mistakes into clear words.
    dataset = open_data(data_dir, sealed=True)
    try:
        statements = dataset.con.extract_statements(query)
    except Exception as exc:  # DuckDB's parser error: show its first line only
        raise UsageError(f"SQL does not parse: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise UsageError("give exactly one SQL statement")
    kind = str(statements[0].type).rsplit(".", 1)[-1].upper()
    if kind not in _QUERY_STATEMENTS:
        raise UsageError(f"sql runs queries only: {kind} statements are refused")
    with spinner("Querying…"):
        rows = run(dataset.con, query)
    emit(render(rows, fmt, raw_csv=raw_csv), output)
