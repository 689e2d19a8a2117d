"""Retention: remove whole date partitions (and dead writers' spool leftovers) older than a
cut-off, and purge all telemetry.

Shared by `llmstats prune` / `llmstats purge` and the writer's once-a-day retention run
(`LLMSTATS_RETENTION_DAYS`), so nothing here imports duckdb or typer. Removing a
partition is one directory operation, never a row-by-row delete: locally the partition
is first renamed to a hidden name (atomic: a new listing no longer sees it) and then
deleted; on object storage its prefix is deleted.

Live writers are never disturbed: a spool folder is touched only while holding its
flock, which a live writer holds for its whole life.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from .audit import append_entry, note_config
from .config import Settings
from .data_dir_files import filesystem, is_remote, local_path
from .manifests import HIDDEN_PREFIX, superseded
from .rollup_files import forget_partitions
from .spool import (
    LOCK_NAME,
    META_NAME,
    counts_path,
    list_carries,
    list_counts,
    list_spool_files,
    orphaned_folder,
    read_spool_file,
    writer_folders,
)
from .spool_to_parquet import SEEN

EVENTS_FOLDER = "events"
_SEEN_LINE = f'"capture":"{SEEN}"'.encode()
MAINTENANCE_LOCK = "maintenance.lock"
_PARTITION_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


class MaintenanceBusy(RuntimeError):
    """Another prune, purge or compaction holds the data dir's maintenance lock."""


@contextlib.contextmanager
def maintenance_lock(data_dir: str, *, wait: bool = False) -> Iterator[None]:
    """One prune/purge/compaction at a time per data dir (flock on `maintenance.lock`).

    Two compactions of one partition at once would each supersede the same inputs and
    duplicate their rows. On object storage there is no lock: run maintenance from one
    place (docs/maintenance.md)."""
    if is_remote(data_dir):
        yield
        return
    folder = local_path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / MAINTENANCE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise MaintenanceBusy("another prune, purge or compaction is running on this "
                                  "data dir; try again when it has finished") from None
        yield
    finally:
        os.close(fd)


@dataclass
class RemovalResult:
    """What a prune or purge removed (or, with dry_run, would remove)."""

    dry_run: bool
    cutoff: str | None = None
    partitions: list[str] = field(default_factory=list)
    files: int = 0
    rows: int = 0
    bytes: int = 0
    spool_files: int = 0
    spool_rows: int = 0
    spool_bytes: int = 0
    other_files: int = 0
    """Heartbeats and quarantined files (purge only)."""

    def summary(self) -> dict[str, Any]:
        document = asdict(self)
        document["partitions"] = len(self.partitions)
        document["first_partition"] = self.partitions[0] if self.partitions else None
        document["last_partition"] = self.partitions[-1] if self.partitions else None
        return document


def partitions(data_dir: str) -> list[tuple[str, str]]:
    """(date, path) of every `events/date=YYYY-MM-DD` folder, oldest first."""
    fs, root = filesystem(data_dir)
    try:
        infos = fs.get_file_info(pafs.FileSelector(f"{root}/{EVENTS_FOLDER}"))
    except FileNotFoundError:
        return []
    found = []
    for info in infos:
        match = _PARTITION_DIR.match(info.base_name)
        if match and info.type == pafs.FileType.Directory:
            found.append((match.group(1), info.path))
    return sorted(found)


def _count_partition(fs: pafs.FileSystem, path: str, result: RemovalResult) -> list[str]:
    """Count the files and bytes of one partition folder; return the Parquet files whose
    rows count (superseded compaction inputs are not counted twice)."""
    try:
        infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    except FileNotFoundError:
        return []
    files = [i for i in infos if i.type == pafs.FileType.File]
    # Hidden twins of replaced inputs (object storage) go in: `superseded` counts each
    # file once, under either name.
    parquet = [i.path for i in files if i.base_name.endswith(".parquet")
               and (not i.base_name.startswith((".", "_")) or i.base_name.startswith(HIDDEN_PREFIX))]

    def read(manifest_path: str) -> bytes | None:
        try:
            with fs.open_input_stream(manifest_path) as stream:
                return bytes(stream.read())
        except (FileNotFoundError, OSError):
            return None

    skip = superseded(parquet, read)
    result.files += len(files)
    result.bytes += sum(i.size or 0 for i in files)
    return [file_path for file_path in parquet if file_path not in skip]


def _count_rows(fs: pafs.FileSystem, paths: list[str]) -> int:
    """Rows from the footers. Footer parsing releases the GIL: a few threads make a
    year of partitions count in a fraction of a second."""
    def rows(path: str) -> int:
        try:
            return int(pq.read_metadata(path, filesystem=fs).num_rows)
        except Exception:  # an unreadable file still goes; it just has no row count
            return 0

    if len(paths) < 64:
        return sum(map(rows, paths))
    with ThreadPoolExecutor(max_workers=4) as pool:
        return sum(pool.map(rows, paths))


def _remove_folder(fs: pafs.FileSystem, path: str, local: bool) -> None:
    if local:
        # Rename first: atomic, so a reader listing from now on no longer sees the
        # partition, and a writer that creates the folder anew gets a fresh one.
        parent, _, name = path.rpartition("/")
        hidden = f"{parent}/.removing-{name}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(path, hidden)
        except FileNotFoundError:
            return
        shutil.rmtree(hidden, ignore_errors=True)
        return
    with contextlib.suppress(FileNotFoundError):
        fs.delete_dir(path)


def _prune_spool(spool_dir: Path | None, before: dt.datetime | None,
                 result: RemovalResult) -> None:
    """Remove dead writers' spool files last written before `before` (all of them
    when None). A spool file written before the cut-off instant only holds events of
    partitions that are being removed anyway. Live writers hold their folder's flock,
    so `orphaned_folder` never yields True for them."""
    if spool_dir is None:
        return
    limit = None if before is None else before.timestamp()
    for folder in writer_folders(spool_dir):
        with orphaned_folder(folder) as orphaned:
            if not orphaned:
                continue
            # Spool files and the markers carried out of them are rows-to-be; a spool file's
            # counts file goes with it.
            for spool_file in list_spool_files(folder) + list_carries(folder):
                try:
                    stat = spool_file.stat()
                except FileNotFoundError:
                    continue
                if limit is not None and stat.st_mtime >= limit:
                    continue
                result.spool_files += 1
                result.spool_bytes += stat.st_size
                data = read_spool_file(spool_file)
                # A carry file's SEEN lines are ids of rows already converted, not rows.
                result.spool_rows += data.count(b"\n") - data.count(_SEEN_LINE)
                if not result.dry_run:
                    spool_file.unlink(missing_ok=True)
                    counts_path(spool_file).unlink(missing_ok=True)
            if not result.dry_run and not list_spool_files(folder) and not list_carries(folder):
                for leftover in (*list_counts(folder), folder / LOCK_NAME, folder / META_NAME):
                    leftover.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    folder.rmdir()


def retention_cutoff(days: int, today: dt.date | None = None) -> dt.date:
    """Partitions dated before this are removed: today (UTC) and the `days` before it stay."""
    today = today or dt.datetime.now(dt.UTC).date()
    return today - dt.timedelta(days=days)


def prune_partitions(data_dir: str, cutoff: dt.date, *, spool_dir: Path | None = None,
                     dry_run: bool = False) -> RemovalResult:
    """Remove every `date=D` partition with D < cutoff, and dead writers' spool files
    written before the cut-off. Call under `maintenance_lock`."""
    result = RemovalResult(dry_run=dry_run, cutoff=cutoff.isoformat())
    fs, _ = filesystem(data_dir)
    local = not is_remote(data_dir)
    doomed = [(date, path) for date, path in partitions(data_dir) if date < cutoff.isoformat()]
    counted: list[str] = []
    for date, path in doomed:
        result.partitions.append(date)
        counted += _count_partition(fs, path, result)
    # Count every footer before removing anything: the summary describes what went.
    result.rows = _count_rows(fs, counted)
    if not dry_run:
        for _, path in doomed:
            _remove_folder(fs, path, local)
        # Rollups summarise those days too: their rows go as well.
        forget_partitions(data_dir, cutoff.isoformat())
    midnight = dt.datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=dt.UTC)
    _prune_spool(spool_dir, midnight, result)
    return result


def purge_telemetry(data_dir: str, *, spool_dir: Path | None = None) -> RemovalResult:
    """Remove every event partition, quarantined files, heartbeats, rollups and dead
    writers' spools. Keeps the config, `secret.key`, `pricing/` and the audit log. Call under
    `maintenance_lock`."""
    result = RemovalResult(dry_run=False)
    fs, root = filesystem(data_dir)
    local = not is_remote(data_dir)
    found = partitions(data_dir)
    counted: list[str] = []
    for date, path in found:
        result.partitions.append(date)
        counted += _count_partition(fs, path, result)
    result.rows = _count_rows(fs, counted)
    for _, path in found:
        _remove_folder(fs, path, local)
    for folder in ("quarantine", "writers", "rollups"):
        try:
            infos = fs.get_file_info(pafs.FileSelector(f"{root}/{folder}", recursive=True))
        except FileNotFoundError:
            continue
        result.other_files += sum(1 for i in infos if i.type == pafs.FileType.File)
        result.bytes += sum(i.size or 0 for i in infos if i.type == pafs.FileType.File)
        _remove_folder(fs, f"{root}/{folder}", local)
    _prune_spool(spool_dir, None, result)
    return result


def apply_retention(settings: Settings, actor: str) -> RemovalResult | None:
    """The writer's daily run: prune by `retention_days` when set. Skips quietly when
    another maintenance run holds the lock; records a `prune` audit entry only when it
    removed something (every replica runs this daily)."""
    if not settings.retention_days:
        return None
    cutoff = retention_cutoff(settings.retention_days)
    try:
        with maintenance_lock(settings.data_dir):
            result = prune_partitions(settings.data_dir, cutoff, spool_dir=settings.spool_dir)
    except MaintenanceBusy:
        return None
    note_config(settings, actor=actor)
    if result.files or result.spool_files:
        append_entry(settings.data_dir, "prune",
                     {"older_than_days": settings.retention_days, "source": "retention"},
                     result.summary(), actor=actor)
    return result
