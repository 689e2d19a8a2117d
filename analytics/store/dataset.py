"""Which Parquet files make up the dataset, and the tolerant `raw_events` relation over them.

`event_files()` is the one place the file list is built: a later compaction step excludes
superseded files here, and every reader (views, status, export) goes through it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .files import REMOTE_THREADS, FileEntry, is_remote, list_files, move_aside, read_bytes

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

EVENTS_FOLDER = "events"
_PARTITION = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")


def event_files(data_dir: str) -> list[FileEntry]:
    """Every finished event file under `<data_dir>/events/date=*/`, sorted by path, less
    the files a compacted file in the same listing replaces (see plugin/manifests.py)."""
    from llmstats.plugin.manifests import superseded

    listed = [
        entry
        for entry in list_files(data_dir, EVENTS_FOLDER, ".parquet")
        if _PARTITION.search(entry.path.replace("\\", "/"))
    ]
    base = data_dir.rstrip("/")
    replaced = superseded((e.path for e in listed),
                          lambda path: read_bytes(data_dir, path[len(base) + 1 :]))
    return [entry for entry in listed if entry.path not in replaced]


def _footer_reader(data_dir: str) -> Any:
    """How to open a listed file for its footer: by path locally; through the listing
    filesystem on object storage (one GET, and the hidden-twin fallback)."""
    if not is_remote(data_dir):
        return lambda entry: entry.path
    from .object_store import open_listed

    return lambda entry: open_listed(data_dir, entry)


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
    layouts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Column layouts found: {fingerprint: [(name, arrow type)]}."""
    rows: int = 0
    """Events in the readable files (from the footers)."""
    models: list[tuple[str | None, str | None]] = field(default_factory=list)
    """Distinct (provider, model) pairs in the readable files: pricing resolves these once."""


def _empty_events_table() -> pa.Table:
    import pyarrow as pa

    from llmstats.plugin.schema import EVENT_SCHEMA

    schema = EVENT_SCHEMA.append(pa.field("date", pa.date32()))
    return schema.empty_table()


Pairs = list[tuple[str | None, str | None]]


def _inspect(source: Any) -> tuple[list[tuple[str, str]], Pairs, int] | str:
    """(name, type) per column from the file's footer, its distinct (provider, model)
    pairs and its row count, or the reason the file cannot be read. `source` is a path,
    or a function that opens the file."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(source() if callable(source) else source)
        schema = parquet.schema_arrow
        # A file that is not an event file is skipped whole: its values are not read.
        foreign = layout_problem([(field.name, str(field.type)) for field in schema])
        present = [c for c in ("provider", "model") if c in schema.names and not foreign]
        pairs: Pairs = [(None, None)]
        if present:
            table = parquet.read(columns=present).group_by(present).aggregate([])
            columns = {c: table.column(c).to_pylist() for c in present}
            pairs = list(
                zip(
                    columns.get("provider", [None] * table.num_rows),
                    columns.get("model", [None] * table.num_rows),
                    strict=True,
                )
            )
    except Exception as exc:  # any unreadable file: name it, never a traceback
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
    return [(field.name, str(field.type)) for field in schema], pairs, parquet.metadata.num_rows


def file_schemas(state: DatasetState) -> dict[str, list[str]]:
    """Files grouped by identical column layout: {fingerprint: [paths]}; unreadable files
    go to `state.skipped`, and so do files whose layout is not an event file's
    (`layout_problem`). Footers are read once per file and remembered in the local
    schema cache (files never change once renamed into place)."""
    from .schema_cache import SchemaCache

    cache = SchemaCache.for_data_dir(state.data_dir)
    groups: dict[str, list[str]] = {}
    pairs: set[tuple[str | None, str | None]] = set()
    unknown = [entry for entry in state.files if cache.get(entry) is None]
    opener = _footer_reader(state.data_dir)
    if is_remote(state.data_dir) and len(unknown) > 1:
        # One round trip per new file: keep many in flight (pyarrow releases the GIL).
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(REMOTE_THREADS) as pool:
            inspected = dict(zip((e.path for e in unknown),
                                 pool.map(lambda e: _inspect(lambda: opener(e)), unknown), strict=True))
    else:
        inspected = {e.path: _inspect(lambda e=e: opener(e)) for e in unknown}
    for entry in state.files:
        known = cache.get(entry)
        if known is None:
            found = inspected[entry.path]
            if isinstance(found, str):
                state.skipped.append((entry.path, found))
                continue
            known = cache.put(entry, *found), found[1], found[2]
        problem = cache.problem(known[0], layout_problem)
        if problem:
            state.skipped.append((entry.path, problem))
            continue
        groups.setdefault(known[0], []).append(entry.path)
        pairs.update(known[1])
        state.rows += known[2]
    state.models = sorted(pairs, key=lambda p: (p[0] or "", p[1] or ""))
    cache.save()
    state.layouts = {fp: cache.columns(fp) for fp in groups}
    return groups


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _arrow_dataset(data_dir: str, paths: list[str]) -> Any:
    """The files as a pyarrow dataset with the `date` hive key: DuckDB scans it through
    Arrow (projections and filters pushed down) and never opens a file itself, so a
    connection that may touch no file at all can still read the events (`sealed`)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from .files import filesystem, fs_path, local_path

    partitioning = ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")
    if is_remote(data_dir):
        fs, root = filesystem(data_dir)
        return ds.dataset([fs_path(p) for p in paths], format="parquet", filesystem=fs,
                          partitioning=partitioning, partition_base_dir=f"{root}/{EVENTS_FOLDER}")
    base = str(local_path(data_dir) / EVENTS_FOLDER)
    return ds.dataset(paths, format="parquet", partitioning=partitioning,
                      partition_base_dir=base)


def register_raw_events(
    con: duckdb.DuckDBPyConnection,
    state: DatasetState,
    quarantine: bool = False,
    groups: dict[str, list[str]] | None = None,
    *,
    through_arrow: bool = False,
) -> None:
    """Define `raw_events`: every EVENT_SCHEMA column (NULL where a file predates it), any
    newer columns the files carry, and the `date` hive partition key (DATE).

    Files with the same column layout are read as one group (no per-query schema
    reconciliation: that costs DuckDB a footer read per file per query); groups are
    combined with UNION ALL BY NAME. Unreadable files (a truncated copy, a foreign file)
    are left out and recorded in `state.skipped` — and moved to `<data_dir>/quarantine/`
    when `quarantine` is set — so one bad file never stops a report. `groups`: what
    `file_schemas(state)` returned, if the caller ran it already. On object storage the
    caller registers the listing's filesystem first (`object_store`, as open_dataset does).
    `through_arrow`: the files are scanned as Arrow datasets, not by DuckDB's readers."""
    import pyarrow as pa

    con.register("empty_events", _empty_events_table())
    groups = file_schemas(state) if groups is None else groups
    models = pa.table(
        {
            "pair_id": pa.array(range(1, len(state.models) + 1), pa.int32()),
            "provider": pa.array([p for p, _ in state.models], pa.string()),
            "model": pa.array([m for _, m in state.models], pa.string()),
        }
    )
    con.register("event_models_arrow", models)
    con.execute("CREATE OR REPLACE TABLE event_models AS SELECT * FROM event_models_arrow")
    con.unregister("event_models_arrow")
    if quarantine:
        for path, _reason in state.skipped:
            state.quarantined.append((path, move_aside(state.data_dir, path)))
    readable = {path for paths in groups.values() for path in paths}
    state.files = [entry for entry in state.files if entry.path in readable]
    con.execute("CREATE OR REPLACE VIEW raw_events AS "
                + events_union(con, state, groups, through_arrow=through_arrow))


def events_union(
    con: duckdb.DuckDBPyConnection,
    state: DatasetState,
    groups: dict[str, list[str]],
    *,
    through_arrow: bool = False,
    prefix: str = "event_files",
    row_keys: bool = False,
) -> str:
    """SQL: the files of `groups` ({layout fingerprint: paths}, as file_schemas gives
    them) as one relation, every EVENT_SCHEMA column (NULL where a file predates it), the
    files' newer columns and `date`; a view `<prefix>_<n>` per group is defined for it.
    No files: `empty_events` (register_raw_events registers it). `row_keys`: each row's
    `filename` and `file_row_number` too (DuckDB's readers only)."""
    if not groups:
        return "SELECT * FROM empty_events"
    empty = con.table("empty_events")
    contract = list(zip(empty.columns, [str(t) for t in empty.types], strict=True))
    selects = []
    for index, (fingerprint, paths) in enumerate(sorted(groups.items())):
        view = f"{prefix}_{index}"
        if through_arrow:
            con.register(view, _arrow_dataset(state.data_dir, paths))
        else:
            con.read_parquet(paths, hive_partitioning=True, filename=row_keys,
                             file_row_number=row_keys).create_view(view, replace=True)
        present = {name for name, _ in state.layouts[fingerprint]} | {"date"}
        columns = [
            _quote(name) if name in present else f"CAST(NULL AS {type_}) AS {_quote(name)}"
            for name, type_ in contract
        ]
        # Identifiers come from EVENT_SCHEMA (our own contract) or the files' own
        # footers, never from user input.
        extra = [
            _quote(name)
            for name, _ in state.layouts[fingerprint]
            if name not in {c for c, _ in contract}
        ] + (["filename", "file_row_number"] if row_keys else [])
        selects.append(f"SELECT {', '.join(columns + extra)} FROM {view}")
    return " UNION ALL BY NAME ".join(selects)


REQUIRED_COLUMNS = ("event_id", "ts")
"""Columns every event file of every llmstats version has: a file without them is not
events, whatever else it holds."""
_SPELLINGS = (
    # The same logical type, spelled differently by Arrow (all read as the contract's).
    (re.compile(r"dictionary<values=(\w+), indices=\w+, ordered=\d>"), r"\1"),
    (re.compile(r"\blarge_(?=list<|string\b)"), ""),
    (re.compile(r"\bstring_view\b"), "string"),
    (re.compile(r"<element: "), "<item: "),
    (re.compile(r" not null\b"), ""),
    (re.compile(r"\btimestamp\[ms, "), "timestamp[us, "),
    (re.compile(r"tz=(?:\+00:00|Etc/UTC)\]"), "tz=UTC]"),
)
_WIDENED = {
    # A narrower number reads exactly as the contract's (DuckDB widens it in the union).
    "int64": {"int8", "int16", "int32", "uint8", "uint16", "uint32"},
    "int32": {"int8", "int16", "uint8", "uint16"},
    "double": {"float"},
}


@functools.cache
def _contract_types() -> dict[str, str]:
    """{column: Arrow type as pyarrow prints it} of EVENT_SCHEMA, and the `date` key."""
    from llmstats.plugin.schema import EVENT_SCHEMA

    return {**{field.name: str(field.type) for field in EVENT_SCHEMA}, "date": "date32[day]"}


def _spelled(type_: str) -> str:
    for pattern, replacement in _SPELLINGS:
        type_ = pattern.sub(replacement, type_)
    return type_


def layout_problem(columns: list[tuple[str, str]]) -> str | None:
    """Why a file with these columns ((name, Arrow type as pyarrow prints it), from its
    footer) is not an event file, or None when it is. The rule (docs/events.md, "Which
    Parquet files are events"):

    - it has `event_id` and `ts` (REQUIRED_COLUMNS);
    - every column it shares with EVENT_SCHEMA has the contract's type: the same type,
      or one that reads as it exactly (string as large_string, string_view or a
      dictionary of strings; lists as large lists; a narrower integer or a float32;
      a UTC timestamp in milliseconds);
    - a `date` column in the file (the partition key lives in the path) is a date;
    - any other column is kept: a newer version wrote it (the schema only grows), and
      columns of the contract the file lacks read as NULL (an older version wrote it).
    """
    return _layout_problem(tuple(columns))


@functools.lru_cache(maxsize=256)
def _layout_problem(columns: tuple[tuple[str, str], ...]) -> str | None:
    """layout_problem, judged once per layout per process (files come in few layouts)."""
    found = dict(columns)
    missing = [name for name in REQUIRED_COLUMNS if name not in found]
    if missing:
        return f"not an event file: no {' or '.join(missing)} column"
    contract = _contract_types()
    wrong = []
    for name, type_ in columns:
        expected = contract.get(name)
        if expected is None or type_ == expected:
            continue
        spelled = _spelled(type_)
        if spelled != expected and spelled not in _WIDENED.get(expected, ()):
            wrong.append(f"{name} is {type_}, the event schema says {expected}")
    if not wrong:
        return None
    more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
    return f"not an event file: {wrong[0]}{more}"
