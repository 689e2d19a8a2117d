"""The segmenter thread: counts prompt segments off LiteLLM's event loop, within a budget.

The hot path only hands over references (`offer`, about a microsecond); this thread counts
tokens, keeps the counts, and lets the prompt go. Under load it degrades, never blocks:
past a CPU share per second or a backlog of characters it estimates by characters
(`segments_estimated`), and past a hard backlog it skips the call and counts it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .segments import (
    Piece,
    Segment,
    apportion,
    count_segments,
    estimate_tokens,
    exact_tokens,
    split_prompt,
)

MAX_QUEUED_CHARS = 256 << 20  # hard limit: beyond it, calls are skipped
ESTIMATE_ABOVE_CHARS = 32 << 20  # soft limit: beyond it, counts are estimated
CPU_SHARE = 0.5  # seconds of counting per second before estimating
MAX_RESULTS = 200_000  # counts kept for rows not converted yet
MEDIA_CHARS = 4_000  # what an image or audio part stands for in the backlog


def approx_chars(messages: Any) -> int:
    """A cheap size of a prompt: string lengths only, no walking into nested structures."""
    total = 0
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            for part in content:
                text = part.get("text") if isinstance(part, dict) else part
                total += len(text) if isinstance(text, str) else MEDIA_CHARS
    return total


@dataclass
class _Job:
    event_id: str
    messages: Any
    tools: Any
    input_tokens: int | None
    chars: int
    whole: bool  # embeddings: the input is one segment


@dataclass
class SegmenterStats:
    counted: int = 0
    estimated: int = 0
    skipped: int = 0
    tokens_counted: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Segmenter:
    def __init__(
        self,
        counter: Callable[[str], int] = exact_tokens,
        cpu_share: float = CPU_SHARE,
        estimate_above_chars: int = ESTIMATE_ABOVE_CHARS,
        max_queued_chars: int = MAX_QUEUED_CHARS,
    ) -> None:
        self._counter = counter
        self._cpu_share = cpu_share
        self._estimate_above = estimate_above_chars
        self._max_queued = max_queued_chars
        self._queue: deque[_Job] = deque()
        self._queued_chars = 0
        self._results: OrderedDict[str, tuple[list[Segment], bool]] = OrderedDict()
        self._lock = threading.Lock()
        self._working = threading.Lock()
        self._wake = threading.Event()
        self._window_start = 0.0
        self._window_cpu = 0.0
        self.stats = SegmenterStats()
        self._thread: threading.Thread | None = None

    # ---- hot path ---------------------------------------------------------------

    def offer(
        self,
        event_id: str,
        messages: Any,
        tools: Any,
        input_tokens: int | None,
        whole: bool = False,
    ) -> None:
        chars = approx_chars(messages)
        with self._lock:
            if self._queued_chars + chars > self._max_queued:
                self.stats.skipped += 1
                return
            self._queued_chars += chars
            self._queue.append(_Job(event_id, messages, tools, input_tokens, chars, whole))
            first = len(self._queue) == 1
        if first:
            self._wake.set()

    # ---- thread -----------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="llmstats-segmenter", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            self.drain(estimate=False)

    def drain(self, estimate: bool) -> None:
        """Count everything queued now; `estimate` forces the cheap path (shutdown, flush)."""
        while True:
            # One job at a time between the two threads that drain: when the writer's drain
            # finds the queue empty, no job is half-counted on the segmenter thread either.
            with self._working:
                with self._lock:
                    if not self._queue:
                        return
                    job = self._queue.popleft()
                    self._queued_chars -= job.chars
                self._count(job, estimate or self._over_budget())

    def _count(self, job: _Job, cheap: bool) -> None:
        started = time.thread_time()
        try:
            segments = self._segments(job, cheap)
        except Exception:  # a prompt we cannot read costs its segments, nothing else
            self.stats.skipped += 1
            return
        finally:
            self._window_cpu += time.thread_time() - started
        with self._lock:
            self._results[job.event_id] = (segments, cheap)
            if len(self._results) > MAX_RESULTS:
                self._results.popitem(last=False)
        if cheap:
            self.stats.estimated += 1
        else:
            self.stats.counted += 1

    def _over_budget(self) -> bool:
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_cpu = now, 0.0
        return self._window_cpu >= self._cpu_share or self._queued_chars > self._estimate_above

    def _segments(self, job: _Job, cheap: bool) -> list[Segment]:
        pieces: list[Piece]
        if job.whole:
            texts = [m.get("content") for m in job.messages if isinstance(m, dict)]
            pieces = [("user", "text", " ".join(t for t in texts if isinstance(t, str)))]
        else:
            pieces = split_prompt(job.messages, job.tools)
        counted = count_segments(pieces, estimate_tokens if cheap else self._counter)
        if not cheap:
            self.stats.tokens_counted += sum(tokens for _, _, tokens in counted)
        return apportion(counted, job.input_tokens)

    # ---- conversion -------------------------------------------------------------

    def take(self, event_ids: list[str]) -> list[tuple[list[Segment], bool] | None]:
        """Counts for these rows (None where there are none), forgotten once taken."""
        self.drain(estimate=True)
        with self._lock:
            return [self._results.pop(event_id, None) for event_id in event_ids]
