"""Small-file access to the data dir, local path or object-store URI alike.

Paths stay strings: a data dir may be `s3://bucket/prefix`, read through pyarrow's
filesystems, and nothing here assumes a local disk where that costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmstats.plugin.data_dir_files import is_remote, local_path, object_store, write_file

__all__ = ["is_remote", "local_path", "write_file"]  # the data dir's one writer, re-exported

READER_GRACE_SECONDS = 900.0
"""How long a file no reader needs any more stays on disk (replaced compaction inputs,
unused rollup parts): a reader that listed it a moment ago may still open it. Readers
finish a report well within this; maintenance deletes only after it."""
REMOTE_THREADS = 16
"""Object-store requests in flight at once for bulk work (footers, deletes, copies)."""


def resolve_data_dir(data_dir: str | None = None) -> str:
    """The data dir: the argument, else what `load_settings()` resolves (env, file, default)."""
    from llmstats.plugin.config import check_data_dir, load_settings

    if data_dir is not None:
        return check_data_dir(str(data_dir))
    return load_settings().data_dir


def data_dir_exists(data_dir: str) -> bool:
    """Whether the data dir is there: a directory locally; on object storage, a bucket
    with at least one object under the prefix (a prefix exists only through its objects)."""
    if not is_remote(data_dir):
        return local_path(data_dir).is_dir()
    import pyarrow.fs as pafs

    fs, root = filesystem(data_dir)
    return bool(fs.get_file_info(root).type == pafs.FileType.Directory)


def scheme_of(data_dir: str) -> str:
    return data_dir.split("://", 1)[0]


def fs_path(uri: str) -> str:
    """The path inside its filesystem of a full `scheme://bucket/key` URI."""
    return uri.split("://", 1)[1] if "://" in uri else uri


def join(data_dir: str, relative: str) -> str:
    return f"{data_dir.rstrip('/')}/{relative}"


def filesystem(data_dir: str) -> tuple[Any, str]:
    """The pyarrow filesystem of an object-store data dir and its root inside it (one
    client per data dir and AWS environment: plugin/data_dir_files.py)."""
    return object_store(data_dir)


def read_bytes(data_dir: str, relative: str) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    if not is_remote(data_dir):
        try:
            return (local_path(data_dir) / relative).read_bytes()
        except FileNotFoundError:
            return None
    fs, root = filesystem(data_dir)
    try:
        with fs.open_input_stream(f"{root}/{relative}") as stream:
            return bytes(stream.read())
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class FileEntry:
    path: str
    """Full path or URI, as DuckDB reads it."""
    size: int
    mtime: float | None = None
    """Seconds since the epoch, where the listing gave it (object stores do)."""


def list_files(data_dir: str, relative: str, suffix: str) -> list[FileEntry]:
    """Files under `relative` ending in `suffix`, sorted, hidden (dot) files left out:
    the writer's temporary files are dot-files until their atomic rename."""
    if not is_remote(data_dir):
        base = local_path(data_dir) / relative
        if not base.is_dir():
            return []
        found = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                if name.endswith(suffix) and not name.startswith("."):
                    full = os.path.join(dirpath, name)
                    try:
                        stat = os.stat(full)
                    except FileNotFoundError:  # compacted or pruned meanwhile
                        continue
                    found.append(FileEntry(full, stat.st_size, stat.st_mtime))
        return sorted(found, key=lambda entry: entry.path)
    import pyarrow.fs as pafs

    fs, root = filesystem(data_dir)
    scheme = data_dir.split("://", 1)[0]
    try:
        infos = fs.get_file_info(pafs.FileSelector(f"{root}/{relative}", recursive=True))
    except FileNotFoundError:
        return []
    return sorted(
        (
            FileEntry(f"{scheme}://{info.path}", info.size or 0,
                      info.mtime.timestamp() if info.mtime else None)
            for info in infos
            if info.type == pafs.FileType.File
            and info.base_name.endswith(suffix)
            and not info.base_name.startswith(".")
        ),
        key=lambda entry: entry.path,
    )


def move_aside(data_dir: str, path: str, folder: str = "quarantine") -> str:
    """Move a file out of the dataset into `<data_dir>/<folder>/`, keeping its relative path."""
    base = data_dir.rstrip("/")
    relative = path[len(base) + 1 :] if path.startswith(base + "/") else os.path.basename(path)
    target = join(data_dir, f"{folder}/{relative}")
    if not is_remote(data_dir):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        return target
    fs, _ = filesystem(data_dir)
    fs.move(path.split("://", 1)[1], target.split("://", 1)[1])
    return target


def delete_files(data_dir: str, paths: Iterable[str]) -> int:
    """Delete files (full paths or URIs); missing ones are skipped. Returns the number
    deleted. Object stores take one request per object: several run at once."""
    targets = list(paths)
    if not is_remote(data_dir):
        deleted = 0
        for path in targets:
            try:
                os.unlink(path)
                deleted += 1
            except FileNotFoundError:
                pass
        return deleted
    fs, _ = filesystem(data_dir)

    def delete(uri: str) -> int:
        try:
            fs.delete_file(fs_path(uri))
            return 1
        except FileNotFoundError:
            return 0

    with ThreadPoolExecutor(REMOTE_THREADS) as pool:
        return sum(pool.map(delete, targets))


def copy_files(data_dir: str, pairs: Iterable[tuple[str, str]]) -> None:
    """Server-side copies (source URI, target URI) on an object store, several at once."""
    fs, _ = filesystem(data_dir)

    def copy(pair: tuple[str, str]) -> None:
        fs.copy_file(fs_path(pair[0]), fs_path(pair[1]))

    with ThreadPoolExecutor(REMOTE_THREADS) as pool:
        list(pool.map(copy, list(pairs)))


def upload_file(data_dir: str, local: Path, relative: str) -> None:
    """Upload a complete local file to `<data_dir>/<relative>` on an object store.

    The source is finished (and fsynced) before the upload starts, so the only way an
    upload stops half-way is a failure of the upload itself, and S3 never shows an
    object whose PUT or multipart upload did not complete."""
    import pyarrow.fs as pafs

    fs, root = filesystem(data_dir)
    pafs.copy_files(str(local), f"{root}/{relative}",
                    source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)
