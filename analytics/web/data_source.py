"""The dataset behind the dashboard: opened by the report library's own read path
(`open_dataset`, which reads the data dir and writes nothing into it), reopened when the
data dir's listing changes, queried by a few requests at a time.

A small pool of DuckDB connections (`connections`, 2 by default; each its own in-memory
database with its share of the memory limit, engine_limits.py) answers the requests, in
worker threads, each connection one request at a time and waiting requests served in the
order they came. One connection would be enough for throughput (DuckDB spreads one query
over its threads), but then a 10 ms question waits behind every second-long one before it:
with two, a short question gets through while a long one runs, which is what the
slowest clicks of many users are made of (benchmarks/bench_dashboard_users.py). A
connection per request makes cancelling exact: `interrupt()` stops whatever that connection
runs, and the connection records whose query that is. A client may hold `per_client`
queries at once; one more is refused (429) rather than queued, so no client can starve the
others. A client that goes away while its query runs has it interrupted.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread

from ..errors import LlmstatsError
from ..store.files import list_files, resolve_data_dir
from .answer_cache import LIMIT_BYTES, AnswerCache
from .engine_limits import EngineLimits

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..connection import Dataset

T = TypeVar("T")
VERSION_TTL_SECONDS = 1.0
"""How long one listing of the data dir answers version polls (many clients, one listing)."""
WATCH_SECONDS = 0.1


class TooBusy(LlmstatsError):
    """This client already has as many queries running as it may."""


class Cancelled(LlmstatsError):
    """The client went away before or while its query ran."""


@dataclass
class Connection:
    """One connection of the pool, the dataset it has open and whose query it runs.
    Only the thread that took it from the pool touches it, but `running` (read by the
    request's watcher to interrupt the right query)."""

    dataset: Dataset | None = None
    version: str | None = None
    running: threading.Event | None = None  # the cancel flag of the query it runs


class DataSource:
    def __init__(self, data_dir: str | None, *, per_client: int = 4,
                 limits: EngineLimits | None = None, cache_bytes: int = LIMIT_BYTES) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self.per_client = per_client
        self.limits = limits or EngineLimits()
        self._connections = [Connection() for _ in range(self.limits.connections)]
        # Free connections; a request waits here for one (FIFO: queue.Queue wakes the
        # waiters in the order they began to wait).
        self._free: queue.Queue[Connection] = queue.Queue()
        for connection in self._connections:
            self._free.put(connection)
        self._version: tuple[float, str] = (0.0, "")
        self._version_lock = threading.Lock()
        self._clients: dict[str, int] = {}
        self.answers = AnswerCache(cache_bytes)

    def version(self) -> str:
        """A short digest of the event files and rollup parts (path, size, mtime): it
        changes when a writer, compaction or a rollup build changes what reports read.
        Heartbeats are left out: they change at every flush even when nothing was written."""
        with self._version_lock:
            stamp, digest = self._version
            if time.monotonic() - stamp < VERSION_TTL_SECONDS and digest:
                return digest
            hasher = hashlib.sha256()
            for folder in ("events", "rollups"):
                for entry in list_files(self.data_dir, folder, ".parquet"):
                    hasher.update(f"{entry.path}\0{entry.size}\0{entry.mtime}\n".encode())
            digest = hasher.hexdigest()[:16]
            self._version = (time.monotonic(), digest)
            return digest

    def _current(self, connection: Connection, version: str) -> Dataset:
        """The connection's dataset as of `version` (opened again when the data dir
        changed)."""
        from ..connection import open_dataset

        if connection.dataset is None or connection.version != version:
            # Not lazy: the what-if panel needs the whole price catalog, and the event views
            # are defined once per version rather than on a request's time.
            # The old connection goes first: each is its own DuckDB instance with its own
            # memory limit, and two at once could take twice the limit.
            if connection.dataset is not None:
                connection.dataset.con.close()
                connection.dataset = None
            connection.dataset = open_dataset(self.data_dir, configure=self.limits.apply)
            connection.version = version
        return connection.dataset

    async def run(self, request: Request, work: Callable[[Dataset], T],
                  key: str | None = None) -> T:
        """`work(dataset)` in a worker thread; Cancelled if the client leaves first. With
        `key` (the request, for answers that depend on the data alone), an answer of
        bytes is kept for the next request with that key on the same data version
        (answer_cache.py)."""
        client = request.client.host if request.client else "?"
        if self._clients.get(client, 0) >= self.per_client:
            raise TooBusy(f"{self.per_client} queries of this client are running already")
        self._clients[client] = self._clients.get(client, 0) + 1
        cancelled = threading.Event()
        outcome: dict[str, Any] = {}

        def job() -> None:
            try:
                version = self.version()
                if key is not None and (kept := self.answers.get(key, version)) is not None:
                    outcome["value"] = kept
                    return
                connection = self._free.get()
                try:
                    # Asked by several clients at once: the first to get here computed it.
                    if key is not None and (kept := self.answers.get(key, version)) is not None:
                        outcome["value"] = kept
                        return
                    dataset = self._current(connection, version)
                    connection.running = cancelled
                    if cancelled.is_set():
                        raise Cancelled("the client went away")
                    outcome["value"] = work(dataset)
                finally:
                    connection.running = None
                    self._free.put(connection)
                if key is not None and isinstance(outcome["value"], bytes):
                    self.answers.put(key, version, outcome["value"])
            except BaseException as exc:  # handed to the request's task below
                outcome["error"] = exc

        async def watch() -> None:
            # Once the client is gone, interrupt for as long as its work runs: an interrupt
            # that lands between two queries of a report (or before the first) is lost.
            while True:
                await anyio.sleep(WATCH_SECONDS)
                if cancelled.is_set() or await request.is_disconnected():
                    cancelled.set()
                    self._interrupt(cancelled)

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(watch)
                await anyio.to_thread.run_sync(job)
                group.cancel_scope.cancel()
        finally:
            self._clients[client] -= 1
            if not self._clients[client]:
                del self._clients[client]
        if cancelled.is_set():
            raise Cancelled("the client went away")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _interrupt(self, cancelled: threading.Event) -> None:
        """Stop the query of the connection that runs this client's (if none does, it has
        not started: the flag stops it before it does)."""
        for connection in self._connections:
            dataset = connection.dataset
            if connection.running is cancelled and dataset is not None:
                dataset.con.interrupt()

    def warm(self) -> None:
        """Open the dataset on every connection before the first request (run on a thread
        at start-up): its listing, schemas, price catalog and views take the first
        visitor's seconds otherwise. A failure is left for that request to report."""
        try:
            version = self.version()
            for _ in self._connections:
                # One at a time, so that a request that comes meanwhile waits for one
                # opening, not all: the queue hands out the connection freed longest ago.
                connection = self._free.get()
                try:
                    self._current(connection, version)
                finally:
                    self._free.put(connection)
        except Exception:  # e.g. an unreadable data dir: the page says so, in one line
            pass

    def close(self) -> None:
        taken = [self._free.get() for _ in self._connections]  # each once its query ended
        for connection in taken:
            if connection.dataset is not None:
                connection.dataset.con.close()
                connection.dataset = None
        self.limits.close()
