"""The options every command shares, declared once (`Annotated` aliases)."""

from typing import Annotated

import typer

from .render import Format

FormatOption = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="table, json, jsonl, csv, markdown or html (one self-contained file)."
    ),
]
RawCsvOption = Annotated[
    bool,
    typer.Option(
        "--raw-csv",
        help="csv: keep text cells that start with = + - @ tab or CR as they are (by default "
        "they get a leading ' so a spreadsheet shows them instead of running them as formulas).",
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
