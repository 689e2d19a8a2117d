"""`llmstats compact`: merge a partition's small files into one large file sorted by `ts`,
without ever showing a reader an error, a lost row or a duplicate.

The protocol (see docs/maintenance.md, docs/fleet.md and `llmstats.plugin.manifests`):
1. Under the data dir's maintenance lock (local data dirs; object stores have none, see
   4), list the partition once and take its visible small files as inputs.
2. Write the merged rows, sorted by (ts, event_id), to a hidden temporary file; fsync.
3. Write `_compaction-<id>.json` naming every input (and, transitively, the files an
   input compacted file replaced) — temp + fsync + rename locally, one PUT remotely.
4. Make the output `compacted-<id>.parquet` appear: a rename locally; on object storage
   a server-side copy of the finished file, uploaded under a hidden `_pending-` name
   before step 3 (an object appears whole or not at all). From this instant a new
   listing sees the output and, through the manifest, excludes the inputs — one listing,
   one consistent view, so no duplicates (hazard b). Two compactions of one partition at
   once (no lock on object storage) cannot duplicate rows either: the one that claimed
   the rows first wins and the other counts for nothing (`resolve`).
5. On object storage, hide the inputs from other engines at once: each got a hidden copy
   `_replaced-<name>` (server-side) before step 3, so this is a delete of the originals.
   Spark, Trino and Athena skip `_` files, and llmstats readers that listed an input a
   moment ago open it under its hidden name.
6. Inputs (and hidden twins) are deleted only on a later run, once the manifest is older
   than the grace period, so a reader that listed them a moment ago can still open them
   (hazard a). Manifests are kept: an input the writer's crash recovery re-creates under
   its deterministic name stays excluded, and the next run deletes it (hazard c).
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
    hidden_name,
    logical_name,
    manifest_name,
    parse_manifest,
)

from ..errors import LlmstatsError
from ..store.files import (
    READER_GRACE_SECONDS,
    FileEntry,
    copy_files,
    delete_files,
    is_remote,
    list_files,
    local_path,
    read_bytes,
    upload_file,
    write_file,
)
from ..store.partitions import (
    MIN_SMALL_FILES,
    partition_dates,
    partition_folder,
    partition_listing,
    small_files,
    visible_files,
)

PENDING_PREFIX = "_pending-"
"""Object storage: a compacted output uploaded but not yet published."""
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
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of inputs left where they are: unreadable, or not event files."""

    def summary(self) -> dict[str, Any]:
        return {
            "partitions": [asdict(p) for p in self.partitions],
            "input_files": sum(p.input_files for p in self.partitions),
            "rows": sum(p.rows for p in self.partitions),
            "deleted_inputs": self.deleted_inputs,
            "rollups": self.rollups,
        }


def _partition_dir(data_dir: str, date: str) -> Path:
    return local_path(data_dir) / partition_folder(date)


def _all_replaced(data_dir: str, date: str, inputs: list[FileEntry],
                  created_at: float) -> tuple[list[str], float]:
    """Input names plus, for inputs that are compacted files, what those replaced: the
    new manifest must keep excluding them once the old compacted file is deleted. Also
    the oldest claim along the lineage (`claimed_at`, see `resolve`)."""
    names: set[str] = set()
    claimed = created_at
    for entry in inputs:
        name = logical_name(entry.path.rpartition("/")[2])
        names.add(name)
        compaction_id = compaction_id_of(name)
        if compaction_id:
            raw = read_bytes(data_dir, f"{partition_folder(date)}/{manifest_name(compaction_id)}")
            manifest = parse_manifest(raw)
            if manifest:
                names.update(n for n in manifest["inputs"] if isinstance(n, str))
                inherited = manifest.get("claimed_at", manifest.get("created_at"))
                if isinstance(inherited, int | float):
                    claimed = min(claimed, float(inherited))
    return sorted(names), claimed


def _readable_groups(data_dir: str, inputs: list[FileEntry],
                     skipped: list[tuple[str, str]] | None = None) -> dict[str, list[str]]:
    """Inputs grouped by column layout (from the local schema cache, as readers do);
    unreadable files and files that are not event files are left out of the compaction,
    stay where they are and are added to `skipped`."""
    from ..store.dataset import DatasetState, file_schemas

    state = DatasetState(data_dir, list(inputs))
    groups = file_schemas(state)
    if skipped is not None:
        skipped += state.skipped
    return groups


def _merge(data_dir: str, inputs: list[FileEntry], groups: dict[str, list[str]],
           target: Path) -> int:
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
        if is_remote(data_dir):
            from ..store.object_store import register_object_store

            register_object_store(con, data_dir, inputs)
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
                      progress: Progress | None = None,
                      skipped: list[tuple[str, str]] | None = None) -> PartitionCompaction | None:
    """Merge the partition's visible small files (if at least `min_files`) into one
    `compacted-<id>.parquet`. Call under `maintenance_lock`. None when nothing to do.
    Inputs that cannot be merged are left alone and added to `skipped`."""
    started = time.monotonic()
    inputs = small_files(visible_files(data_dir, date))
    if len(inputs) < max(min_files, 2):
        return None
    groups = _readable_groups(data_dir, inputs, skipped)
    readable = {path for paths in groups.values() for path in paths}
    inputs = [entry for entry in inputs if entry.path in readable]
    if len(inputs) < max(min_files, 2):
        return None
    compaction_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    output = compacted_name(compaction_id)
    remote = is_remote(data_dir)
    scratch = Path(tempfile.mkdtemp(prefix="llmstats-output-")) if remote else None
    folder = scratch if scratch is not None else _partition_dir(data_dir, date)
    tmp = folder / f".{output}.tmp"
    try:
        try:
            rows = _merge(data_dir, inputs, groups, tmp)
        except Exception as exc:
            if type(exc).__module__.split(".")[0] not in ("duckdb", "_duckdb") and not isinstance(exc, OSError):
                raise
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LlmstatsError(f"compaction of {date} failed, nothing changed: {first}") from None
        _fsync(tmp)
        output_bytes = tmp.stat().st_size
        pending = f"{partition_folder(date)}/{PENDING_PREFIX}{output}"
        if remote:
            # Uploaded under a hidden name first: the (possibly long) upload happens
            # before the manifest, and the output then appears by a quick server-side
            # copy, well within the grace period of its manifest (see `resolve`).
            upload_file(data_dir, tmp, pending)
            _copy_to_hidden_names(data_dir, inputs)
        created_at = time.time()
        replaced, claimed_at = _all_replaced(data_dir, date, inputs, created_at)
        manifest = {
            "id": compaction_id,
            "created_at": created_at,
            "claimed_at": claimed_at,
            "output": output,
            "rows": rows,
            "inputs": replaced,
        }
        # The manifest first: once the output is visible, its manifest must be readable.
        write_file(data_dir, f"{partition_folder(date)}/{manifest_name(compaction_id)}",
                 json.dumps(manifest, indent=0).encode())
        if remote:
            base = data_dir.rstrip("/")
            copy_files(data_dir, [(f"{base}/{pending}", f"{base}/{partition_folder(date)}/{output}")])
            delete_files(data_dir, [f"{base}/{pending}"])
        else:
            os.replace(tmp, folder / output)
    finally:
        tmp.unlink(missing_ok=True)
        if scratch is not None:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)
    if remote:
        hide_replaced(data_dir, date)
    if progress:
        progress(len(inputs))
    return PartitionCompaction(
        date=date, input_files=len(inputs), input_bytes=sum(e.size for e in inputs),
        rows=rows, output=output, output_bytes=output_bytes,
        seconds=round(time.monotonic() - started, 3))


def hide_replaced(data_dir: str, date: str) -> int:
    """Object storage: give every replaced input still under its own name its hidden name
    (copy, then delete), so other engines stop counting it; give back its name to a
    hidden file that no winning compaction replaces (it was hidden by a compaction
    that then lost to a concurrent one), and drop the hidden copy of a file that kept
    its name (a run that died between its copies and its publication). Returns the files
    hidden."""
    entries, resolution = partition_listing(data_dir, date)
    listed = {entry.path for entry in entries}
    hide, unhide, spare = [], [], []
    for logical in resolution.paths:
        folder, _, name = logical.rpartition("/")
        original, twin = logical, f"{folder}/{hidden_name(name)}"
        if logical in resolution.replaced:
            if original in listed:
                hide.append((original, twin))
        elif twin in listed and original not in listed:
            unhide.append((twin, original))
        elif twin in listed:
            spare.append(twin)
    for moves in (hide, unhide):
        copy_files(data_dir, [(src, dst) for src, dst in moves if dst not in listed])
        delete_files(data_dir, [src for src, _ in moves])
    delete_files(data_dir, spare)
    return len(hide)


def _copy_to_hidden_names(data_dir: str, inputs: list[FileEntry]) -> None:
    """Before publishing: give each input a hidden copy, so that hiding it after the
    output appears is only a delete (other engines see both for the shortest time)."""
    pairs = []
    for entry in inputs:
        folder, _, name = entry.path.rpartition("/")
        if name != hidden_name(name):
            pairs.append((entry.path, f"{folder}/{hidden_name(name)}"))
    copy_files(data_dir, pairs)


def delete_replaced(data_dir: str, *, grace_seconds: float = READER_GRACE_SECONDS,
                    now: float | None = None) -> int:
    """Delete inputs (and their hidden twins) of winning compactions whose manifest is
    older than the grace period (re-created inputs too), outputs of compactions that lost
    to a concurrent one, manifests whose output never appeared or is gone, and temporary
    files of runs that died. Returns the event files deleted."""
    now = time.time() if now is None else now
    deleted = 0
    for date in partition_dates(data_dir):
        _, resolution = partition_listing(data_dir, date)
        # Losers go first: once a winner's inputs are gone, a loser still listed next to
        # a later compaction of that winner must not be the older claim (see `resolve`).
        losing: list[str] = []
        dropped_losers = set()
        for loser, beaten_by in resolution.losers:
            if now - max(loser.created_at, beaten_by.created_at) > grace_seconds:
                losing += resolution.paths.get(f"{loser.folder}/{loser.name}", [])
                dropped_losers.add(loser.id)
        delete_files(data_dir, losing)
        doomed: list[str] = []
        for winner in resolution.winners:
            if now - winner.created_at <= grace_seconds:
                continue
            for name in winner.inputs:
                doomed += resolution.paths.get(f"{winner.folder}/{name}", [])
        deleted += delete_files(data_dir, doomed)
        outputs = {logical.rpartition("/")[2] for logical in resolution.paths}
        stale = []
        for manifest_entry in list_files(data_dir, partition_folder(date), ".json"):
            name = manifest_entry.path.rpartition("/")[2]
            if not name.startswith(MANIFEST_PREFIX):
                continue
            manifest = parse_manifest(read_bytes(data_dir, f"{partition_folder(date)}/{name}"))
            if manifest is None or now - float(manifest.get("created_at") or now) <= grace_seconds:
                continue
            if (str(manifest.get("output") or "") not in outputs
                    or manifest.get("id") in dropped_losers):
                # Its run died before the output appeared, a later compaction merged and
                # deleted the output (that run's manifest lists these inputs too), or it
                # lost to a concurrent compaction and its output was deleted above.
                stale.append(manifest_entry.path)
        delete_files(data_dir, stale)
        delete_files(data_dir, [
            e.path for e in list_files(data_dir, partition_folder(date), ".parquet")
            if e.path.rpartition("/")[2].startswith(PENDING_PREFIX)
            and now - (e.mtime or now) > grace_seconds])
        if not is_remote(data_dir):
            _delete_dead_temporaries(_partition_dir(data_dir, date), now, grace_seconds)
    return deleted


def _delete_dead_temporaries(folder: Path, now: float, grace_seconds: float) -> None:
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith(".compacted-") and name.endswith(".tmp"):
            path = folder / name
            try:
                if now - path.stat().st_mtime > grace_seconds:
                    path.unlink(missing_ok=True)
            except FileNotFoundError:
                pass


def compact(data_dir: str, *, dates: list[str] | None = None, since: str | None = None,
            min_files: int = MIN_SMALL_FILES, grace_seconds: float = READER_GRACE_SECONDS,
            progress: Progress | None = None,
            on_plan: Callable[[int], None] | None = None,
            rollups: bool = True) -> CompactionRun:
    """Compact the given partitions (any with ≥ 2 small files), or every partition from
    `since` (or all) that needs it (≥ `min_files` small files); then delete inputs
    replaced longer than the grace period ago; then (`rollups`) rebuild the compacted
    partitions' rollups. Takes the maintenance lock."""
    from llmstats.plugin.retention import MaintenanceBusy, maintenance_lock

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
                done = compact_partition(data_dir, date, progress=progress,
                                         skipped=run.skipped)
                if done is not None:
                    run.partitions.append(done)
            if run.partitions and rollups:
                # A compacted partition's rollups are stale: rebuild them while its
                # files are fresh in the page cache (maintenance/rollup_build.py).
                from .rollup_build import build_rollups

                dates = [p.date for p in run.partitions]
                run.rollups = build_rollups(data_dir, dates=dates).summary()
    except MaintenanceBusy as exc:
        raise LlmstatsError(str(exc)) from None
    return run
