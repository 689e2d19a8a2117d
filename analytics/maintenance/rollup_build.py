"""Writing rollups: each cube of `rollups/spec.py` for partitions' event files, as plain
Parquet parts under `<data dir>/rollups/v2/<cube>/` (see rollups/spec.py for the layout).

`llmstats compact` builds the rollups of the partitions it compacts; `llmstats rollup`
builds them for partitions that have none (or a stale one), and drops them all with
`--drop`. Building reads a partition once through the views reports use, so a rollup
holds exactly what a report would sum from the events. Each run writes one part per
cube; when a cube has more than MAX_PARTS live parts, they are merged into one, so
a report opens a handful of files however many days there are. Nothing here runs in the
writer: capture never waits for a rollup.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import LlmstatsError
from ..rollups.index import RollupIndex, RollupPart, context_of, index_rollups, list_parts
from ..rollups.pricing_key import encode, pair_fingerprints
from ..rollups.spec import (
    CUBES,
    CUBES_BY_NAME,
    FINAL_ATTEMPT,
    ROLLUPS_FOLDER,
    Cube,
    band_ladder,
    basis_columns,
    build_order,
    cube_sql,
    ladder_text,
    part_manifest,
    part_name,
    rows_sql,
    source_key,
    source_name,
)
from ..store.files import (
    READER_GRACE_SECONDS,
    FileEntry,
    delete_files,
    is_remote,
    join,
    list_files,
    local_path,
    read_bytes,
    write_file,
)

if TYPE_CHECKING:
    import duckdb

MAX_PARTS = 8
"""More live parts than this in a cube are merged into one."""
MEMORY_LIMIT = "400MB"
"""DuckDB spills beyond this; a day of 1 M events builds well under 1 GB of RSS."""

Progress = Callable[[str], None]
"""Called with each partition date once its rollups are computed."""


@dataclass
class PartitionRollup:
    date: str
    key: str
    files: int
    rows: dict[str, int] = field(default_factory=dict)
    """Rows per cube."""
    seconds: float = 0.0


@dataclass
class RollupRun:
    built: list[PartitionRollup] = field(default_factory=list)
    up_to_date: int = 0
    bytes: int = 0
    """Bytes of the parts written (merges included)."""
    merged: list[str] = field(default_factory=list)
    """Cubes whose parts were merged into one."""
    removed: int = 0
    """Parts removed: none of their rows is used any more (grace period over)."""
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "built": [p.date for p in self.built],
            "rows": sum(sum(p.rows.values()) for p in self.built),
            "bytes": self.bytes,
            "up_to_date": self.up_to_date,
            "merged": self.merged,
            "removed": self.removed,
            "errors": self.errors,
        }


def readable_partitions(data_dir: str) -> dict[str, list[FileEntry]]:
    """The event files a reader reads now (visible and readable), by partition date."""
    from ..store.dataset import DatasetState, event_files, file_schemas, partition_date

    state = DatasetState(data_dir, event_files(data_dir))
    readable = {path for paths in file_schemas(state).values() for path in paths}
    found: dict[str, list[FileEntry]] = {}
    for entry in state.files:
        date = partition_date(entry.path)
        if date and entry.path in readable:
            found.setdefault(date, []).append(entry)
    return found


def _configure(con: duckdb.DuckDBPyConnection, spill: str) -> None:
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET preserve_insertion_order = false")
    # SET takes no bound parameters; the path is one mkdtemp just created.
    con.execute("SET temp_directory = '" + spill.replace("'", "''") + "'")


def _with_sources(cubes: set[str]) -> set[str]:
    """`cubes` and every cube they are computed from."""
    found = set(cubes)
    while True:
        more = {CUBES_BY_NAME[n].source for n in found if CUBES_BY_NAME[n].source} - found
        if not more:
            return found
        found |= {n for n in more if n}


def _partition_tables(data_dir: str, entries: list[FileEntry],
                      cubes: set[str] | None = None) -> tuple[dict[str, Any], list[int], Any]:
    """The rows of `cubes` (default: every cube) for the partition made of `entries`
    (pyarrow tables), the input-token split points its sums groups respect, and the
    pricing the priced copy was priced under (rollups/pricing_key.py, as a manifest
    stores it)."""
    wanted = _with_sources(set(cubes) if cubes is not None else {c.name for c in CUBES})
    from ..connection import open_dataset
    from ..pricing.catalog import cached_catalog_file

    spill = tempfile.mkdtemp(prefix="llmstats-rollup-")
    try:
        dataset = open_dataset(data_dir, files=entries, lazy_events=True, use_rollups=False,
                               configure=lambda con: _configure(con, spill))
        con = dataset.con
        try:
            context_of(con).ensure_events()  # type: ignore[union-attr]
            # Split at every threshold of the whole catalog (the connection holds only the
            # entries this partition's models match), so readers rarely need to look.
            catalog_file = cached_catalog_file(data_dir)[0]
            thresholds = [
                int(row[0])
                for row in con.execute(
                    "SELECT DISTINCT threshold FROM read_parquet($path) WHERE threshold IS NOT NULL",
                    {"path": str(catalog_file)},
                ).fetchall()
            ]
            ladder = band_ladder(thresholds)
            # The partition's calls once, with the window that marks final attempts:
            # every cube aggregates this instead of re-reading the files. The priced copy
            # keeps every event column, so then the calls are read whole.
            copied = any(CUBES_BY_NAME[name].kind == "rows" for name in wanted)
            columns = "*" if copied else ", ".join(basis_columns())
            con.execute(
                f"CREATE TEMP TABLE partition_basis AS SELECT *, {FINAL_ATTEMPT} AS requests "
                f"FROM (SELECT {columns} FROM token_basis)"
            )
            tables = {}
            pricing = None
            for cube in build_order():
                if cube.name not in wanted:
                    continue
                if cube.kind == "rows":
                    # Each event priced under today's pricing, which the manifest names.
                    con.execute("CREATE TEMP VIEW partition_priced AS "
                                "SELECT *, priced_by AS basis_priced_by FROM priced_basis('partition_basis')")
                    sql = rows_sql("partition_priced", [
                        (str(name), str(type_)) for name, type_, *_ in
                        con.execute("DESCRIBE empty_events").fetchall()])
                else:
                    # A coarser cube is grouped from a finer one: far fewer rows than the calls.
                    source = f"cube_{cube.source}" if cube.source else "partition_basis"
                    sql = cube_sql(cube, ladder, source)
                con.execute(f"CREATE TEMP TABLE cube_{cube.name} AS {sql}")
                tables[cube.name] = con.table(f"cube_{cube.name}").to_arrow_table()
                if cube.kind == "rows":
                    alone = con.execute(
                        f"SELECT count(*) FROM cube_{cube.name} "
                        "WHERE basis_priced_by = 'catalog' AND priced_by = 'default'").fetchone()
                    pricing = encode(pair_fingerprints(con), exact=not (alone and alone[0]))
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return tables, ladder, pricing


ROW_GROUP_ROWS = 128 * 1024
"""Rows per Parquet row group of a part: a day of a small cube is a few hundred rows,
and a file of hundreds of tiny row groups reads several times slower."""


class _PartWriter:
    """One new part of a cube: Parquet row groups into memory, then written whole
    (a temporary name and a rename locally), then its manifest."""

    def __init__(self, cube: Cube) -> None:
        self.cube = cube
        self.buffer = io.BytesIO()
        self.writer: Any = None
        self.pending: list[Any] = []
        self.partitions: dict[str, dict[str, Any]] = {}

    def add(self, table: Any, date: str, entry: dict[str, Any]) -> None:
        import pyarrow.parquet as pq

        if self.writer is None:
            self.writer = pq.ParquetWriter(self.buffer, table.schema, compression="zstd")
        if table.num_rows:
            self.pending.append(table.cast(self.writer.schema))
        if sum(t.num_rows for t in self.pending) >= ROW_GROUP_ROWS:
            self._flush()
        self.partitions[date] = entry

    def _flush(self) -> None:
        import pyarrow as pa

        if self.pending:
            self.writer.write_table(pa.concat_tables(self.pending), row_group_size=ROW_GROUP_ROWS)
            self.pending = []

    def publish(self, data_dir: str) -> int:
        """Write the part and its manifest; returns the bytes written."""
        if self.writer is None:
            return 0
        self._flush()
        self.writer.close()
        stem = f"{ROLLUPS_FOLDER}/{self.cube.name}/{part_name()}"
        data = self.buffer.getvalue()
        # The Parquet file first: a reader uses a part only once its manifest exists.
        write_file(data_dir, f"{stem}.parquet", data)
        write_file(data_dir, f"{stem}.json", part_manifest(self.cube, self.partitions))
        return len(data)


def _entry(key: str, ladder: list[int], entries: list[FileEntry]) -> dict[str, Any]:
    return {"key": key, "ladder": ladder_text(ladder),
            "sources": sorted([source_name(e), e.size] for e in entries)}


def build_rollups(
    data_dir: str,
    *,
    dates: list[str] | None = None,
    rebuild: bool = False,
    include_today: bool = False,
    progress: Progress | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> RollupRun:
    """Build the rollups of `dates` (default: every partition before today, UTC) whose
    files no part covers (all of them with `rebuild`), merge a cube's parts when
    there are too many, and remove parts no reader needs. A partition that fails is
    named in `errors` and left to the events; the others are still built. Call under
    the maintenance lock."""
    run = RollupRun()
    partitions = readable_partitions(data_dir)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    wanted = sorted(partitions) if dates is None else sorted(set(dates) & set(partitions))
    if dates is None and not include_today:
        wanted = [d for d in wanted if d < today]
    index = index_rollups(data_dir, [e for entries in partitions.values() for e in entries])
    priced = _priced_dates(data_dir, index) if not rebuild else {}
    todo: list[tuple[str, set[str]]] = []
    for date in wanted:
        missing = {c.name for c in CUBES if rebuild or date not in index.available.get(c.name, {})
                   or (c.priced and date not in priced.get(c.name, set()))}
        if missing:
            todo.append((date, missing))
        else:
            run.up_to_date += 1
    if on_plan:
        on_plan(len(todo))
    writers = {cube.name: _PartWriter(cube) for cube in CUBES}
    for date, missing in todo:
        started = time.monotonic()
        try:
            tables, ladder, pricing = _partition_tables(data_dir, partitions[date], missing)
        except LlmstatsError as exc:
            run.errors.append(f"{date}: {exc}")
            continue
        except Exception as exc:  # a DuckDB or I/O failure: name it, keep going
            if type(exc).__module__.split(".")[0] not in ("duckdb", "_duckdb") and not isinstance(exc, OSError):
                raise
            run.errors.append(f"{date}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            continue
        key = source_key(partitions[date])
        entry = _entry(key, ladder, partitions[date])
        for cube in CUBES:
            if cube.name in missing:
                writers[cube.name].add(tables[cube.name], date,
                                       {**entry, "pricing": pricing} if cube.priced else entry)
        run.built.append(PartitionRollup(date, key, len(partitions[date]),
                                         {n: t.num_rows for n, t in tables.items()},
                                         round(time.monotonic() - started, 3)))
        if progress:
            progress(date)
    for writer in writers.values():
        run.bytes += writer.publish(data_dir)
    files = [e for entries in partitions.values() for e in entries]
    index = index_rollups(data_dir, files)
    for cube in CUBES:
        live = {s.path for s in index.available.get(cube.name, {}).values()}
        if len(live) > MAX_PARTS:
            run.bytes += merge_parts(data_dir, cube, index)
            run.merged.append(cube.name)
    run.removed = remove_unused(data_dir, index_rollups(data_dir, files), partitions)
    return run


def _priced_dates(data_dir: str, index: RollupIndex) -> dict[str, set[str]]:
    """Per cube that stores prices, the dates it holds priced under today's pricing
    (rollups/pricing_key.py); the others are rebuilt."""
    served = {c.name: index.available.get(c.name, {}) for c in CUBES if c.priced}
    if not any(served.values()):
        return {}
    from ..connection import open_dataset
    from ..rollups.pricing_key import current_for, decode, pair_fingerprints

    dataset = open_dataset(data_dir, lazy_events=True, use_rollups=False)
    try:
        today = pair_fingerprints(dataset.con)
    finally:
        dataset.con.close()
    return {name: {d for d, part in parts.items()
                   if current_for(decode(part.pricing.get(d)), today)}
            for name, parts in served.items()}


def merge_parts(data_dir: str, cube: Cube, index: RollupIndex) -> int:
    """Rewrite the rows every live part of `cube` serves into one new part."""
    import duckdb

    served = index.available.get(cube.name, {})
    if not served:
        return 0
    writer = _PartWriter(cube)
    manifests: dict[str, Any] = {}
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        if is_remote(data_dir):
            from ..store.object_store import register_object_store

            register_object_store(con, data_dir, index.serving())
        for date in sorted(served):
            part = served[date]
            if part.path not in manifests:
                manifests[part.path] = json.loads(read_bytes(data_dir, _manifest_of(data_dir, part.path)) or b"{}")
            table = con.sql(
                "SELECT * FROM read_parquet($path) WHERE date = CAST($date AS DATE)",
                params={"path": part.path, "date": date},
            ).to_arrow_table()
            writer.add(table, date, manifests[part.path]["partitions"][date])
    finally:
        con.close()
    return writer.publish(data_dir)


def _manifest_of(data_dir: str, path: str) -> str:
    """The data-dir-relative manifest path of a part's Parquet path."""
    relative = path[len(data_dir.rstrip("/")) + 1 :]
    return relative[: -len(".parquet")] + ".json"


def _created(part: RollupPart) -> float:
    stamp = os.path.basename(part.path).split("-")[1]
    return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S%f").replace(tzinfo=dt.UTC).timestamp()


def _changed_at(entries: list[FileEntry]) -> float | None:
    """When the partition's file set last changed (its newest file appeared, as listed);
    None when the listing did not say."""
    times = [e.mtime for e in entries]
    return None if not times or None in times else max(t for t in times if t is not None)


def remove_unused(data_dir: str, index: RollupIndex, partitions: dict[str, list[FileEntry]],
                  *, now: float | None = None) -> int:
    """Delete parts none of whose rows a reader uses now, once that has been so for
    the grace period: each of their partitions is gone (pruned), covered by a newer
    part, or has other files than the part's rows were made of."""
    now = time.time() if now is None else now
    removed = 0
    for cube in CUBES:
        serving = {s.path for s in index.available.get(cube.name, {}).values()}
        for part in list_parts(data_dir, cube):
            if part.path in serving:
                continue
            unused_since = 0.0
            for date in part.partitions:
                newer = index.available.get(cube.name, {}).get(date)
                if newer is not None:
                    unused_since = max(unused_since, _created(newer))
                elif date in partitions:
                    changed = _changed_at(partitions[date])
                    unused_since = max(unused_since, now if changed is None else changed)
            if now - unused_since > READER_GRACE_SECONDS:
                delete_files(data_dir, [part.path,
                                        join(data_dir, _manifest_of(data_dir, part.path))])
                removed += 1
    return removed


def drop_rollups(data_dir: str) -> int:
    """Remove every rollup part (derived data: `llmstats rollup` rebuilds them)."""
    removed = sum(len(list_parts(data_dir, cube)) for cube in CUBES)
    if not is_remote(data_dir):
        shutil.rmtree(local_path(join(data_dir, ROLLUPS_FOLDER)), ignore_errors=True)
        return removed
    delete_files(data_dir, [e.path for e in list_files(data_dir, ROLLUPS_FOLDER, "")])
    return removed
