"""Where finished files go: a local directory or any pyarrow filesystem (object storage).

Readers must never see a partial file. Locally that is a temporary name plus an atomic
rename (after fsync, so the spool segment can be deleted safely). On object storage the
final name is written directly: S3 shows an object only once its PUT, or the completion
of its multipart upload, has succeeded — a writer killed half-way leaves nothing
visible (tests/test_object_store.py kills one mid-upload). What must hold on our side is
that every byte handed to an output stream belongs to a finished payload: pyarrow
completes an upload when the stream is closed, even on the way out of an exception, so
payloads are built in memory (or in a finished local file) before the stream opens and
go in with one write.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True}


def object_store(data_dir: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem of an object-store data dir and the root inside it; every
    llmstats client of the data dir is made here.

    Credentials and endpoint come from the provider's own chain (for S3, the AWS SDK's:
    AWS_* variables, ~/.aws config and profiles, web identity, container and instance
    roles; AWS_ENDPOINT_URL for S3-compatible servers), never from llmstats' settings.
    S3 streams open lazily (`allow_delayed_open`), so an object smaller than a part is
    one PUT instead of three multipart requests."""
    uri = data_dir + "?allow_delayed_open=true" if data_dir.startswith("s3://") else data_dir
    fs, root = pafs.FileSystem.from_uri(uri)
    return fs, root.rstrip("/")


class Sink:
    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self._local: Path | None = None
        self._fs: pafs.FileSystem | None = None
        self._root = ""
        if "://" in data_dir and not data_dir.startswith("file://"):
            self._fs, self._root = object_store(data_dir)
        else:
            self._local = Path(data_dir.removeprefix("file://"))

    def write_table(self, relative: str, table: pa.Table) -> None:
        buffer = io.BytesIO()
        pq.write_table(table, buffer, **PARQUET_OPTIONS)
        self.write_bytes(relative, buffer.getvalue())

    def write_bytes(self, relative: str, data: bytes) -> None:
        if self._local is not None:
            self._write_local(self._local / relative, data)
            return
        assert self._fs is not None
        path = f"{self._root}/{relative}"
        with self._fs.open_output_stream(path) as out:
            out.write(data)

    @staticmethod
    def _write_local(target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A dot-prefixed temporary name: hive readers and globs skip hidden files.
        tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
