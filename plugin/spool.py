"""The local write-ahead spool: append-only files, one folder per writer.

Layout of `<spool_dir>/<writer_id>/`:
- `NNNNNNNN.jsonl`: spool file N, one event row per line (JSON), appended by the callback;
- `NNNNNNNN.counts`: the prompt-segment counts of spool file N's events (segmenter.py);
- `NNNNNNNN.carry`: response markers still waiting for their event after spool file N was
  converted (conversion_round.py); read with the next spool file;
- `lock`, held with flock by the live writer. The kernel drops the lock when the process
  dies (kill -9 included), which is how a later writer knows a folder is orphaned and safe
  to convert; `meta.json`, what every row of the folder shares.

The callback appends into a memory-mapped window of the current spool file: a copy into the
page cache with no system call, so LiteLLM's event loop neither waits in the kernel nor
lets go of the GIL in the middle of a call (another thread would then hold it until its
next pause). The copy is in the page cache as soon as it is made and survives a kill -9 of
the process; disk blocks for a window are reserved before it is mapped, so a full disk is
an OSError there and never a SIGBUS later. A spool file is cut to its written length when it
is closed; a dead writer's last spool file ends in zero bytes instead, which readers stop at.

Once a spool file has its first window, a thread of the spool's own gets the next one ready
before the callback needs it: blocks reserved, window mapped, and its pages faulted in,
writable (`madvise(MADV_POPULATE_WRITE)` through ctypes, which lets go of the GIL). The
first copy into a page that is not mapped yet costs a page fault of about 4 µs here, one
every three or four events; into a page faulted in ahead, 0.04 µs
(`benchmarks/bench_spool_pages.py`, RESULTS.md). A spool file's first window is left to the
first append, so an idle process maps nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import mmap
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from .atomic import write_atomically

SPOOL_FILE_SUFFIX = ".jsonl"
COUNTS_SUFFIX = ".counts"
CARRY_SUFFIX = ".carry"
LOCK_NAME = "lock"
META_NAME = "meta.json"

WINDOW_BYTES = 1 << 20  # mapped (and resident) at a time: about 900 events
READ_CHUNK_BYTES = 4 << 20  # what readers hold of a spool file at a time

Prompt = tuple[int, int, Any]
"""(spool file seq, offset of the event's line, what the segmenter needs): see segmenter.py"""


def spool_file_name(seq: int) -> str:
    return f"{seq:08d}{SPOOL_FILE_SUFFIX}"


def file_seq(path: Path) -> int:
    return int(path.name.split(".", 1)[0])




def counts_path(spool_file: Path) -> Path:
    return spool_file.with_suffix(COUNTS_SUFFIX)


def carry_path(folder: Path, seq: int) -> Path:
    return folder / f"{seq:08d}{CARRY_SUFFIX}"


def _listing(folder: Path, suffix: str) -> list[Path]:
    try:
        names = [p for p in folder.iterdir() if p.name.endswith(suffix) and p.name[0] != "."]
    except FileNotFoundError:
        return []
    return sorted(names, key=file_seq)


def list_spool_files(folder: Path) -> list[Path]:
    return _listing(folder, SPOOL_FILE_SUFFIX)


def list_carries(folder: Path) -> list[Path]:
    return _listing(folder, CARRY_SUFFIX)


def list_counts(folder: Path) -> list[Path]:
    return _listing(folder, COUNTS_SUFFIX)


def spool_chunks(path: Path, chunk_bytes: int = READ_CHUNK_BYTES) -> Iterator[tuple[int, bytes]]:
    """(offset, complete lines) of a spool file, in order, about `chunk_bytes` at a time.

    Reading stops at the first zero byte (the unused, reserved end of a dead writer's
    spool file) and leaves out a torn last line (a crash mid-write)."""
    offset = 0
    rest = b""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        while True:
            block = handle.read(chunk_bytes)
            if not block:
                return
            zero = block.find(0)
            if zero >= 0:
                block = block[:zero]
            data = rest + block if rest else block
            end = data.rfind(b"\n") + 1
            if end:
                yield offset, data if end == len(data) else data[:end]
                offset += end
            rest = data[end:]
            if zero >= 0:
                return


def read_spool_file(path: Path) -> bytes:
    """Every complete line of a spool file at once (small files and tests)."""
    return b"".join(data for _, data in spool_chunks(path))


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


def _reserve(fd: int, start: int, length: int) -> None:
    """Allocate disk blocks for [start, start + length) of the file, extending it: a full
    disk must fail here, with an OSError, not later in a copy into the mapping."""
    try:
        os.posix_fallocate(fd, start, length)
        return
    except AttributeError:  # no posix_fallocate (macOS)
        pass
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
            raise  # ENOSPC, EFBIG, EIO: the caller holds the row
    # A file system without fallocate: write zeros past the end of the file, which
    # allocates the blocks too (what is before the end was reserved already, and written).
    end = start + length
    offset = max(start, os.fstat(fd).st_size)
    zeros = bytes(min(length, 1 << 20))
    while offset < end:
        offset += os.pwrite(fd, zeros[: end - offset], offset)


MADV_POPULATE_WRITE = 23  # Linux 5.14: fault a range in, writable, without writing to it


def _libc_madvise() -> Callable[[int, int, int], int] | None:
    """libc's madvise through ctypes, which lets go of the GIL for the call (the mmap
    module's own madvise holds it, and the event loop would wait for the whole range)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    return madvise


_madvise = _libc_madvise()


def _populate(window: mmap.mmap) -> bool:
    """Fault every page of `window` in, writable, now, so that copies into it take no page
    fault. Best effort: an older kernel refuses (EINVAL, False), and copies fault as before."""
    if _madvise is None:
        return False
    anchor = ctypes.c_char.from_buffer(window)
    address = ctypes.addressof(anchor)
    del anchor  # an exported buffer would keep the window from being closed
    return _madvise(address, len(window), MADV_POPULATE_WRITE) == 0


class _Window(NamedTuple):
    """A mapped window of the current spool file, covering file offsets [start, end). A
    rotation discards it (`_finish`), so it never outlives its spool file."""

    start: int
    end: int
    map: mmap.mmap


class SpoolFiles:
    """The live writer's own spool folder: append on any thread, rotate from the writer.

    `prompts`, when given, receives `(seq, offset, prompt)` for each line appended with a
    prompt, under the same lock as the append: once `rotate()` has returned, every prompt of
    a closed spool file's events is in it (the writer relies on that to wait for their counts).
    """

    def __init__(
        self, folder: Path, meta: dict[str, object], prompts: deque[Prompt] | None = None
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        lock_fd = _try_lock(folder / LOCK_NAME)
        if lock_fd is None:
            raise RuntimeError(f"spool folder {folder} is held by another writer")
        self._lock_fd = lock_fd
        self.prompts = prompts
        # What every row of this folder shares (writer id, privacy level, versions): written
        # once here instead of on every line, and read back by whoever converts the folder.
        write_atomically(folder / META_NAME, json.dumps(meta).encode())
        existing = list_spool_files(folder)
        self._seq = file_seq(existing[-1]) + 1 if existing else 1
        self._mutex = threading.Lock()
        self._fd = self._open(self._seq)
        self._map: mmap.mmap | None = None
        self._map_start = 0  # file offsets covered by the mapping: [start, end)
        self._map_end = 0
        self._pos = 0  # where the next line goes
        self.rows_in_file = 0
        self.appended = 0  # lines taken, ever (the writer's books: accounts.py)
        # The next window, made ready by the preparing thread; while it works on the
        # spool file's file (`_filling`), nobody else reserves, maps or closes it.
        self._ready: _Window | None = None
        self._filling = False
        self._filled = threading.Condition(self._mutex)
        self._wanted = threading.Event()
        self._stopping = False
        threading.Thread(target=self._prepare_windows, name="llmstats-spool", daemon=True).start()

    def _open(self, seq: int) -> int:
        return os.open(self.folder / spool_file_name(seq), os.O_RDWR | os.O_CREAT, 0o600)

    def append(self, line: bytes, prompt: object = None) -> int:
        """Append one line; returns the rows now in the current spool file."""
        with self._mutex:
            if self._pos + len(line) > self._map_end:
                # It can wait for the preparing thread, letting go of the mutex, and a
                # rotation can come in between: where the line goes is known only after.
                self._next_window(len(line))
            pos = self._pos
            end = pos + len(line)
            start = pos - self._map_start
            self._map[start : start + len(line)] = line  # type: ignore[index]
            self._pos = end
            if prompt is not None and self.prompts is not None:
                self.prompts.append((self._seq, pos, prompt))
            self.rows_in_file += 1
            self.appended += 1
            return self.rows_in_file

    def _next_window(self, size: int) -> None:
        """Under the mutex: move to a window that holds the next `size` bytes whole."""
        while True:
            ready, self._ready = self._ready, None
            if ready is not None:
                if ready.start <= self._pos <= ready.end - size:
                    self._use(ready.map, ready.start, ready.end)
                    break
                ready.map.close()
            if not self._filling:
                self._map_window(size)
                break
            # The preparing thread is reserving this range: wait (rare, and short).
            self._filled.wait()
        self._wanted.set()

    def _map_window(self, size: int) -> None:
        """Map a new window that starts at the page of the next line and holds it whole.
        Nothing is written before this succeeds, so a failure leaves no partial line."""
        page = mmap.ALLOCATIONGRANULARITY
        start = self._pos - self._pos % page
        length = max(WINDOW_BYTES, -(-(self._pos + size - start) // page) * page)
        _reserve(self._fd, start, length)
        self._use(mmap.mmap(self._fd, length, offset=start), start, start + length)

    def _use(self, window: mmap.mmap, start: int, end: int) -> None:
        old, self._map = self._map, window
        self._map_start, self._map_end = start, end
        if old is not None:
            old.close()

    # ---- the preparing thread ---------------------------------------------------

    def _prepare_windows(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            # Whatever fails here (a full disk) is left to the next append, which maps the
            # window itself and holds its row if it must; this thread must outlive it.
            with contextlib.suppress(Exception):
                self._prepare_next()

    def _prepare_next(self) -> None:
        """Reserve, map and fault in the window after the current one, outside the mutex."""
        page = mmap.ALLOCATIONGRANULARITY
        with self._mutex:
            # A spool file's first window is the first append's (an idle process maps nothing).
            if self._ready is not None or self._stopping or self._map is None:
                return
            fd, after = self._fd, self._map_end
            # It overlaps the current window by a page: a line that starts in the current
            # window's last page is then in the next one whole. A rotation waits for
            # `_filling`, so `fd` stays this spool file's until the window is published.
            start = after - page
            self._filling = True
        window = None
        try:
            _reserve(fd, start, WINDOW_BYTES)
            window = mmap.mmap(fd, WINDOW_BYTES, offset=start)
            _populate(window)
        finally:
            with self._mutex:
                self._filling = False
                self._filled.notify_all()
                if window is not None and self._map_end == after and self._ready is None:
                    self._ready, window = _Window(start, start + WINDOW_BYTES, window), None
            if window is not None:
                window.close()

    def _finish(self) -> None:
        """Under the mutex: unmap the current spool file and cut it to what was written."""
        while self._filling:
            self._filled.wait()
        ready, self._ready = self._ready, None
        if ready is not None:
            ready.map.close()
        if self._map is not None:
            self._map.close()
            self._map = None
            os.ftruncate(self._fd, self._pos)
        os.close(self._fd)
        self._map_start = self._map_end = self._pos = 0

    def rotate(self) -> None:
        """Close the current spool file (if it has rows) and start the next one."""
        with self._mutex:
            if self.rows_in_file == 0:
                return
            self._finish()
            self._seq += 1
            self._fd = self._open(self._seq)
            self.rows_in_file = 0

    @property
    def current_seq(self) -> int:
        return self._seq

    @property
    def lock_fd(self) -> int:
        """The descriptor holding the folder's flock (a child that inherits it holds it too)."""
        return self._lock_fd

    def closed_files(self) -> list[Path]:
        """Spool files before the current one, oldest first: ready to convert."""
        return [p for p in list_spool_files(self.folder) if file_seq(p) < self._seq]

    def close(self) -> None:
        with self._mutex:
            self._stopping = True
            self._finish()
            empty = self.rows_in_file == 0
        self._wanted.set()
        if empty:
            (self.folder / spool_file_name(self._seq)).unlink(missing_ok=True)
        os.close(self._lock_fd)


    def abandon(self) -> None:
        """A forked child's copy: close it without a lock (a parent thread may have held the
        mutex at the fork) and without cutting the file, which the parent still writes.
        Closing the child's copy of the lock file keeps the parent's lock."""
        self._stopping = True
        self._wanted.set()
        ready, self._ready = self._ready, None
        for window in (self._map, ready.map if ready is not None else None):
            if window is not None:
                window.close()
        self._map = None
        for fd in (self._fd, self._lock_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


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
    """Every writer's folder; dot names (the heartbeat fallback, heartbeat.py) are not."""
    try:
        return sorted(p for p in spool_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    except FileNotFoundError:
        return []
