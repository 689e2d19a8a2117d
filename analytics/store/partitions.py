"""The event files of each date partition as a reader sees them (replaced compaction
inputs left out), and which partitions have enough small files to need compaction."""

from __future__ import annotations

from collections.abc import Callable

from llmstats.plugin.manifests import Resolution, resolve

from .files import FileEntry, list_files, read_bytes

SMALL_FILE_BYTES = 32 * 1024 * 1024
"""Files below this size are compaction inputs; larger (already compacted) files stay."""
MIN_SMALL_FILES = 16
"""A partition *needs* compaction when it holds at least this many small files."""


def partition_folder(date: str) -> str:
    return f"events/date={date}"


def _reader(data_dir: str) -> Callable[[str], bytes | None]:
    """Read a file by its full path or URI (manifests, for `resolve`)."""
    base = data_dir.rstrip("/")
    return lambda path: read_bytes(data_dir, path[len(base) + 1 :])


def partition_listing(data_dir: str, date: str) -> tuple[list[FileEntry], Resolution]:
    """One listing of a partition's event files (hidden twins included) and what it means."""
    entries = list_files(data_dir, partition_folder(date), ".parquet")
    return entries, resolve((e.path for e in entries), _reader(data_dir))


def visible_files(data_dir: str, date: str) -> list[FileEntry]:
    """The partition's files a reader would read now (replaced inputs left out)."""
    entries, resolution = partition_listing(data_dir, date)
    return [e for e in entries if e.path not in resolution.excluded]


def small_files(entries: list[FileEntry]) -> list[FileEntry]:
    return [e for e in entries if e.size < SMALL_FILE_BYTES]


def partition_dates(data_dir: str) -> list[str]:
    from llmstats.plugin.retention import partitions

    return [date for date, _ in partitions(data_dir)]


def needs_compaction(data_dir: str, date: str, min_files: int = MIN_SMALL_FILES) -> bool:
    return len(small_files(visible_files(data_dir, date))) >= min_files


def compaction_backlog(data_dir: str) -> dict[str, int]:
    """Small-file count per partition (dates with at least one), for `llmstats status`."""
    counts = {}
    for date in partition_dates(data_dir):
        count = len(small_files(visible_files(data_dir, date)))
        if count:
            counts[date] = count
    return counts
