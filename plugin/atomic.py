"""Whole-file writes: a reader sees the old file or the new one, never half of one.

The data goes to a temporary name beside the target (a dot name, which every listing in
llmstats skips, with the process and thread ids in it, so two writers of the same file,
in two processes or two threads of one, never share one), then a rename puts it in place
in one step.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path


def write_atomically(target: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace `target` with `data`; `durable` also waits until the bytes are on disk
    before the rename (what a crash must not lose). Raises OSError; leaves no temporary
    file behind."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
