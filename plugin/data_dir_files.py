"""Whole files in the data dir, a local path or an object-store URI alike.

`write_file()` is the one way a whole file enters the data dir (event files, rollup parts
and their manifests, the pricing snapshot and overrides): readers never see a partial
file. Locally that is a temporary dot-name (hive readers and globs skip hidden files),
fsync, then an atomic rename. On object storage the final name is written directly: S3
shows an object only once its PUT, or the completion of its multipart upload, has
succeeded — a writer killed half-way leaves nothing visible (tests/test_object_store.py
kills one mid-upload). What must hold on our side is that every byte handed to an output
stream belongs to a finished payload: pyarrow completes an upload when the stream is
closed, even on the way out of an exception, so payloads are built in memory (or in a
finished local file) before the stream opens and go in with one write.

Imports nothing heavy at module level: report paths that never touch object storage must
not pay for pyarrow.
"""

from __future__ import annotations

import functools
import os
import uuid
from pathlib import Path
from typing import Any


def is_remote(data_dir: str) -> bool:
    """An object-store URI (s3://…), not a local path or file:// URI."""
    return "://" in data_dir and not data_dir.startswith("file://")


def local_path(data_dir: str) -> Path:
    return Path(data_dir.removeprefix("file://"))


def object_store(data_dir: str) -> tuple[Any, str]:
    """The pyarrow filesystem of an object-store data dir and the root inside it; every
    llmstats client of the data dir is made here, one per data dir and AWS environment
    (creating an S3 client resolves credentials and the bucket's region: requests).

    Credentials and endpoint come from the provider's own chain (for S3, the AWS SDK's:
    AWS_* variables, ~/.aws config and profiles, web identity, container and instance
    roles; AWS_ENDPOINT_URL for S3-compatible servers), never from llmstats' settings.
    S3 streams open lazily (`allow_delayed_open`), so an object smaller than a part is
    one PUT instead of three multipart requests."""
    env = os.environ
    return _object_store_for(data_dir, env.get("AWS_ENDPOINT_URL"), env.get("AWS_PROFILE"),
                             env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_REGION"))


@functools.lru_cache(maxsize=8)
def _object_store_for(data_dir: str, *environment: str | None) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    uri = data_dir + "?allow_delayed_open=true" if data_dir.startswith("s3://") else data_dir
    fs, root = pafs.FileSystem.from_uri(uri)
    return fs, root.rstrip("/")


def filesystem(data_dir: str) -> tuple[Any, str]:
    """A pyarrow filesystem and the root path inside it: local paths and s3:// alike."""
    if not is_remote(data_dir):
        import pyarrow.fs as pafs

        return pafs.LocalFileSystem(), str(local_path(data_dir).absolute())
    return object_store(data_dir)


def write_file(data_dir: str, relative: str, data: bytes) -> None:
    """Put a whole file at `<data_dir>/<relative>`, durably (see the module's docstring).
    Raises OSError; leaves no temporary file behind."""
    if not is_remote(data_dir):
        _write_local(local_path(data_dir) / relative, data)
        return
    fs, root = object_store(data_dir)
    with fs.open_output_stream(f"{root}/{relative}") as out:
        out.write(data)


def _write_local(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
