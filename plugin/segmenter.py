"""The segmenter thread: counts prompt segments off LiteLLM's event loop, within a budget.

The hot path hands over references only: the spool appends `(seq, offset, prompt)` to
`incoming` in the same locked step as the event's line (a deque append, no wake-up call:
waking a thread costs the caller a system call). This thread looks every POLL_SECONDS
(backing off to IDLE_POLL_SECONDS while nothing comes), counts tokens
(segments.count_texts), writes each event's counts as one line of the spool folder's
`NNNNNNNN.counts` file (role, kind and numbers only) and lets the prompt go. The converter
joins those lines to the events of segment N by line offset, so no count waits in memory.

Under load it degrades, never blocks: past a CPU share per second or a backlog of
characters it estimates by characters (`segments_estimated`), and past a hard backlog, or
when the hot path finds `incoming` full (MAX_INCOMING), it skips the call and counts it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .segments import (
    Piece,
    Segment,
    apportion,
    count_segments,
    estimate_tokens,
    split_prompt,
)
from .spool import COUNTS_SUFFIX, Prompt
from .spool_line import encode_line

POLL_SECONDS = 0.05
IDLE_POLL_SECONDS = 0.2  # backed off to while nothing comes: an idle proxy's wake-ups cost
MAX_INCOMING = 2_000  # prompts handed over and not looked at yet; beyond it, skipped
MAX_QUEUED_CHARS = 64 << 20  # hard limit: beyond it, calls are skipped
ESTIMATE_ABOVE_CHARS = 8 << 20  # soft limit: beyond it, counts are estimated
CPU_SHARE = 0.5  # seconds of counting per second before estimating
MEDIA_CHARS = 4_000  # what an image or audio part stands for in the backlog

Job = tuple[str, Any, Any, "int | None", bool]
"""(event_id, messages, tools, input_tokens, whole): `whole` for embeddings, one segment"""


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
class SegmenterStats:
    counted: int = 0
    estimated: int = 0
    skipped: int = 0
    tokens_counted: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Segmenter:
    def __init__(
        self,
        folder: Path,
        counter: Callable[[str], int] | None = None,  # None: count_texts, one call a prompt
        cpu_share: float = CPU_SHARE,
        estimate_above_chars: int = ESTIMATE_ABOVE_CHARS,
        max_queued_chars: int = MAX_QUEUED_CHARS,
    ) -> None:
        self.folder = folder
        self.incoming: deque[Prompt] = deque()
        self._counter = counter
        self._cpu_share = cpu_share
        self._estimate_above = estimate_above_chars
        self._max_queued = max_queued_chars
        self._sized: deque[tuple[Prompt, int]] = deque()
        self._queued_chars = 0
        self._working = threading.Lock()  # one prompt at a time, whichever thread drains
        self._counts_fd = -1
        self._counts_seq = -1
        self._window_start = 0.0
        self._window_cpu = 0.0
        self._stop = threading.Event()
        self.stats = SegmenterStats()
        self._thread: threading.Thread | None = None

    # ---- thread -----------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="llmstats-segmenter", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)

    def _run(self) -> None:
        wait = POLL_SECONDS
        while not self._stop.wait(wait):
            # Each wake-up costs CPU and a GIL hand-over: the wait doubles while idle and
            # is back at POLL_SECONDS as soon as a prompt comes.
            busy = bool(self.incoming or self._sized)
            wait = POLL_SECONDS if busy else min(2 * wait, IDLE_POLL_SECONDS)
            try:
                self.drain()
            except Exception:  # the thread must outlive any one prompt; counted as skipped
                self.stats.skipped += 1

    def drain(self, through_seq: int | None = None, estimate: bool = False) -> None:
        """Count the prompts handed over so far (only those of segments up to `through_seq`
        when given: the writer waits for a closed segment's counts, not for new ones);
        `estimate` forces the cheap path (shutdown)."""
        while True:
            with self._working:
                entry = self._next(through_seq)
                if entry is None:
                    self._close_counts(through_seq)
                    return
                prompt, chars = entry
                self._count(prompt, estimate or self._over_budget())
                self._queued_chars -= chars
            # No explicit pause between prompts: every tokenizer call lets go of the GIL,
            # which is where a waiting event loop takes it (a time.sleep(0) here would cost
            # a millisecond of wall time per prompt on a virtual machine).

    def _next(self, through_seq: int | None) -> tuple[Prompt, int] | None:
        self._take_incoming()
        sized = self._sized
        if not sized or (through_seq is not None and sized[0][0][0] > through_seq):
            return None
        return sized.popleft()

    def _take_incoming(self) -> None:
        """Size what the hot path handed over; past the hard limit, let it go uncounted."""
        incoming = self.incoming
        while incoming:
            prompt = incoming.popleft()
            chars = approx_chars(prompt[2][1])
            if self._queued_chars + chars > self._max_queued:
                self.stats.skipped += 1
                continue
            self._queued_chars += chars
            self._sized.append((prompt, chars))

    def _count(self, prompt: Prompt, cheap: bool) -> None:
        seq, offset, (event_id, messages, tools, input_tokens, whole) = prompt
        started = time.thread_time()
        try:
            segments = self._segments(messages, tools, input_tokens, whole, cheap)
            self._write_counts(seq, offset, event_id, segments, cheap)
        except Exception:  # a prompt we cannot read costs its segments, nothing else
            self.stats.skipped += 1
            return
        finally:
            self._window_cpu += time.thread_time() - started
        if cheap:
            self.stats.estimated += 1
        else:
            self.stats.counted += 1

    def _over_budget(self) -> bool:
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_cpu = now, 0.0
        return self._window_cpu >= self._cpu_share or self._queued_chars > self._estimate_above

    def _segments(
        self, messages: Any, tools: Any, input_tokens: int | None, whole: bool, cheap: bool
    ) -> list[Segment]:
        pieces: list[Piece]
        if whole:
            texts = [m.get("content") for m in messages if isinstance(m, dict)]
            pieces = [("user", "text", " ".join(t for t in texts if isinstance(t, str)))]
        else:
            pieces = split_prompt(messages, tools)
        counted = count_segments(pieces, estimate_tokens if cheap else self._counter)
        if not cheap:
            self.stats.tokens_counted += sum(tokens for _, _, tokens in counted)
        return apportion(counted, input_tokens)

    # ---- output -----------------------------------------------------------------

    def _write_counts(
        self, seq: int, offset: int, event_id: str, segments: list[Segment], estimated: bool
    ) -> None:
        line = encode_line(
            {
                "at": offset,
                "event_id": event_id,
                "segments": [{"role": r, "kind": k, "tokens": t} for r, k, t in segments],
                "segments_estimated": estimated,
            }
        )
        if seq != self._counts_seq:
            self._close_counts(None)
            path = self.folder / f"{seq:08d}{COUNTS_SUFFIX}"
            self._counts_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._counts_seq = seq
        os.write(self._counts_fd, line)

    def _close_counts(self, through_seq: int | None) -> None:
        """Close the open counts file once its segment is complete (or on a switch)."""
        if self._counts_fd >= 0 and (through_seq is None or self._counts_seq <= through_seq):
            os.close(self._counts_fd)
            self._counts_fd, self._counts_seq = -1, -1
