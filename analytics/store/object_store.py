"""DuckDB over an object-store data dir (s3://…), without DuckDB's httpfs extension.

DuckDB reads remote files through extensions it downloads at run time, which a proxy
host or CI runner without internet cannot do. It also accepts any fsspec filesystem
(`DuckDBPyConnection.register_filesystem`) and then runs its own Parquet reader on top:
projection and filter pushdown, row-group statistics and hive partition pruning on
`date` all work as on local files. `ListingFileSystem` is that filesystem, backed by
pyarrow's S3 client (the writer's, with the same AWS credential chain), and tuned for a
dataset of many small immutable files:

- Every metadata question DuckDB asks (exists, size, last modified: four per file per
  query) is answered from the one listing `event_files()` already made, so a query
  costs no HEAD requests.
- A small file (below compaction's size limit: every writer flush) is fetched whole in
  one GET on open, instead of one ranged GET per column chunk, together with the other
  small files of its partition (16 requests in flight), and kept for the connection's
  next queries (files never change once written; the cache is bounded); large
  (compacted) files are read by range.
- A file compaction hid after this connection listed it (see `hidden_name`) is opened
  under its hidden name: readers that listed a replaced input a moment before it was
  hidden still read it, during the whole grace period.

fsspec comes with LiteLLM (through huggingface_hub); DuckDB only accepts fsspec objects.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from fsspec import AbstractFileSystem

from llmstats.plugin.manifests import HIDDEN_PREFIX, hidden_name, logical_name

from .files import REMOTE_THREADS, FileEntry, filesystem, scheme_of

if TYPE_CHECKING:
    import duckdb

WHOLE_FILE_BYTES = 32 * 1024 * 1024
"""Files below this are fetched in one request (compaction inputs are all below it)."""
CACHE_BYTES = 256 * 1024 * 1024
"""Small files a connection keeps in memory between queries (a report runs several)."""


_MISSING_CODES = ("NO_SUCH_KEY", "RESOURCE_NOT_FOUND")
"""How pyarrow's S3 client words a missing object in a read's OSError."""


def _twin(path: str) -> str:
    """The other name of a file: its hidden twin, or the name a twin was hidden from."""
    folder, _, name = path.rpartition("/")
    other = logical_name(name) if name.startswith(HIDDEN_PREFIX) else hidden_name(name)
    return f"{folder}/{other}"


class ListingFileSystem(AbstractFileSystem):
    """Read-only fsspec view of the files one listing found (full `scheme://` paths)."""

    cachable = False  # fsspec would otherwise keep every instance (and listing) alive

    def __init__(self, data_dir: str, entries: Iterable[FileEntry], *,
                 prefetch: bool = True) -> None:
        super().__init__()
        self.protocol = (scheme_of(data_dir),)
        self._scheme = scheme_of(data_dir)
        self._fs, _ = filesystem(data_dir)
        self._known = {entry.path: entry for entry in entries}
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._cache_lock = threading.Lock()
        self._pending: dict[str, Future[bytes]] = {}
        self._prefetched: set[str] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._prefetch = prefetch

    # DuckDB passes full URIs; keep them whole (fsspec would strip the scheme).
    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        return path

    def unstrip_protocol(self, name: str) -> str:
        return name

    def _entry(self, path: str) -> FileEntry:
        try:
            return self._known[path]
        except KeyError:
            raise FileNotFoundError(path) from None

    def glob(self, path: str, **kwargs: Any) -> list[str]:
        return [path] if path in self._known else []

    def exists(self, path: str, **kwargs: Any) -> bool:
        return path in self._known

    def isfile(self, path: str) -> bool:
        return path in self._known

    def isdir(self, path: str) -> bool:
        return False

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        entry = self._entry(path)
        return {"name": path, "size": entry.size, "type": "file", "mtime": self.modified(path)}

    def size(self, path: str) -> int:
        return self._entry(path).size

    def modified(self, path: str) -> dt.datetime:
        mtime = self._entry(path).mtime
        return dt.datetime.fromtimestamp(mtime or 0.0, dt.UTC)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        prefix = path.rstrip("/") + "/"
        names = [p for p in self._known if p.startswith(prefix)]
        return [self.info(p) for p in names] if detail else names

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "r" not in mode or "+" in mode:
            raise PermissionError("llmstats reads the data dir; it never writes through DuckDB")
        size = self._entry(path).size
        try:
            return self._open_inner(path, size)
        except FileNotFoundError:
            # Hidden (or un-hidden) since the listing: the same bytes under the other name.
            return self._open_inner(_twin(path), size)

    def _open_inner(self, path: str, size: int) -> Any:
        inner = path.split("://", 1)[1]
        if size < WHOLE_FILE_BYTES:
            return io.BytesIO(self._whole(path, inner))
        handle = self._fs.open_input_file(inner)
        handle.size()  # a missing object fails here, inside the fallback
        return handle


    def _whole(self, path: str, inner: str) -> bytes:
        with self._cache_lock:
            data = self._cache.get(path)
            if data is not None:
                self._cache.move_to_end(path)
                return data
            future = self._pending.get(path)
            if future is None:
                self._prefetch_folder(path)
                future = self._pending.get(path)
        if future is not None:
            return future.result()
        return self._fetch(path, inner)

    def _prefetch_folder(self, path: str) -> None:
        """A query that opens one small file of a partition reads the others too (DuckDB
        prunes whole partitions, never single files of one): fetch them all, many at a
        time, instead of one round trip after another. Call with the cache lock held."""
        folder = path.rpartition("/")[0]
        if not self._prefetch or folder in self._prefetched:
            return
        self._prefetched.add(folder)
        wanted = [e for p, e in self._known.items()
                  if p.rpartition("/")[0] == folder and e.size < WHOLE_FILE_BYTES
                  and p not in self._cache and p not in self._pending]
        if sum(e.size for e in wanted) > CACHE_BYTES // 2:
            return  # more than the cache holds: read on demand
        if self._pool is None:
            self._pool = ThreadPoolExecutor(REMOTE_THREADS, thread_name_prefix="llmstats-s3")
        for entry in wanted:
            self._pending[entry.path] = self._pool.submit(self._fetch_listed, entry.path)

    def _fetch_listed(self, path: str) -> bytes:
        try:
            return self._fetch(path, path.split("://", 1)[1])
        except FileNotFoundError:
            twin = _twin(path)  # hidden since the listing
            return self._fetch(path, twin.split("://", 1)[1])
        finally:
            with self._cache_lock:
                self._pending.pop(path, None)

    def _fetch(self, path: str, inner: str) -> bytes:
        try:
            with self._fs.open_input_stream(inner) as stream:
                data = bytes(stream.read())
        except FileNotFoundError:
            raise
        except OSError as exc:
            # The stream's GET runs at the first read: an object hidden or deleted after
            # the existence check fails there as a plain OSError. Say "not found", so the
            # callers' fallback to the hidden twin applies to it too.
            if any(code in str(exc) for code in _MISSING_CODES):
                raise FileNotFoundError(inner) from exc
            raise
        with self._cache_lock:
            if path not in self._cache and len(data) <= CACHE_BYTES:
                self._cache[path] = data
                self._cached_bytes += len(data)
                while self._cached_bytes > CACHE_BYTES:
                    _, evicted = self._cache.popitem(last=False)
                    self._cached_bytes -= len(evicted)
        return data


def register_object_store(con: duckdb.DuckDBPyConnection, data_dir: str,
                          entries: Iterable[FileEntry]) -> ListingFileSystem:
    """Let `con` read the listed files of an object-store data dir by their URIs."""
    listing = ListingFileSystem(data_dir, entries)
    con.register_filesystem(listing)
    return listing


def open_listed(data_dir: str, entry: FileEntry) -> Any:
    """A readable file object for one listed file (footer reads outside DuckDB), with the
    same fallback to a hidden twin."""
    return ListingFileSystem(data_dir, [entry], prefetch=False).open(entry.path, "rb")
