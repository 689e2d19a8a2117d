"""`llmstats compact`: merge a partition's small files into one large file sorted by `ts`,
without ever showing a reader an error, a lost row or a duplicate.

The protocol (see docs/maintenance.md and `llmstats.plugin.manifests`):
1. Under the data dir's maintenance lock, list the partition once and take its visible
   small files as inputs (files a compacted file already replaces are not visible).
2. Write the merged rows, sorted by (ts, event_id), to a hidden temporary file; fsync.
3. Write `_compaction-<id>.json` naming every input (and, transitively, the files an
   input compacted file replaced) with the writer's temp + fsync + rename.
4. Rename the output to `compacted-<id>.parquet`: from this instant a new listing sees the
   output and, through the manifest, excludes the inputs — one listing, one consistent
   view, so no duplicates (hazard b).
5. Inputs are deleted only on a later run, once the manifest is older than the grace
   period, so a reader that listed them a moment ago can still open them (hazard a).
   Manifests are kept: an input the writer's crash recovery re-creates under its
   deterministic name stays excluded, and the next run deletes it (hazard c).

Local data dirs only for now: the merge reads with DuckDB's native Parquet reader.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llmstats.plugin.manifests import (
    MANIFEST_PREFIX,
    compacted_name,
    compaction_id_of,
    manifest_name,
    parse_manifest,
    superseded,
)

from .errors import LlmstatsError
from .storage import FileEntry, is_remote, list_files, local_path

SMALL_FILE_BYTES = 32 * 1024 * 1024
"""Files below this size are compaction inputs; larger (already compacted) files stay."""
MIN_SMALL_FILES = 16
"""A partition *needs* compaction when it holds at least this many small files."""
GRACE_SECONDS = 900.0
"""How long replaced inputs stay on disk for readers that listed them just before."""
ROW_GROUP_ROWS = 128 * 1024
"""DuckDB parallelises a scan by row group: ~100 k rows each keeps both cores busy."""
MEMORY_LIMIT = "320MB"
"""DuckDB sorts out of core beyond this. Its buffers are not all it allocates: with one
thread, 320 MB gave a peak RSS of ~830 MiB for 1 M rows in 5,000 files; 512 MB with two
threads ~1.1 GiB, and 256 MB with two threads sometimes ran out of memory (benchmarks/)."""

Progress = Callable[[int], None]
"""Called with the number of input files just merged."""


@dataclass
class PartitionCompaction:
    date: str
    input_files: int = 0
    input_bytes: int = 0
    rows: int = 0
    output: str | None = None
    output_bytes: int = 0
    seconds: float = 0.0


@dataclass
class CompactionRun:
    partitions: list[PartitionCompaction] = field(default_factory=list)
    deleted_inputs: int = 0
    """Replaced inputs (older than the grace period) deleted by this run."""
    rollups: dict[str, Any] = field(default_factory=dict)
    """What rebuilding the compacted partitions' rollups did (rollup_build.RollupRun)."""

    def summary(self) -> dict[str, Any]:
        return {
            "partitions": [asdict(p) for p in self.partitions],
            "input_files": sum(p.input_files for p in self.partitions),
            "rows": sum(p.rows for p in self.partitions),
            "deleted_inputs": self.deleted_inputs,
            "rollups": self.rollups,
        }


def _partition_dir(data_dir: str, date: str) -> Path:
    return local_path(data_dir) / "events" / f"date={date}"


def _read_local(path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def visible_files(data_dir: str, date: str) -> list[FileEntry]:
    """The partition's files a reader would read now (replaced inputs left out)."""
    entries = list_files(data_dir, f"events/date={date}", ".parquet")
    skip = superseded((e.path for e in entries), _read_local)
    return [e for e in entries if e.path not in skip]


def small_files(entries: list[FileEntry]) -> list[FileEntry]:
    return [e for e in entries if e.size < SMALL_FILE_BYTES]


def partition_dates(data_dir: str) -> list[str]:
    from llmstats.plugin.retention import partitions

    return [date for date, _ in partitions(data_dir)]


def needs_compaction(data_dir: str, date: str, min_files: int = MIN_SMALL_FILES) -> bool:
    return len(small_files(visible_files(data_dir, date))) >= min_files


def _all_replaced(folder: Path, inputs: list[FileEntry]) -> list[str]:
    """Input names plus, for inputs that are compacted files, what those replaced: the
    new manifest must keep excluding them once the old compacted file is deleted."""
    names: set[str] = set()
    for entry in inputs:
        name = os.path.basename(entry.path)
        names.add(name)
        compaction_id = compaction_id_of(name)
        if compaction_id:
            manifest = parse_manifest(_read_local(str(folder / manifest_name(compaction_id))))
            if manifest:
                names.update(n for n in manifest["inputs"] if isinstance(n, str))
    return sorted(names)


def _readable_groups(data_dir: str, inputs: list[FileEntry]) -> dict[str, list[str]]:
    """Inputs grouped by column layout (from the local schema cache, as readers do);
    unreadable files are left out of the compaction and stay where they are."""
    from .dataset import DatasetState, file_schemas

    return file_schemas(DatasetState(data_dir, list(inputs)))


def _merge(groups: dict[str, list[str]], target: Path) -> int:
    """Rows of the grouped files sorted by (ts, event_id) into `target`; the EVENT_SCHEMA
    columns keep their exact Arrow types, newer columns pass through. Returns the rows.

    Memory stays bounded whatever the day's size: files of one layout are read as one
    scan (DuckDB's union_by_name over thousands of files keeps every file's metadata and
    took 700 MB for 5,000 files; so does parquet_metadata_cache, left off), groups are
    combined BY NAME, and DuckDB's sort spills beyond MEMORY_LIMIT."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from llmstats.plugin.schema import EVENT_SCHEMA
    from llmstats.plugin.sink import PARQUET_OPTIONS

    con = duckdb.connect()
    spill = tempfile.mkdtemp(prefix="llmstats-compact-")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        # One thread: each extra thread holds its own sort and scan buffers, and the
        # merge is bounded by reading thousands of small files, not by CPU.
        con.execute("SET threads = 1")
        # The ORDER BY fixes the order; insertion order would only cost memory.
        con.execute("SET preserve_insertion_order = false")
        # SET takes no bound parameters; the path is one mkdtemp just created.
        con.execute("SET temp_directory = '" + spill.replace("'", "''") + "'")
        selects = []
        for index, paths in enumerate(groups.values()):
            con.read_parquet(paths, hive_partitioning=False).create_view(f"merge_{index}")
            selects.append(f"SELECT * FROM merge_{index}")
        con.execute("CREATE VIEW merge_source AS " + " UNION ALL BY NAME ".join(selects))
        contract = {f.name: f for f in EVENT_SCHEMA}
        reader = con.sql("SELECT * FROM merge_source ORDER BY ts NULLS FIRST, event_id"
                         ).to_arrow_reader(ROW_GROUP_ROWS)
        schema = pa.schema([contract.get(f.name, f) for f in reader.schema])
        rows = 0
        with pq.ParquetWriter(target, schema, **PARQUET_OPTIONS) as writer:
            for batch in reader:
                writer.write_table(pa.Table.from_batches([batch]).cast(schema),
                                   row_group_size=ROW_GROUP_ROWS)
                rows += batch.num_rows
        return rows
    finally:
        con.close()
        import shutil

        shutil.rmtree(spill, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def compact_partition(data_dir: str, date: str, *, min_files: int = 2,
                      progress: Progress | None = None) -> PartitionCompaction | None:
    """Merge the partition's visible small files (if at least `min_files`) into one
    `compacted-<id>.parquet`. Call under `maintenance_lock`. None when nothing to do."""
    from llmstats.plugin.sink import Sink

    started = time.monotonic()
    folder = _partition_dir(data_dir, date)
    inputs = small_files(visible_files(data_dir, date))
    if len(inputs) < max(min_files, 2):
        return None
    groups = _readable_groups(data_dir, inputs)
    readable = {path for paths in groups.values() for path in paths}
    inputs = [entry for entry in inputs if entry.path in readable]
    if len(inputs) < max(min_files, 2):
        return None
    compaction_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    output = compacted_name(compaction_id)
    tmp = folder / f".{output}.tmp"
    try:
        try:
            rows = _merge(groups, tmp)
        except Exception as exc:
            if type(exc).__module__.split(".")[0] not in ("duckdb", "_duckdb") and not isinstance(exc, OSError):
                raise
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LlmstatsError(f"compaction of {date} failed, nothing changed: {first}") from None
        _fsync(tmp)
        manifest = {
            "id": compaction_id,
            "created_at": time.time(),
            "output": output,
            "rows": rows,
            "inputs": _all_replaced(folder, inputs),
        }
        # The manifest first: once the output is visible, its manifest must be readable.
        Sink(data_dir).write_bytes(f"events/date={date}/{manifest_name(compaction_id)}",
                                   json.dumps(manifest, indent=0).encode())
        os.replace(tmp, folder / output)
    finally:
        tmp.unlink(missing_ok=True)
    if progress:
        progress(len(inputs))
    return PartitionCompaction(
        date=date, input_files=len(inputs), input_bytes=sum(e.size for e in inputs),
        rows=rows, output=output, output_bytes=(folder / output).stat().st_size,
        seconds=round(time.monotonic() - started, 3))


def delete_replaced(data_dir: str, *, grace_seconds: float = GRACE_SECONDS,
                    now: float | None = None) -> int:
    """Delete inputs whose compacted file exists and whose manifest is older than the
    grace period (re-created inputs too); drop manifests and temporary files of runs
    that died before their output appeared. Returns the files deleted."""
    now = time.time() if now is None else now
    deleted = 0
    for date in partition_dates(data_dir):
        folder = _partition_dir(data_dir, date)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        for name in names:
            path = folder / name
            if name.startswith(".compacted-") and name.endswith(".tmp"):
                try:
                    if now - path.stat().st_mtime > grace_seconds:
                        path.unlink(missing_ok=True)
                except FileNotFoundError:
                    pass
                continue
            if not (name.startswith(MANIFEST_PREFIX) and name.endswith(".json")):
                continue
            manifest = parse_manifest(_read_local(str(path)))
            if manifest is None:
                continue
            if now - float(manifest.get("created_at") or now) <= grace_seconds:
                continue
            output = str(manifest.get("output") or "")
            if not (folder / output).exists():
                # Its run died before the rename, or a later compaction merged and
                # deleted the output (that run's manifest lists these inputs too).
                path.unlink(missing_ok=True)
                continue
            for input_name in manifest["inputs"]:
                if isinstance(input_name, str) and input_name != output and "/" not in input_name:
                    try:
                        (folder / input_name).unlink()
                        deleted += 1
                    except FileNotFoundError:
                        pass
    return deleted


def compact(data_dir: str, *, dates: list[str] | None = None, since: str | None = None,
            min_files: int = MIN_SMALL_FILES, grace_seconds: float = GRACE_SECONDS,
            progress: Progress | None = None,
            on_plan: Callable[[int], None] | None = None) -> CompactionRun:
    """Compact the given partitions (any with ≥ 2 small files), or every partition from
    `since` (or all) that needs it (≥ `min_files` small files); then delete inputs
    replaced longer than the grace period ago. Takes the maintenance lock."""
    from llmstats.plugin.retention import MaintenanceBusy, maintenance_lock

    if is_remote(data_dir):
        raise LlmstatsError("compaction of an object-store data dir is not supported yet; "
                            "run it where the data dir is a local path")
    run = CompactionRun()
    try:
        with maintenance_lock(data_dir):
            run.deleted_inputs = delete_replaced(data_dir, grace_seconds=grace_seconds)
            if dates is not None:
                plan = {d: small_files(visible_files(data_dir, d)) for d in dates}
                plan = {d: f for d, f in plan.items() if len(f) >= 2}
            else:
                plan = {}
                for date in partition_dates(data_dir):
                    if since is not None and date < since:
                        continue
                    found = small_files(visible_files(data_dir, date))
                    if len(found) >= min_files:
                        plan[date] = found
            if on_plan:
                on_plan(sum(len(f) for f in plan.values()))
            for date in plan:
                done = compact_partition(data_dir, date, progress=progress)
                if done is not None:
                    run.partitions.append(done)
            if run.partitions:
                # A compacted partition's rollups are stale: rebuild them while its
                # files are fresh in the page cache (analytics/rollup_build.py).
                from .rollup_build import build_rollups

                dates = [p.date for p in run.partitions]
                run.rollups = build_rollups(data_dir, dates=dates).summary()
    except MaintenanceBusy as exc:
        raise LlmstatsError(str(exc)) from None
    return run


def compaction_backlog(data_dir: str) -> dict[str, int]:
    """Small-file count per partition (dates with at least one), for `llmstats status`."""
    if is_remote(data_dir):
        return {}
    counts = {}
    for date in partition_dates(data_dir):
        count = len(small_files(visible_files(data_dir, date)))
        if count:
            counts[date] = count
    return counts
