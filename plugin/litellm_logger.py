"""The LiteLLM callback: the fail-open boundary between LiteLLM and llmstats.

Every entry point catches everything and counts it: llmstats must never fail, slow or
lose a response. Below this module, code raises normally.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from . import shutdown
from .config import Settings, load_settings
from .extract import extract_event
from .identity import Hasher, load_or_create_secret
from .writer import EventWriter

log = logging.getLogger("llmstats")

RECENT_IDS = 65_536


class LLMStatsLogger(CustomLogger):
    """Captures one metadata-only event per LiteLLM call attempt."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._writer: EventWriter | None = None
        self._hasher: Hasher | None = None
        self._pid = -1
        self._init_lock = threading.Lock()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self.errors = 0
        self.duplicates = 0
        self._last_error_log = 0.0

    # ---- setup (once per process; a forked worker gets its own writer) ----------

    def _ready_writer(self) -> EventWriter | None:
        if self._pid == os.getpid():
            return self._writer
        with self._init_lock:
            if self._pid != os.getpid():
                self._setup()
        return self._writer

    def _setup(self) -> None:
        self._writer = None
        settings = self._settings or load_settings()
        self._settings = settings
        if not settings.enabled:
            self._pid = os.getpid()
            return
        secret = (
            settings.hash_key.encode()
            if settings.hash_key
            else load_or_create_secret(settings.local_data_dir or settings.spool_dir.parent)
        )
        self._hasher = Hasher(secret)
        self._recent.clear()
        writer = EventWriter(settings)
        writer.start()
        shutdown.install(writer)
        self._writer = writer
        # Last: other threads skip the lock once the pid matches, so the writer must exist.
        self._pid = os.getpid()

    @property
    def writer(self) -> EventWriter | None:
        return self._ready_writer()

    # ---- capture ----------------------------------------------------------------

    def _capture(self, kwargs: Any, response: Any, status: str) -> None:
        try:
            writer = self._ready_writer()
            if writer is None or self._hasher is None or not isinstance(kwargs, dict):
                return
            settings = self._settings
            assert settings is not None
            row = extract_event(
                kwargs,
                response,
                status=status,
                privacy=settings.privacy,
                hash_id=self._hasher,
            )
            if row is None:
                return
            event_id = row["event_id"]
            recent = self._recent
            if event_id in recent:
                self.duplicates += 1
                return
            recent[event_id] = None
            if len(recent) > RECENT_IDS:
                recent.popitem(last=False)
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
        self._capture(kwargs, response_obj, "success")

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._capture(kwargs, response_obj, "failure")

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._capture(kwargs, response_obj, "success")

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._capture(kwargs, response_obj, "failure")

    # ---- control (tests, SDK scripts) --------------------------------------------

    def flush(self, timeout: float = 30.0) -> bool:
        writer = self._writer
        return writer.flush(timeout) if writer is not None else True

    @property
    def data_dir(self) -> Path | None:
        return self._settings.local_data_dir if self._settings else None


_callback: LLMStatsLogger | None = None
_callback_lock = threading.Lock()


def get_callback() -> LLMStatsLogger:
    """The process-wide callback instance (what `llmstats.plugin.callback` names)."""
    global _callback
    with _callback_lock:
        if _callback is None:
            _callback = LLMStatsLogger()
        return _callback
