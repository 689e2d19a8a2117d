"""A small tmpfs for the full-disk and read-only tests: a real filesystem that really
fills up (ENOSPC) or really refuses writes (EROFS), which root's permission bypass makes
impossible with chmod. Tests that need one skip, with the reason, where mounting is not
allowed (not root, no CAP_SYS_ADMIN, a container without it)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_tmpfs(where: Path, size_kb: int, *, read_only: bool = False) -> Iterator[Path]:
    """Mount a tmpfs of `size_kb` at `where` (created) for the duration; skip if not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    options = f"size={size_kb}k" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ) if _may_mount() else None
    if mounted is None or mounted.returncode != 0:
        reason = mounted.stderr.strip() if mounted is not None else "not root"
        pytest.skip(f"cannot mount a tmpfs here ({reason})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30, check=False)


def remount(where: Path, *, read_only: bool) -> None:
    subprocess.run(
        ["mount", "-o", "remount," + ("ro" if read_only else "rw"), str(where)],
        capture_output=True,
        timeout=30,
        check=True,
    )


def fill(where: Path) -> Path:
    """Write a file until the filesystem is full; returns it (unlink it to free the space)."""
    filler = where / "filler"
    chunk = b"\0" * 4096
    with filler.open("wb", buffering=0) as handle:
        for _ in range(1 << 20):  # bounded: 4 GiB, far beyond any tmpfs made here
            try:
                handle.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    return filler


def _may_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
