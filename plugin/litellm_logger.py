"""The LiteLLM callback: the fail-open boundary between LiteLLM and llmstats.

Every entry point catches everything and counts it: llmstats must never fail, slow or
lose a response. Below this module, code raises normally.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from . import shutdown
from .config import Settings, load_settings
from .errors import ConfigError
from .extract import extract_event
from .identity import Hasher, Withheld, load_or_create_secret
from .raw_row import raw_line
from .response_marker import extract_marker
from .row_extras import left_for_later
from .segmenter import MAX_INCOMING, Job
from .spool_line import encode_line
from .writer import EventWriter

log = logging.getLogger("llmstats")

SEGMENTED_CALL_TYPES = frozenset({"chat", "responses", "embedding"})


class LLMStatsLogger(CustomLogger):
    """Captures one metadata-only event per LiteLLM call attempt."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._writer: EventWriter | None = None
        # Replaced by the installation's secret in _setup; nothing is captured before.
        self._hasher: Hasher | Withheld = Withheld()
        self.config_error: str | None = None
        """Why capture is off: a setting llmstats cannot use (said once in the log)."""
        self._privacy = "standard"
        # Set once the writer is up; a forked child starts over (see _forked), which is
        # cheaper to test on every call than os.getpid(), a system call.
        self._ready = False
        self._init_lock = threading.Lock()
        self.errors = 0
        self._last_error_log = 0.0
        alive = weakref.WeakMethod(self._forked)
        os.register_at_fork(after_in_child=lambda: _call_if_alive(alive))

    # ---- setup (once per process; a forked worker gets its own writer) ----------

    def _ready_writer(self) -> EventWriter | None:
        if self._ready:
            return self._writer
        with self._init_lock:
            if not self._ready:
                self._setup()
        return self._writer

    def _setup(self) -> None:
        self._writer = None
        try:
            settings = self._settings or load_settings()
        except ConfigError as exc:
            self._refuse_settings(exc)
            return
        self._settings = settings
        self._privacy = settings.privacy
        if not settings.enabled:
            self._ready = True
            return
        # The writer first: whether a secret can be had must never decide whether events
        # are captured (a read-only or full data dir still spools, or holds, every event).
        writer = EventWriter(settings)
        self._hasher = self._installation_hasher(settings, writer)
        writer.start()
        shutdown.install(writer)
        self._writer = writer
        # Last: other threads skip the lock once this is set, so the writer must exist.
        self._ready = True

    def _refuse_settings(self, exc: ConfigError) -> None:
        """A setting llmstats cannot use: said once, in its own words (it names the setting
        and what it accepts, never a payload), and capture stays off in this process; the
        proxy serves as before. Retrying on every call would only repeat the same error."""
        self.config_error = str(exc)
        log.error("llmstats: %s (capture is off until it is fixed)", exc)
        self._ready = True

    def _installation_hasher(self, settings: Settings, writer: EventWriter) -> Hasher | Withheld:
        """The fleet's LLMSTATS_HASH_KEY, else the data dir's secret; while neither can be
        had, identifiers are withheld (null, counted) and the writer thread keeps trying."""
        if settings.hash_key:
            return Hasher(settings.hash_key.encode())
        folder = settings.local_data_dir or settings.spool_dir.parent
        try:
            return Hasher(load_or_create_secret(folder))
        except OSError as exc:
            withheld = Withheld()
            writer.record_error(exc)
            writer.before_round.append(lambda: self._retry_secret(folder, writer, withheld))
            log.warning(
                "llmstats: no secret for end-user hashes in %s (%s: %s): events are captured "
                "with end_user_hash empty (counted as hashes_withheld) until one can be made "
                "there; or set LLMSTATS_HASH_KEY",
                folder,
                type(exc).__name__,
                exc.strerror or exc,
            )
            return withheld

    def _retry_secret(self, folder: Path, writer: EventWriter, withheld: Withheld) -> None:
        """On the writer thread, every round, while identifiers are withheld."""
        writer.stats.extra["hashes_withheld"] = withheld.count
        if self._hasher is not withheld:
            return
        try:
            secret = load_or_create_secret(folder)
        except OSError:
            return
        self._hasher = Hasher(secret)
        log.warning("llmstats: end-user hashes resume with the secret in %s", folder)

    def _forked(self) -> None:
        """In a forked child: the parent's writer (its threads are gone, its spool folder
        and lock belong to the parent) is let go, and the next call sets up a new one."""
        writer = self._writer
        self._ready = self.config_error is not None  # refused settings stay refused
        self._writer = None
        self._init_lock = threading.Lock()
        if writer is not None:
            writer.abandon()

    def start(self) -> None:
        """Set the writer up now; a failure is counted and retried on the next call."""
        try:
            self._ready_writer()
        except Exception as exc:
            self._count_error(exc)

    @property
    def writer(self) -> EventWriter | None:
        return self._ready_writer()

    @property
    def duplicates(self) -> int:
        """Events dropped at conversion because LiteLLM reported them twice."""
        writer = self._writer
        return int(writer.stats.extra.get("duplicates", 0)) if writer is not None else 0

    # ---- capture ----------------------------------------------------------------

    def _capture(
        self, kwargs: Any, response: Any, status: str, start_time: Any, end_time: Any
    ) -> None:
        try:
            writer = self._writer if self._ready else self._ready_writer()
            if writer is None or not isinstance(kwargs, dict):
                return
            # The segmenter thread counts what needs the prompt, the response objects or a
            # tokenizer, off the loop, unless its queue is full (then it is counted here).
            segmenter = writer.segmenter
            hand_over = (
                status == "success"
                and segmenter is not None
                and len(segmenter.incoming) < MAX_INCOMING
            )
            fast = raw_line(kwargs, response, status, self._privacy, self._hasher, not hand_over)
            if fast is not None:
                row, line = fast
            else:
                reference = extract_event(
                    kwargs, response, status=status, privacy=self._privacy,
                    hash_id=self._hasher, start_time=start_time, end_time=end_time,
                )  # fmt: skip
                if reference is None:
                    return
                row, line = reference, encode_line(reference)
            # Duplicates (LiteLLM can fire twice for one call) are dropped at conversion,
            # by event id: a look-up here, in a table big enough to matter, cost ~5 µs.
            job: Job | None = None
            if segmenter is not None:
                call_type = row["call_type"]
                segmented = segmenter.tokenize and call_type in SEGMENTED_CALL_TYPES
                if hand_over:
                    # What the segmenter needs (segmenter.Job): the payload when its prompt
                    # is to be counted (it is read there, not here) and what the fast row
                    # left for later (its response's tool calls, a speech input's tokens).
                    later = None if fast is None else left_for_later(row, kwargs, response)
                    if segmented:
                        payload = kwargs["standard_logging_object"]
                        embedding = call_type == "embedding"
                        job = (row["event_id"], payload, row["input_tokens"], embedding, later)
                    elif later is not None:
                        job = (row["event_id"], None, row["input_tokens"], False, later)
                elif segmented and status == "success":
                    segmenter.stats.skipped += 1
            writer.submit_line(line, job)
        except Exception as exc:
            self._count_error(exc)

    def _mark_response(self, data: Any, response: Any) -> None:
        try:
            writer = self._writer if self._ready else self._ready_writer()
            if writer is None or not isinstance(data, dict):
                return
            row = extract_marker(data, response, privacy=self._privacy, hash_id=self._hasher)
            # Spooled even when the callback ran first: conversion drops a marker whose
            # call has its event, before or after it.
            if row is not None:
                writer.submit(row)
        except Exception as exc:
            self._count_error(exc)

    def _count_error(self, exc: BaseException) -> None:
        self.errors += 1
        if self._writer is not None:
            self._writer.stats.extra["callback_errors"] = self.errors
        now = time.monotonic()
        if now - self._last_error_log >= 60.0:
            self._last_error_log = now
            # The class name only: exception text may quote a payload.
            log.warning("llmstats: callback error %s (total %d)", type(exc).__name__, self.errors)

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._capture(kwargs, response_obj, "success", start_time, end_time)

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._capture(kwargs, response_obj, "failure", start_time, end_time)

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._capture(kwargs, response_obj, "success", start_time, end_time)

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._capture(kwargs, response_obj, "failure", start_time, end_time)

    async def async_post_call_success_hook(
        self, data: dict, user_api_key_dict: Any, response: Any
    ) -> None:
        """Proxy only: runs before the response leaves (see response_marker.py). Returns
        None, which tells LiteLLM to send the response unchanged."""
        self._mark_response(data, response)

    # ---- control (tests, SDK scripts) --------------------------------------------

    def flush(self, timeout: float = 30.0) -> bool:
        writer = self._writer
        return writer.flush(timeout) if writer is not None else True

    @property
    def data_dir(self) -> Path | None:
        return self._settings.local_data_dir if self._settings else None


def _call_if_alive(method: weakref.WeakMethod[Any]) -> None:
    bound = method()
    if bound is not None:
        bound()


_callback: LLMStatsLogger | None = None
_callback_lock = threading.Lock()


def get_callback() -> LLMStatsLogger:
    """The process-wide callback instance (what `llmstats.plugin.callback` names)."""
    global _callback
    with _callback_lock:
        if _callback is None:
            _callback = LLMStatsLogger()
            # Start the writer now rather than on the first call: a proxy restarted after a
            # crash converts the dead process's spool at once, traffic or not.
            _callback.start()
        return _callback
