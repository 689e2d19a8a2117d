"""The per-process event writer: spool on the caller's thread, Parquet on its own thread.

`submit()` is the only thing the hot path calls: one JSON encode and one O_APPEND write.
Everything heavy (parsing, Parquet encoding, fsync, uploads, recovery of spools left by
dead processes, heartbeats) happens on the writer thread. When the spool cannot be
written, rows wait in bounded memory and are counted when dropped; the caller never sees
an exception from here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .config import Settings
from .convert import event_tables, parse_segment, split_markers, unsettled_markers
from .response_marker import CAPTURE_MARKER
from .schema import SCHEMA_VERSION, SEGMENT_TYPE
from .segmenter import Segmenter
from .sink import Sink
from .spool import (
    LOCK_NAME,
    META_NAME,
    SpoolSegments,
    list_segments,
    orphaned_folder,
    read_meta,
    read_segment,
    segment_seq,
    writer_folders,
)
from .spool_line import encode_line

log = logging.getLogger("llmstats")

WARN_INTERVAL_SECONDS = 60.0
RECOVERY_INTERVAL_SECONDS = 60.0
HEARTBEAT_INTERVAL_SECONDS = 30.0
# How long a response marker waits for the callback's event before it becomes the row:
# LiteLLM's logging queue can lag far behind under load, and a row counted twice is as
# wrong as a row lost, so this is generous.
MARKER_PATIENCE_SECONDS = 600.0
RETENTION_INTERVAL_SECONDS = 86_400.0


def package_version() -> str:
    try:
        return metadata.version("llmstats")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def new_writer_id() -> str:
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


def parquet_name(writer_id: str, seq: int) -> str:
    return f"{writer_id}-{seq:08d}.parquet"


Carry = Callable[[list[bytes]], None]


def _appender(segment: Path) -> Carry:
    """Append lines to a dead writer's later segment (we hold its folder's lock)."""

    def append(lines: list[bytes]) -> None:
        fd = os.open(segment, os.O_RDWR | os.O_APPEND)
        try:
            size = os.fstat(fd).st_size
            # A torn last line (the writer died mid-write) must not swallow the first marker.
            torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
            os.write(fd, (b"\n" if torn else b"") + b"".join(lines))
        finally:
            os.close(fd)

    return append


@dataclass
class WriterStats:
    spooled: int = 0
    written: int = 0
    dropped: int = 0
    held: int = 0
    recovered: int = 0
    files: int = 0
    last_flush: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    extra: dict[str, int] = field(default_factory=dict)


class EventWriter:
    def __init__(self, settings: Settings, writer_id: str | None = None) -> None:
        self.settings = settings
        self.writer_id = writer_id or new_writer_id()
        self.constants: dict[str, object] = {
            "writer_id": self.writer_id,
            "privacy_level": settings.privacy,
            "schema_version": SCHEMA_VERSION,
            "llmstats_version": package_version(),
        }
        self.stats = WriterStats()
        self.segmenter: Segmenter | None = None
        self.sink = Sink(settings.data_dir)
        self._held: deque[bytes] = deque()
        self._spool: SpoolSegments | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._flushed = threading.Condition()
        self._flush_requested = 0  # flush() calls so far
        self._flush_served = 0  # requests covered by a completed writer round
        self._flush_seconds = settings.flush_seconds
        self._last_warning = 0.0
        self._last_heartbeat = 0.0
        self._next_recovery = 0.0
        self._next_retention = 0.0  # first run in the first round, then once a day
        self._thread: threading.Thread | None = None
        self._closed = False
        self._open_spool()

    # ---- hot path ---------------------------------------------------------------

    def submit(self, row: dict[str, Any]) -> None:
        line = encode_line(row)
        spool = self._spool
        if spool is not None and not self._held:
            try:
                rows = spool.append(line)
            except OSError as exc:
                self._hold(line, exc)
                return
            self.stats.spooled += 1
            if self._closed:
                self._flush_late_event()
            elif rows >= self.settings.flush_rows:
                self._wake.set()
            return
        self._hold(line, None)

    def _flush_late_event(self) -> None:
        """After close() there is no writer thread: convert right away, or the event
        would wait in the spool for the next process."""
        try:
            self._flush_once()
        except Exception as exc:  # the spool still holds it; the next writer recovers it
            self._record_error(exc)

    def _hold(self, line: bytes, exc: OSError | None) -> None:
        if len(self._held) >= self.settings.max_pending_rows:
            self.stats.dropped += 1
            self._warn("event dropped: spool unavailable and memory buffer full", exc)
            return
        self._held.append(line)
        self.stats.held = len(self._held)
        if exc is not None:
            self._record_error(exc)
            self._warn("spool write failed; holding events in memory", exc)
        self._wake.set()

    # ---- lifecycle --------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="llmstats-writer", daemon=True)
        self._thread.start()

    def drain_mode(self) -> None:
        """Shutdown has begun: flush promptly from now on, while the process still lives."""
        self._flush_seconds = min(self._flush_seconds, 0.2)
        self._wake.set()

    def flush(self, timeout: float = 30.0) -> bool:
        """Write everything spooled so far to Parquet; True when done within `timeout`."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._flush_once()
            return True
        with self._flushed:
            self._flush_requested += 1
            ticket = self._flush_requested
            self._wake.set()
            return self._flushed.wait_for(lambda: self._flush_served >= ticket, timeout)

    def close(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)
        self._closed = True
        # LiteLLM may deliver callbacks from its own exit handler after this one ran:
        # from here on, submit() converts each late event itself.
        self._flush_once()

    # ---- writer thread ----------------------------------------------------------

    def _run(self) -> None:
        # Spools left by processes that died (a crashed proxy being restarted) go first,
        # so their rows appear without waiting for a flush interval.
        try:
            self._next_recovery = time.monotonic() + RECOVERY_INTERVAL_SECONDS
            self.recover_orphans()
        except Exception as exc:
            self._record_error(exc)
            self._warn("recovering spools of dead writers failed", exc)
        while True:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            stopping = self._stop.is_set()
            with self._flushed:
                serving = self._flush_requested  # every request made before this round
            try:
                self._flush_once()
                if time.monotonic() >= self._next_recovery:
                    self._next_recovery = time.monotonic() + RECOVERY_INTERVAL_SECONDS
                    self.recover_orphans()
            except Exception as exc:  # the thread must outlive any single failure
                self._record_error(exc)
                self._warn("writer round failed", exc)
            self._apply_retention()
            with self._flushed:
                self._flush_served = serving
                self._flushed.notify_all()
            if stopping:
                return

    def _flush_once(self) -> None:
        with self._flush_lock:
            self._retry_spool()
            spool = self._spool
            if spool is not None:
                spool.rotate()
                converted = False
                for segment in spool.closed_segments():
                    self._convert(segment, self.constants, self._carry_into_spool)
                    converted = True
                if converted:
                    # Arrow's allocator keeps freed buffers for reuse; a proxy converts a
                    # minute of events at a time, so hand them back to the system instead.
                    pa.default_memory_pool().release_unused()
            self._heartbeat(force=True)

    def _retry_spool(self) -> None:
        if self._spool is None:
            self._open_spool()
        spool = self._spool
        if spool is None:
            return
        while self._held:
            line = self._held[0]
            try:
                spool.append(line)
            except OSError as exc:
                self._record_error(exc)
                return
            self._held.popleft()
            self.stats.spooled += 1
        self.stats.held = 0

    def _open_spool(self) -> None:
        try:
            self._spool = SpoolSegments(self.settings.spool_dir / self.writer_id, self.constants)
        except OSError as exc:
            self._spool = None
            self._record_error(exc)
            self._warn("cannot open the spool; holding events in memory", exc)

    def _convert(self, segment: Path, constants: dict[str, object], carry: Carry | None) -> None:
        """Segment → Parquet. Response markers no event has settled yet are handed to
        `carry` (appended to a later segment, so they stay on disk until settled); with
        no later segment (`carry` None: the last segment of a dead writer), or once they
        are older than MARKER_PATIENCE_SECONDS, they become rows themselves."""
        writer_id = str(constants["writer_id"])
        raw = parse_segment(read_segment(segment))
        events, markers = split_markers(raw, CAPTURE_MARKER)
        markers = unsettled_markers(markers, events)
        if markers.num_rows:
            if carry is not None:
                cutoff = int((time.time() - MARKER_PATIENCE_SECONDS) * 1_000_000)
                waiting = pc.fill_null(pc.greater(markers.column("end_ts"), cutoff), True)
                carry([encode_line(row) for row in markers.filter(waiting).to_pylist()])
                markers = markers.filter(pc.invert(waiting))
            self.stats.extra["marker_rows"] = (
                self.stats.extra.get("marker_rows", 0) + markers.num_rows
            )
            events = pa.concat_tables([events, markers])
        if self.segmenter is not None and writer_id == self.writer_id:
            events = self._with_segments(events)
        tables = event_tables(events, constants)
        name = parquet_name(writer_id, segment_seq(segment))
        for date, table in tables.items():
            self.sink.write_table(f"events/date={date}/{name}", table)
            self.stats.files += 1
            if writer_id == self.writer_id:
                self.stats.written += table.num_rows
            else:
                self.stats.recovered += table.num_rows
        segment.unlink()
        self.stats.last_flush = time.time()

    def recover_orphans(self) -> int:
        """Convert spools left by dead writers (exactly once: the names are deterministic)."""
        converted = 0
        for folder in writer_folders(self.settings.spool_dir):
            if folder.name == self.writer_id:
                continue
            with orphaned_folder(folder) as orphaned:
                if not orphaned:
                    continue
                constants = read_meta(folder)
                segments = list_segments(folder)
                for segment, following in zip(segments, [*segments[1:], None], strict=True):
                    carry = _appender(following) if following is not None else None
                    self._convert(segment, constants, carry)
                    converted += 1
                for leftover in (LOCK_NAME, META_NAME):
                    (folder / leftover).unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    folder.rmdir()
        return converted

    def _with_segments(self, events: pa.Table) -> pa.Table:
        """Fill `segments` from the segmenter's counts (rows it has none for stay null)."""
        assert self.segmenter is not None
        found = self.segmenter.take(events.column("event_id").to_pylist())
        segments = [
            None if hit is None else [{"role": r, "kind": k, "tokens": t} for r, k, t in hit[0]]
            for hit in found
        ]
        estimated = [None if hit is None else hit[1] for hit in found]
        events = events.set_column(
            events.schema.get_field_index("segments"),
            "segments",
            pa.array(segments, type=pa.list_(SEGMENT_TYPE)),
        )
        return events.set_column(
            events.schema.get_field_index("segments_estimated"),
            "segments_estimated",
            pa.array(estimated, type=pa.bool_()),
        )

    def _carry_into_spool(self, lines: list[bytes]) -> None:
        spool = self._spool
        if spool is None:  # cannot happen while converting our own segments
            raise OSError("spool closed while carrying response markers")
        for line in lines:
            spool.append(line)
    def _apply_retention(self) -> None:
        """LLMSTATS_RETENTION_DAYS: prune old partitions once a day; failures are recorded
        and retried the next day, never raised."""
        if not self.settings.retention_days or time.monotonic() < self._next_retention:
            return
        self._next_retention = time.monotonic() + RETENTION_INTERVAL_SECONDS
        try:
            from .retention import apply_retention

            apply_retention(self.settings, actor=f"writer {self.writer_id}")
        except Exception as exc:
            self._record_error(exc)
            self._warn("retention run failed", exc)

    # ---- health -----------------------------------------------------------------

    def _record_error(self, exc: BaseException) -> None:
        # Our own I/O errors only (paths, errno): never a LiteLLM error string.
        self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
        self.stats.last_error_at = time.time()

    def _warn(self, message: str, exc: BaseException | None) -> None:
        now = time.monotonic()
        if now - self._last_warning < WARN_INTERVAL_SECONDS:
            return
        self._last_warning = now
        detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        log.warning("llmstats: %s%s [dropped so far: %d]", message, detail, self.stats.dropped)

    def heartbeat_document(self) -> dict[str, Any]:
        s = self.stats
        return {
            "writer_id": self.writer_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "updated_at": time.time(),
            "spooled": s.spooled,
            "written": s.written,
            "recovered": s.recovered,
            "dropped": s.dropped,
            "held": len(self._held),
            "files": s.files,
            "last_flush": s.last_flush,
            "last_error": s.last_error,
            "last_error_at": s.last_error_at,
            "privacy": self.settings.privacy,
            **(self._segmenter_health()),
            "flush_seconds": self.settings.flush_seconds,
            **s.extra,
        }

    def _segmenter_health(self) -> dict[str, int]:
        if self.segmenter is None:
            return {}
        stats = self.segmenter.stats
        return {
            "segments_counted": stats.counted,
            "segments_estimated": stats.estimated,
            "segments_skipped": stats.skipped,
        }

    def _heartbeat(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_heartbeat < HEARTBEAT_INTERVAL_SECONDS:
            return
        self._last_heartbeat = now
        body = json.dumps(self.heartbeat_document(), indent=1).encode()
        try:
            self.sink.write_bytes(f"writers/{self.writer_id}.json", body)
        except OSError as exc:
            self._record_error(exc)
            self._warn("heartbeat write failed", exc)
