"""The per-process event writer: spool on the caller's thread, Parquet from a child.

`submit()` is the only thing the hot path calls: one JSON encode and one copy into the
memory-mapped spool (spool.py). The writer thread wakes every LLMSTATS_FLUSH_SECONDS (or
at LLMSTATS_FLUSH_ROWS), closes the spool file, waits for the segmenter to count its prompts,
and hands the closed spool files to a converter child process (conversion_round.py), which also
recovers spools of dead processes once a minute and runs retention once a day. When the
spool cannot be written, rows wait in bounded memory and are counted when dropped; the
caller never sees an exception from here.

This module imports nothing heavy: the proxy process never loads pyarrow because of it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import conversion_round
from .accounts import MEMORY_FULL, Books, add_drops
from .atomic import write_atomically
from .config import Settings
from .conversion_round import RECOVERY_STEP
from .heartbeat import remove_fallbacks, write_fallback
from .segmenter import Segmenter
from .spool import SpoolFiles, orphaned_folder, writer_folders
from .spool_line import encode_line
from .versions import SCHEMA_VERSION, package_version

log = logging.getLogger("llmstats")

WARN_INTERVAL_SECONDS = 60.0
RECOVERY_INTERVAL_SECONDS = 60.0
HEARTBEAT_INTERVAL_SECONDS = 30.0
RETENTION_INTERVAL_SECONDS = 86_400.0
CONVERTER_TIMEOUT_SECONDS = 600.0


def new_writer_id() -> str:
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass
class WriterStats:
    spooled: int = 0  # lines the callback handed over (see accounts.py for every count)
    written: int = 0
    dropped: int = 0  # all reasons: accounts.DROP_REASONS
    held: int = 0  # in memory (the heartbeat's `held` adds the spool and carried markers)
    recovered: int = 0
    files: int = 0
    last_flush: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    extra: dict[str, int] = field(default_factory=dict)


def _python_executable() -> bool:
    """Whether `sys.executable` runs Python (an embedding server's binary would not)."""
    return os.path.basename(sys.executable or "").lower().startswith(("python", "pypy"))


class ConverterFailed(OSError):
    """A converter round did not finish; what it did not convert stays in the spool.

    An OSError: what fails there is nearly always the data dir (a full disk, a missing
    bucket), and the CLI turns an OSError into its one-line message (`llmstats recover`).
    `partial`: the child's last report, what the round did before it died (or None)."""

    def __init__(self, message: str, partial: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.partial = partial


def _last_report(lines: list[str]) -> dict[str, Any] | None:
    """The converter child reports the round so far after each spool file (converter.main)."""
    for line in reversed(lines):
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict):
            return report
    return None


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
        self.folder = settings.spool_dir / self.writer_id
        self.stats = WriterStats()
        self.books = Books()
        # Always there: with segments off it only counts tool calls (no tokenizer).
        self.segmenter = Segmenter(self.folder, tokenize=settings.segments)
        self._held: deque[bytes] = deque()
        self._recovered_dropped: dict[str, int] = {}
        self._spool: SpoolFiles | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._flushed = threading.Condition()
        self._flush_requested = 0  # flush() calls so far
        self._flush_served = 0  # requests covered by a completed writer round
        self._flush_seconds = settings.flush_seconds
        self._last_warning = 0.0
        self._warned_dropped = 0  # the drop count the last warning reported
        self._last_heartbeat = 0.0
        self._heartbeat_fallback: Path | None = None  # where it went while the data dir refused it
        self._remote_heartbeat_failed = False
        self.before_round: list[Callable[[], None]] = []
        """Run on the writer thread at the start of every round (the callback's retry of a
        secret it could not have at start): never on the caller's thread."""
        self._next_recovery = 0.0  # the first round recovers
        self._next_retention = 0.0  # first run in the first round, then once a day
        self._thread: threading.Thread | None = None
        self._closed = False
        self._shutting_down = False  # SIGTERM's drain: prompts left are estimated
        # Shutting down, configured so, or no child to be had: convert in this process.
        self._in_process = settings.converter == "inline" or not _python_executable()
        self._open_spool()

    # ---- hot path ---------------------------------------------------------------

    def submit(self, row: dict[str, Any], prompt: object = None) -> None:
        """Spool one row; `prompt`, what the segmenter needs for it (queued with the line)."""
        self.submit_line(encode_line(row), prompt)

    def submit_line(self, line: bytes, prompt: object = None) -> None:
        """Spool one encoded row (see `submit`)."""
        spool = self._spool
        if spool is not None and not self._held:
            try:
                rows = spool.append(line, prompt)
            except OSError as exc:
                self._hold(line, exc, prompt)
                return
            self.stats.spooled += 1
            if self._closed:
                self._flush_late_event()
            elif rows >= self.settings.flush_rows:
                self._wake.set()
            return
        self._hold(line, None, prompt)

    def _flush_late_event(self) -> None:
        """After close() there is no writer thread: convert right away, or the event
        would wait in the spool for the next process."""
        try:
            self._flush_once()
        except Exception as exc:  # the spool still holds it; the next writer recovers it
            self.record_error(exc)

    def _hold(self, line: bytes, exc: OSError | None, prompt: object) -> None:
        if prompt is not None and self.segmenter is not None:
            self.segmenter.stats.skipped += 1  # a held row has no offset to count against
        self.stats.spooled += 1
        if len(self._held) >= self.settings.max_pending_rows:
            self.books.dropped[MEMORY_FULL] += 1
            self.stats.dropped += 1
            self._warn("event dropped: spool unavailable and memory buffer full", exc)
            return
        self._held.append(line)
        self.books.held_ever += 1
        self.stats.held = len(self._held)
        if exc is not None:
            self.record_error(exc)
            self._warn("spool write failed; holding events in memory", exc)
        self._wake.set()

    # ---- lifecycle --------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        if self.segmenter is not None:
            self.segmenter.start()
        self._thread = threading.Thread(target=self._run, name="llmstats-writer", daemon=True)
        self._thread.start()

    def drain_mode(self) -> None:
        """Shutdown has begun: flush promptly from now on, while the process still lives."""
        self._flush_seconds = min(self._flush_seconds, 0.2)
        self._in_process = self._shutting_down = True
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
        if self.segmenter is not None:
            self.segmenter.stop()
        self._closed = True
        # LiteLLM may deliver callbacks from its own exit handler after this one ran:
        # from here on, submit() converts each late event itself, in this process.
        try:
            self._flush_once()
        finally:
            self._in_process = True
            self._report_final_drops()

    def _report_final_drops(self) -> None:
        """Drops the throttled warnings have not reported yet are said at the end."""
        if self.stats.dropped > self._warned_dropped:
            log.warning(
                "llmstats: %d events dropped in all (%d since the last warning)",
                self.stats.dropped,
                self.stats.dropped - self._warned_dropped,
            )
            self._warned_dropped = self.stats.dropped

    def abandon(self) -> None:
        """In a forked child: let go of the parent's spool without touching its files or
        locks (the parent's threads may have held them at the fork)."""
        self._closed = True
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.abandon()

    def recover_orphans(self) -> int:
        """Convert spools left by dead writers now; returns the spool files converted."""
        with self._flush_lock:
            result = self._convert(None, recover=True, retention=False)
        return int(result.get("recovered_files", 0))

    # ---- writer thread ----------------------------------------------------------

    def _run(self) -> None:
        # The first round recovers spools of processes that died (a crashed proxy being
        # restarted), so their rows appear without waiting for a flush interval.
        first = True
        while True:
            if not first:
                self._wake.wait(self._flush_seconds)
            first = False
            self._wake.clear()
            stopping = self._stop.is_set()
            with self._flushed:
                serving = self._flush_requested  # every request made before this round
            try:
                self._flush_once()
            except Exception as exc:  # the thread must outlive any single failure
                self.record_error(exc)
                self._warn("writer round failed", exc)
            with self._flushed:
                self._flush_served = serving
                self._flushed.notify_all()
            if stopping:
                return

    def _flush_once(self) -> None:
        """One round: close the spool file, wait for its counts, convert what is closed."""
        with self._flush_lock:
            self._run_round_hooks()
            try:
                self._retry_spool()
                spool = self._spool
                through = None
                if spool is not None:
                    spool.rotate()
                    if spool.closed_files():
                        through = spool.current_seq - 1
                        if self.segmenter is not None:
                            self.segmenter.drain(through_seq=through, estimate=self._shutting_down)
                now = time.monotonic()
                recover = now >= self._next_recovery and self._orphans_waiting()
                retention = bool(self.settings.retention_days) and now >= self._next_retention
                if now >= self._next_recovery:
                    self._next_recovery = now + RECOVERY_INTERVAL_SECONDS
                if retention:
                    self._next_retention = now + RETENTION_INTERVAL_SECONDS
                if through is not None or recover or retention:
                    self._convert(through, recover=recover, retention=retention)
            finally:
                # Above all when the round failed: a full data dir is when drops happen.
                self._heartbeat(force=True)

    def _run_round_hooks(self) -> None:
        for hook in list(self.before_round):
            try:
                hook()
            except Exception as exc:  # a hook's failure must not stop the round
                self.record_error(exc)

    def _convert(self, through: int | None, *, recover: bool, retention: bool) -> dict[str, Any]:
        remote = self.settings.is_remote
        request = conversion_round.Request(
            settings=conversion_round.settings_fields(self.settings),
            writer_id=self.writer_id,
            constants=self.constants,
            convert_through=through,
            recover=recover,
            retention=retention,
            heartbeat=self.heartbeat_document() if remote else None,
        )
        try:
            result = self._run_converter(request)
        except ConverterFailed as died:
            # The child's round did not finish: its heartbeat did not reach the bucket.
            self._remote_heartbeat_failed = request.heartbeat is not None
            if died.partial is not None:  # what the round did before it died
                self._book(died.partial)
            raise
        self._book(result)
        s = self.stats
        if result.get("last_flush"):
            s.last_flush = float(result["last_flush"])
        if result.get("peak_rss_kb"):
            peak = max(int(result["peak_rss_kb"]), s.extra.get("converter_peak_rss_kb", 0))
            s.extra["converter_peak_rss_kb"] = peak
        if request.heartbeat is not None:
            self._remote_heartbeat_failed = "heartbeat write" in (result.get("failed") or [])
        errors = result.get("errors") or []
        if errors:
            self.stats.last_error, self.stats.last_error_at = str(errors[-1]), time.time()
            failed = ", ".join(result.get("failed") or ["converter round"])
            self._warn(f"{failed} failed: {errors[-1]}", None)
            # Rows that stayed in a spool are the caller's business (flush, recover); a
            # heartbeat that did not reach object storage is only worth the warning.
            if set(result.get("failed") or []) & {"converting the spool", RECOVERY_STEP}:
                raise ConverterFailed(str(errors[-1]))
        return result

    def _book(self, result: dict[str, Any]) -> None:
        """A round's counts into the stats and the books (accounts.py)."""
        s = self.stats
        s.written += int(result.get("written", 0))
        s.recovered += int(result.get("recovered", 0))
        s.files += int(result.get("files", 0))
        self.books.settle(result)
        s.dropped = sum(self.books.dropped.values())
        for counted in ("marker_rows", "duplicates"):
            if result.get(counted):
                s.extra[counted] = s.extra.get(counted, 0) + int(result[counted])
        if result.get("recovered_dropped"):
            add_drops(self._recovered_dropped, result["recovered_dropped"])

    def _run_converter(self, request: conversion_round.Request) -> dict[str, Any]:
        payload = json.dumps(asdict(request)).encode()
        if not self._in_process:
            # The child inherits the spool folder's lock: while it works, the folder is
            # held even if this process dies, so no recovering writer converts it too.
            spool = self._spool
            try:
                answer = subprocess.run(
                    [sys.executable, "-m", "llmstats.plugin.conversion_round"],
                    input=payload,
                    capture_output=True,
                    timeout=CONVERTER_TIMEOUT_SECONDS,
                    check=False,
                    pass_fds=(spool.lock_fd,) if spool is not None else (),
                )
            except (OSError, subprocess.SubprocessError) as exc:
                # No child to be had (an embedded interpreter, a process limit): keep
                # capturing, at the price of converting in this process from now on.
                self.record_error(exc)
                self._warn("cannot start the converter; converting in-process", exc)
                self._in_process = True
            else:
                lines = answer.stdout.decode(errors="replace").strip().splitlines()
                if answer.returncode == 0 and lines:
                    return dict(json.loads(lines[-1]))
                tail = answer.stderr.decode(errors="replace").strip().splitlines()[-1:]
                raise ConverterFailed(
                    f"converter exited with {answer.returncode}: {' '.join(tail)[:200]}",
                    partial=_last_report(lines),
                )
        return asdict(conversion_round.run(conversion_round.Request(**json.loads(payload))))

    def _orphans_waiting(self) -> bool:
        """Is there a spool folder no live writer holds? (A child is started only then.)"""
        for folder in writer_folders(self.settings.spool_dir):
            if folder.name != self.writer_id:
                with orphaned_folder(folder) as orphaned:
                    if orphaned:
                        return True
        return False

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
                self.record_error(exc)
                return
            self._held.popleft()
            self.books.retried += 1
        self.stats.held = 0

    def _open_spool(self) -> None:
        incoming = self.segmenter.incoming if self.segmenter is not None else None
        try:
            self._spool = SpoolFiles(self.folder, self.constants, incoming)
        except OSError as exc:
            self._spool = None
            self.record_error(exc)
            self._warn("cannot open the spool; holding events in memory", exc)

    # ---- health -----------------------------------------------------------------

    def record_error(self, exc: BaseException) -> None:
        # Our own I/O errors only (paths, errno): never a LiteLLM error string.
        self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
        self.stats.last_error_at = time.time()

    def _warn(self, message: str, exc: BaseException | None) -> None:
        """One warning a minute at most, with one exception: the first drop is said at
        once, even right after another warning (which would otherwise have been the only
        one of the minute, saying "dropped so far: 0" while thousands went)."""
        now = time.monotonic()
        dropped = self.stats.dropped
        first_drop = dropped > 0 and self._warned_dropped == 0
        if now - self._last_warning < WARN_INTERVAL_SECONDS and not first_drop:
            return
        self._last_warning = now
        self._warned_dropped = dropped
        detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        log.warning("llmstats: %s%s [dropped so far: %d]", message, detail, dropped)

    def heartbeat_document(self) -> dict[str, Any]:
        s = self.stats
        spool = self._spool
        books = self.books.snapshot(spool.appended if spool is not None else 0, s.written)
        return {
            "writer_id": self.writer_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "updated_at": time.time(),
            **books,
            "recovered": s.recovered,
            "recovered_dropped_by_reason": dict(self._recovered_dropped),
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
        """The local heartbeat file (object storage: the converter writes it), or a
        fallback (heartbeat.py) while the data dir cannot take it."""
        local = self.settings.local_data_dir
        now = time.monotonic()
        if not force and now - self._last_heartbeat < HEARTBEAT_INTERVAL_SECONDS:
            return
        if local is None and not self._remote_heartbeat_failed:
            self._drop_heartbeat_fallback()
            return
        self._last_heartbeat = now
        body = json.dumps(self.heartbeat_document(), indent=1).encode()
        if local is not None:
            target = local / "writers" / f"{self.writer_id}.json"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                write_atomically(target, body)
            except OSError as exc:
                self.record_error(exc)
                self._warn("heartbeat write failed", exc)
            else:
                self._drop_heartbeat_fallback()
                return
        try:
            fallback = write_fallback(self.settings, self.writer_id, body)
        except OSError as exc:
            self.record_error(exc)
            return
        if fallback != self._heartbeat_fallback:
            self._heartbeat_fallback = fallback
            log.warning("llmstats: the data dir refuses the heartbeat; it is in %s", fallback)

    def _drop_heartbeat_fallback(self) -> None:
        if self._heartbeat_fallback is not None:
            remove_fallbacks(self.settings, self.writer_id)
            self._heartbeat_fallback = None
