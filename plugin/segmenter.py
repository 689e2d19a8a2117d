"""The segmenter thread: counts prompt segments off LiteLLM's event loop, within a budget.

The hot path hands over references only: the spool appends `(seq, offset, prompt)` to
`incoming` in the same locked step as the event's line (a deque append, no wake-up call:
waking a thread costs the caller a system call). This thread looks every POLL_SECONDS
(backing off to IDLE_POLL_SECONDS while nothing comes), counts the prompts that came in
meanwhile together (segments.count_prompts), writes each event's counts as one line of the
spool folder's `NNNNNNNN.counts` file (role, kind and numbers only) and lets the prompts
go. The converter joins those lines to the events of segment N by line offset, so no count
waits in memory; the writer drains what a closed segment still has queued itself.

Why so seldom: every call that lets go of the GIL (the poll's wait, the tokenizer, the
write) has to take it back from LiteLLM's busy event loop, and on a virtual machine that
hand-over, not the counting, was most of the thread's CPU in a loaded proxy (py-spy
samples in the wait, the write and the tokenizer call, benchmarks/profile_proxy.py). Counts
are only needed when the segment is converted, a minute later.

Under load it degrades, never blocks: past a CPU share per second or a backlog of
characters it estimates by characters (`segments_estimated`), and past a hard backlog, or
when the hot path finds `incoming` full (MAX_INCOMING), it skips the call and counts it.

The same hand-over takes the work off the loop that reads LiteLLM's response objects or
needs a tokenizer (row_extras.left_for_later): a chat or responses call's tool calls and a
token-priced speech call's input tokens are counted here (row_extras.counts_off_the_loop)
and go into the same counts line, so the hot path never walks a pydantic `ModelResponse`
(~5 µs a call on the loop) nor runs LiteLLM's tokenizer (~200 µs, and half a second to
load its encoding the first time). With segments off (`tokenize=False`) that is all this
thread does: no prompt is split or counted.
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

from .row_extras import counts_off_the_loop
from .segments import (
    Merged,
    Piece,
    Segment,
    apportion,
    count_prompts,
    estimate_tokens,
    merge_pieces,
    split_prompt,
    with_counts,
)
from .spool import COUNTS_SUFFIX, Prompt
from .spool_line import encode_line

POLL_SECONDS = 0.25
IDLE_POLL_SECONDS = 1.0  # backed off to while nothing comes: an idle proxy's wake-ups cost
MAX_INCOMING = 2_000  # prompts handed over and not looked at yet; beyond it, skipped
MAX_QUEUED_CHARS = 64 << 20  # hard limit: beyond it, calls are skipped
ESTIMATE_ABOVE_CHARS = 8 << 20  # soft limit: beyond it, counts are estimated
CPU_SHARE = 0.5  # seconds of counting per second before estimating
MEDIA_CHARS = 4_000  # what an image or audio part stands for in the backlog
# Prompts counted together, in one tokenizer call and one write (see count_prompts): at
# most this many, or this many characters' worth (counting samples them down to far less).
BATCH_PROMPTS = 64
BATCH_CHARS = 4 << 20

Job = tuple[str, Any, "int | None", bool, Any]
"""(event_id, payload, input_tokens, whole, later): `payload` is LiteLLM's standard
logging payload, whose `messages` and `model_parameters.tools` are read here, not on the
loop (None when the prompt is not to be counted: segments off, or skipped); `whole` for
embeddings (one segment); `later` what the fast row left to count here (a response whose
tool calls are counted, a speech input whose tokens are: row_extras.left_for_later), or
None."""


def prompt_of(payload: Any) -> tuple[Any, Any]:
    """(messages, tool definitions) of a standard logging payload."""
    if not isinstance(payload, dict):
        return None, None
    params = payload.get("model_parameters")
    return payload.get("messages"), params.get("tools") if isinstance(params, dict) else None


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
        counter: Callable[[str], int] | None = None,  # None: count_prompts, one call a batch
        cpu_share: float = CPU_SHARE,
        estimate_above_chars: int = ESTIMATE_ABOVE_CHARS,
        max_queued_chars: int = MAX_QUEUED_CHARS,
        tokenize: bool = True,
    ) -> None:
        self.folder = folder
        self.tokenize = tokenize  # False: response counts only (LLMSTATS_SEGMENTS=false)
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
                batch = self._next_batch(through_seq)
                if not batch:
                    self._close_counts(through_seq)
                    return
                self._count_batch([prompt for prompt, _ in batch], estimate or self._over_budget())
                self._queued_chars -= sum(chars for _, chars in batch)
            # No explicit pause between batches: every tokenizer call lets go of the GIL,
            # which is where a waiting event loop takes it (a time.sleep(0) here would cost
            # a millisecond of wall time per batch on a virtual machine).

    def _next_batch(self, through_seq: int | None) -> list[tuple[Prompt, int]]:
        """The prompts to count together: those waiting, in order, up to BATCH_PROMPTS or
        BATCH_CHARS (at least one), none of a segment after `through_seq`."""
        self._take_incoming()
        sized = self._sized
        batch: list[tuple[Prompt, int]] = []
        chars = 0
        while sized and len(batch) < BATCH_PROMPTS and (not batch or chars < BATCH_CHARS):
            if through_seq is not None and sized[0][0][0] > through_seq:
                break
            entry = sized.popleft()
            batch.append(entry)
            chars += entry[1]
        return batch

    def _take_incoming(self) -> None:
        """Size what the hot path handed over; past the hard limit, let it go uncounted."""
        incoming = self.incoming
        while incoming:
            prompt = incoming.popleft()
            seq, offset, job = prompt
            chars = approx_chars(prompt_of(job[1])[0]) if job[1] is not None else 0
            if self._queued_chars + chars > self._max_queued:
                self.stats.skipped += 1
                if job[4] is None:
                    continue
                # The prompt goes uncounted; its response's counts are still taken.
                prompt, chars = (seq, offset, (job[0], None, job[2], job[3], job[4])), 0
            self._queued_chars += chars
            self._sized.append((prompt, chars))

    def _count_batch(self, prompts: list[Prompt], cheap: bool) -> None:
        """Segments of each prompt, one tokenizer call for the batch (count_prompts), and
        one write of their counts lines per counts file."""
        started = time.thread_time()
        planned: list[tuple[Prompt, list[Merged] | None, list[str], dict[str, int] | None]] = []
        try:
            for prompt in prompts:
                job = prompt[2]
                merged: list[Merged] | None = None
                texts: list[str] = []
                if self.tokenize and job[1] is not None:
                    try:
                        merged, texts = merge_pieces(self._pieces(job))
                    except Exception:  # an unreadable prompt costs its segments only
                        self.stats.skipped += 1
                later = counts_off_the_loop(job[4]) if job[4] is not None else None
                if merged is not None or later:
                    planned.append((prompt, merged, texts, later))
            counted = [entry for entry in planned if entry[1] is not None]
            counts = iter(self._counts([texts for _, _, texts, _ in counted], cheap))
            by_seq: dict[int, tuple[list[bytes], list[int]]] = {}
            for prompt, merged, _, later in planned:
                seq, offset, (event_id, _, input_tokens, _, _) = prompt
                segments = None
                if merged is not None:
                    with_tokens = with_counts(merged, next(counts))
                    segments = apportion(with_tokens, input_tokens)
                lines, tokens = by_seq.setdefault(seq, ([], []))
                lines.append(self._counts_line(offset, event_id, segments, cheap, later))
                tokens.append(-1 if segments is None else sum(c for _, _, c in with_tokens))
            for seq, (lines, tokens) in by_seq.items():
                try:
                    self._write_counts(seq, b"".join(lines))
                except OSError:  # the counts file cannot be written: these go uncounted
                    self.stats.skipped += sum(t >= 0 for t in tokens)
                    continue
                segmented = [t for t in tokens if t >= 0]
                if cheap:
                    self.stats.estimated += len(segmented)
                else:
                    self.stats.counted += len(segmented)
                    self.stats.tokens_counted += sum(segmented)
        except Exception:  # not one prompt's fault: none of the batch was written
            self.stats.skipped += sum(entry[1] is not None for entry in planned)
        finally:
            self._window_cpu += time.thread_time() - started

    def _over_budget(self) -> bool:
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_cpu = now, 0.0
        return self._window_cpu >= self._cpu_share or self._queued_chars > self._estimate_above

    @staticmethod
    def _pieces(job: Job) -> list[Piece]:
        _, payload, _, whole, _ = job
        messages, tools = prompt_of(payload)
        if whole:
            texts = [m.get("content") for m in messages if isinstance(m, dict)]
            return [("user", "text", " ".join(t for t in texts if isinstance(t, str)))]
        return split_prompt(messages, tools)

    def _counts(self, texts: list[list[str]], cheap: bool) -> list[list[int]]:
        if cheap:
            return [[estimate_tokens(text) for text in prompt] for prompt in texts]
        if self._counter is not None:
            return [[self._counter(text) for text in prompt] for prompt in texts]
        return count_prompts(texts)

    # ---- output -----------------------------------------------------------------

    @staticmethod
    def _counts_line(
        offset: int,
        event_id: str,
        segments: list[Segment] | None,
        estimated: bool,
        later: dict[str, int] | None,
    ) -> bytes:
        line: dict[str, Any] = {"at": offset, "event_id": event_id}
        if segments is not None:
            line["segments"] = [{"role": r, "kind": k, "tokens": t} for r, k, t in segments]
            line["segments_estimated"] = estimated
        if later:
            line.update(later)
        return encode_line(line)

    def _write_counts(self, seq: int, lines: bytes) -> None:
        if seq != self._counts_seq:
            self._close_counts(None)
            path = self.folder / f"{seq:08d}{COUNTS_SUFFIX}"
            self._counts_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._counts_seq = seq
        view = memoryview(lines)
        while view:  # a regular file takes it all at once, short of a full disk
            view = view[os.write(self._counts_fd, view) :]

    def _close_counts(self, through_seq: int | None) -> None:
        """Close the open counts file once its segment is complete (or on a switch)."""
        if self._counts_fd >= 0 and (through_seq is None or self._counts_seq <= through_seq):
            os.close(self._counts_fd)
            self._counts_fd, self._counts_seq = -1, -1
