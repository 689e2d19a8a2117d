"""The local write-ahead spool: append-only segment files, one folder per writer.

Layout: <spool_dir>/<writer_id>/<seq>.jsonl plus a `lock` file the live writer holds
with flock. The kernel drops the lock when the process dies (kill -9 included), which is
how a later writer knows a folder is orphaned and safe to convert. Each line is one event
row as JSON, written with a single O_APPEND write: once it returns the row is in the page
cache and survives the process.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SEGMENT_SUFFIX = ".jsonl"
LOCK_NAME = "lock"
META_NAME = "meta.json"


def segment_name(seq: int) -> str:
    return f"{seq:08d}{SEGMENT_SUFFIX}"


def segment_seq(path: Path) -> int:
    return int(path.name.removesuffix(SEGMENT_SUFFIX))


def list_segments(folder: Path) -> list[Path]:
    try:
        names = [p for p in folder.iterdir() if p.name.endswith(SEGMENT_SUFFIX)]
    except FileNotFoundError:
        return []
    return sorted(names, key=segment_seq)


def read_segment(path: Path) -> bytes:
    """The complete lines of a segment; a torn last line (crash mid-write) is left out."""
    data = path.read_bytes()
    end = data.rfind(b"\n")
    return data[: end + 1] if end >= 0 else b""


def valid_lines(data: bytes) -> bytes:
    """Keep only lines that parse as JSON objects (a failed write can leave a fragment)."""
    kept = []
    for line in data.splitlines():
        try:
            if isinstance(json.loads(line), dict):
                kept.append(line)
        except ValueError:
            continue
    return b"\n".join(kept) + b"\n" if kept else b""


def read_meta(folder: Path) -> dict[str, object]:
    try:
        meta = json.loads((folder / META_NAME).read_text())
    except (OSError, ValueError):
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    meta.setdefault("writer_id", folder.name)
    return meta


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on `path`, or None if another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class SpoolSegments:
    """The live writer's own spool folder: append on any thread, rotate from the writer."""

    def __init__(self, folder: Path, meta: dict[str, object]) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        lock_fd = _try_lock(folder / LOCK_NAME)
        if lock_fd is None:
            raise RuntimeError(f"spool folder {folder} is held by another writer")
        self._lock_fd = lock_fd
        # What every row of this folder shares (writer id, privacy level, versions): written
        # once here instead of on every line, and read back by whoever converts the folder.
        tmp = folder / f".{META_NAME}.tmp"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, folder / META_NAME)
        existing = list_segments(folder)
        self._seq = segment_seq(existing[-1]) + 1 if existing else 1
        self._mutex = threading.Lock()
        self._fd = self._open(self._seq)
        self.rows_in_segment = 0

    def _open(self, seq: int) -> int:
        return os.open(
            self.folder / segment_name(seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
        )

    def append(self, line: bytes) -> int:
        """Append one line; returns the rows now in the current segment."""
        with self._mutex:
            os.write(self._fd, line)
            self.rows_in_segment += 1
            return self.rows_in_segment

    def rotate(self) -> None:
        """Close the current segment (if it has rows) and start the next one."""
        with self._mutex:
            if self.rows_in_segment == 0:
                return
            new_fd = self._open(self._seq + 1)
            old_fd, self._fd = self._fd, new_fd
            self._seq += 1
            self.rows_in_segment = 0
        os.close(old_fd)

    @property
    def current_seq(self) -> int:
        return self._seq

    def closed_segments(self) -> list[Path]:
        """Segments before the current one, oldest first: ready to convert."""
        return [p for p in list_segments(self.folder) if segment_seq(p) < self._seq]

    def close(self) -> None:
        with self._mutex:
            os.close(self._fd)
            empty = self.rows_in_segment == 0
        if empty:
            (self.folder / segment_name(self._seq)).unlink(missing_ok=True)
        os.close(self._lock_fd)


@contextmanager
def orphaned_folder(folder: Path) -> Iterator[bool]:
    """Yield True while holding the lock of a folder whose writer is gone."""
    try:
        fd = _try_lock(folder / LOCK_NAME)
    except OSError:
        yield False
        return
    if fd is None:
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)


def writer_folders(spool_dir: Path) -> list[Path]:
    try:
        return sorted(p for p in spool_dir.iterdir() if p.is_dir())
    except FileNotFoundError:
        return []
