"""Which Parquet files make up the dataset, and the tolerant `raw_events` relation over them.

`event_files()` is the one place the file list is built: a later compaction step excludes
superseded files here, and every reader (views, status, export) goes through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .storage import FileEntry, list_files, move_aside

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

EVENTS_FOLDER = "events"
_PARTITION = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")


def event_files(data_dir: str) -> list[FileEntry]:
    """Every finished event file under `<data_dir>/events/date=*/`, sorted by path."""
    return [
        entry
        for entry in list_files(data_dir, EVENTS_FOLDER, ".parquet")
        if _PARTITION.search(entry.path.replace("\\", "/"))
    ]


def partition_date(path: str) -> str | None:
    match = _PARTITION.search(path.replace("\\", "/"))
    return match.group(1) if match else None


@dataclass
class DatasetState:
    """What connect() found: the files it reads and the ones it had to leave out."""

    data_dir: str
    files: list[FileEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of unreadable files left out of the views."""
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    """(path, new path) of files moved aside."""


def _empty_events_table() -> pa.Table:
    import pyarrow as pa

    from llmstats.plugin.schema import EVENT_SCHEMA

    schema = EVENT_SCHEMA.append(pa.field("date", pa.date32()))
    return schema.empty_table()


def _offending_file(message: str, paths: list[str]) -> str | None:
    """The file a DuckDB error names, if it names one of ours (longest match wins, so
    `a-1.parquet` is not mistaken for `a-10.parquet`)."""
    named = [path for path in paths if path in message]
    return max(named, key=len) if named else None


def register_raw_events(con: duckdb.DuckDBPyConnection, state: DatasetState,
                        quarantine: bool = False) -> None:
    """Define `raw_events`: every EVENT_SCHEMA column (NULL where a file predates it), any
    newer columns the files carry, and the `date` hive partition key (DATE).

    Unreadable files (a truncated copy, a foreign file) are left out and recorded in
    `state.skipped` — and moved to `<data_dir>/quarantine/` when `quarantine` is set — so
    one bad file never stops a report."""
    import duckdb

    con.register("empty_events", _empty_events_table())
    paths = [entry.path for entry in state.files]
    columns: list[tuple[str, str]] = []
    while paths:
        try:
            rel = con.read_parquet(paths, hive_partitioning=True, union_by_name=True)
            columns = list(zip(rel.columns, [str(t) for t in rel.types], strict=True))
            break
        except duckdb.Error as exc:
            bad = _offending_file(str(exc), paths)
            if bad is None:
                raise
            paths.remove(bad)
            reason = str(exc).splitlines()[0][:200]
            state.skipped.append((bad, reason))
            if quarantine:
                state.quarantined.append((bad, move_aside(state.data_dir, bad)))
    state.files = [entry for entry in state.files if entry.path in set(paths)]
    if not paths:
        con.execute("CREATE OR REPLACE VIEW raw_events AS SELECT * FROM empty_events")
        return
    rel.create_view("event_files_union", replace=True)
    empty = con.table("empty_events")
    present = {name for name, _ in columns}
    select = []
    for name, type_ in zip(empty.columns, empty.types, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        # Identifiers come from EVENT_SCHEMA (our own contract), never from input.
        select.append(quoted if name in present else f"CAST(NULL AS {type_}) AS {quoted}")
    extra = [name for name, _ in columns if name not in set(empty.columns)]
    select += ['"' + name.replace('"', '""') + '"' for name in extra]
    con.execute(
        f"CREATE OR REPLACE VIEW raw_events AS SELECT {', '.join(select)} FROM event_files_union"
    )
