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
from .response_marker import extract_marker
from .segmenter import Segmenter
from .writer import EventWriter

log = logging.getLogger("llmstats")

RECENT_IDS = 65_536
SEGMENTED_CALL_TYPES = frozenset({"chat", "responses", "embedding"})


class LLMStatsLogger(CustomLogger):
    """Captures one metadata-only event per LiteLLM call attempt."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._writer: EventWriter | None = None
        self._segmenter: Segmenter | None = None
        self._hasher: Hasher | None = None
        self._pid = -1
        self._init_lock = threading.Lock()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._succeeded_calls: OrderedDict[str, None] = OrderedDict()
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
        self._succeeded_calls.clear()
        writer = EventWriter(settings)
        self._segmenter = None
        if settings.segments:
            self._segmenter = writer.segmenter = Segmenter()
            self._segmenter.start()
        writer.start()
        shutdown.install(writer)
        self._writer = writer
        # Last: other threads skip the lock once the pid matches, so the writer must exist.
        self._pid = os.getpid()

    def start(self) -> None:
        """Set the writer up now; a failure is counted and retried on the next call."""
        try:
            self._ready_writer()
        except Exception as exc:
            self._count_error(exc)

    @property
    def writer(self) -> EventWriter | None:
        return self._ready_writer()

    # ---- capture ----------------------------------------------------------------

    def _capturing(self) -> tuple[EventWriter, Settings, Hasher] | None:
        """What an entry point needs to capture, or None when capture is off."""
        writer = self._ready_writer()
        if writer is None or self._hasher is None or self._settings is None:
            return None
        return writer, self._settings, self._hasher

    def _capture(self, kwargs: Any, response: Any, status: str) -> None:
        try:
            ready = self._capturing()
            if ready is None or not isinstance(kwargs, dict):
                return
            writer, settings, hasher = ready
            row = extract_event(
                kwargs, response, status=status, privacy=settings.privacy, hash_id=hasher
            )
            if row is None:
                return
            if not _first_sight(self._recent, row["event_id"]):
                self.duplicates += 1
                return
            if status == "success":
                if row["call_id"] is not None:
                    _first_sight(self._succeeded_calls, row["call_id"])
                self._offer_prompt(row, kwargs)
            writer.submit(row)
        except Exception as exc:
            self._count_error(exc)

    def _offer_prompt(self, row: dict[str, Any], kwargs: dict[str, Any]) -> None:
        """Hand the prompt's references to the segmenter thread; nothing is read here."""
        segmenter = self._segmenter
        kind = row["call_type"]
        if segmenter is None or kind not in SEGMENTED_CALL_TYPES:
            return
        payload = kwargs["standard_logging_object"]
        params = payload.get("model_parameters")
        tools = params.get("tools") if type(params) is dict else None
        segmenter.offer(
            row["event_id"],
            payload.get("messages"),
            tools,
            row["input_tokens"],
            kind == "embedding",
        )

    def _mark_response(self, data: Any, response: Any) -> None:
        try:
            ready = self._capturing()
            if ready is None or not isinstance(data, dict):
                return
            writer, settings, hasher = ready
            row = extract_marker(data, response, privacy=settings.privacy, hash_id=hasher)
            # When the callback ran first, its event is already spooled: no marker needed.
            if row is None or row["call_id"] in self._succeeded_calls:
                return
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


def _first_sight(recent: OrderedDict[str, None], key: str) -> bool:
    """Remember `key` (bounded, oldest forgotten first); False if it was already there."""
    if key in recent:
        return False
    recent[key] = None
    if len(recent) > RECENT_IDS:
        recent.popitem(last=False)
    return True


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
