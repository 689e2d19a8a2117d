"""Answers already computed, kept for the next request that asks the same of the same data.

A dashboard's requests repeat: every page load asks for its panels, back and forward ask
again, a team opens the same link, and the page asks again when new events arrive. Each
answer here is the JSON body of one request (its path and query string, the token left
out), stored with the data version it was computed on (`DataSource.version`: the event
files and rollup parts): a new flush, compaction or rollup build changes the version, and
every answer of the old one is dropped at once.

An answer also expires after TTL_SECONDS: a window relative to now (`since=7d`) moves on
while the data does not change, and the writers' heartbeats (the Health page) and the
audit log are not part of the version, so those pages are never kept here. Bounded by
the bytes of the bodies it holds (LIMIT_BYTES), the least recently used go first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

TTL_SECONDS = 30.0
LIMIT_BYTES = 32 << 20


class AnswerCache:
    def __init__(self, limit_bytes: int = LIMIT_BYTES, ttl_seconds: float = TTL_SECONDS) -> None:
        self.limit_bytes = limit_bytes
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._version = ""
        self._answers: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: str, version: str) -> bytes | None:
        with self._lock:
            if version != self._version:
                self._forget_all(version)
            found = self._answers.get(key)
            if found is None or found[1] < time.monotonic():
                self.misses += 1
                return None
            self._answers.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, key: str, version: str, body: bytes) -> None:
        if len(body) > self.limit_bytes // 4:
            return  # one huge answer would push out everything else (or none is kept)
        with self._lock:
            if version != self._version:
                self._forget_all(version)
            old = self._answers.pop(key, None)
            if old is not None:
                self._bytes -= len(old[0])
            self._answers[key] = (body, time.monotonic() + self.ttl_seconds)
            self._bytes += len(body)
            while self._bytes > self.limit_bytes:
                _, (dropped, _) = self._answers.popitem(last=False)
                self._bytes -= len(dropped)

    def _forget_all(self, version: str) -> None:
        self._answers.clear()
        self._bytes = 0
        self._version = version

    def summary(self) -> dict[str, int]:
        with self._lock:
            return {"answers": len(self._answers), "bytes": self._bytes, "hits": self.hits,
                    "misses": self.misses}
