"""Small-file access to the data dir, local path or object-store URI alike.

Paths stay strings: a data dir may be `s3://bucket/prefix`, read through pyarrow's
filesystems, and nothing here assumes a local disk where that costs nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def is_remote(data_dir: str) -> bool:
    return "://" in data_dir and not data_dir.startswith("file://")


def local_path(data_dir: str) -> Path:
    return Path(data_dir.removeprefix("file://"))


def join(data_dir: str, relative: str) -> str:
    return f"{data_dir.rstrip('/')}/{relative}"


def _filesystem(data_dir: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    fs, root = pafs.FileSystem.from_uri(data_dir)
    return fs, root.rstrip("/")


def read_bytes(data_dir: str, relative: str) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    if not is_remote(data_dir):
        try:
            return (local_path(data_dir) / relative).read_bytes()
        except FileNotFoundError:
            return None
    fs, root = _filesystem(data_dir)
    try:
        with fs.open_input_stream(f"{root}/{relative}") as stream:
            return bytes(stream.read())
    except FileNotFoundError:
        return None


def write_bytes(data_dir: str, relative: str, data: bytes) -> None:
    """Write whole: a temporary name and a rename locally, so readers never see half a file."""
    if not is_remote(data_dir):
        target = local_path(data_dir) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return
    fs, root = _filesystem(data_dir)
    with fs.open_output_stream(f"{root}/{relative}") as out:
        out.write(data)


@dataclass(frozen=True)
class FileEntry:
    path: str
    """Full path or URI, as DuckDB reads it."""
    size: int


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
                        found.append(FileEntry(full, os.path.getsize(full)))
                    except FileNotFoundError:  # compacted or pruned meanwhile
                        continue
        return sorted(found, key=lambda entry: entry.path)
    import pyarrow.fs as pafs

    fs, root = _filesystem(data_dir)
    scheme = data_dir.split("://", 1)[0]
    try:
        infos = fs.get_file_info(pafs.FileSelector(f"{root}/{relative}", recursive=True))
    except FileNotFoundError:
        return []
    return sorted(
        (
            FileEntry(f"{scheme}://{info.path}", info.size or 0)
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
    fs, _ = _filesystem(data_dir)
    fs.move(path.split("://", 1)[1], target.split("://", 1)[1])
    return target
