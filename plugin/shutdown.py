"""Flush on the way out: interpreter exit and SIGTERM.

The LiteLLM proxy (uvicorn) re-raises SIGTERM after its graceful shutdown, so `atexit`
never runs there. We chain a SIGTERM handler in front of the existing one: it flushes
what is spooled, switches the writer to prompt flushing for the requests still finishing,
then hands over to the previous handler. Whatever arrives after the process is gone stays
in the spool and is converted by the next writer that starts on the same spool dir.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from .writer import EventWriter

Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def install(writer: EventWriter) -> None:
    atexit.register(_close_quietly, writer)
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    try:
        previous: Handler = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _chained(writer, previous))
    except (ValueError, OSError):
        return


def _close_quietly(writer: EventWriter) -> None:
    # Exit must never print a traceback because of llmstats.
    with contextlib.suppress(Exception):
        _deliver_litellm_pending()
    with contextlib.suppress(Exception):
        writer.close()


def _deliver_litellm_pending() -> None:
    """Have LiteLLM deliver the callbacks its logging worker still queues, before we close.

    LiteLLM registers that delivery as an exit handler at import, so it would run after
    ours and each late event would become a file of its own. Its handler is idempotent
    (an empty queue returns at once), and if LiteLLM renames it, the late-event path in
    the writer still writes every event."""
    module = sys.modules.get("litellm.litellm_core_utils.logging_worker")
    deliver = getattr(getattr(module, "GLOBAL_LOGGING_WORKER", None), "_flush_on_exit", None)
    if callable(deliver):
        deliver()


def _chained(writer: EventWriter, previous: Handler) -> Callable[[int, FrameType | None], None]:
    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        try:
            writer.drain_mode()
            writer.flush(timeout=10.0)
        except Exception:  # never stand between the process and its shutdown
            pass
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    return on_sigterm
