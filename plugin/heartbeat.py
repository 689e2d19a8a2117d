"""Where a writer's heartbeat goes, and where `llmstats status` finds it.

Its place is `<data dir>/writers/<writer>.json`. When the data dir cannot take it (full,
read-only, unreachable) — exactly when an operator most needs to see events being held or
dropped — the writer puts it in the first fallback that does:

1. `<spool dir>/.heartbeats/<writer>.json`: found from the same settings as the data dir
   (the spool is inside the data dir by default, or on a disk of its own);
2. `<state dir>/heartbeats/<digest of the data dir>/<writer>.json`: the user's state dir,
   usually another filesystem than a data dir that filled up.

Once the data dir takes the heartbeat again, the writer removes its fallback copies. The
dot name keeps the spool's fallback folder out of every listing of writer folders.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from .atomic import write_atomically
from .config import Settings, user_state_dir

SPOOL_FALLBACK_FOLDER = ".heartbeats"


def data_dir_digest(settings: Settings) -> str:
    """A short name for the data dir, alike however a relative local path was spelled."""
    local = settings.local_data_dir
    name = settings.data_dir if local is None else str(local.absolute())
    return hashlib.sha256(name.encode()).hexdigest()[:12]


def fallback_folders(settings: Settings, env: Mapping[str, str] | None = None) -> list[Path]:
    """The fallback folders, in the order the writer tries them."""
    return [
        settings.spool_dir / SPOOL_FALLBACK_FOLDER,
        user_state_dir(env or os.environ) / "heartbeats" / data_dir_digest(settings),
    ]


def write_fallback(settings: Settings, writer_id: str, body: bytes) -> Path:
    """Write the heartbeat to the first fallback folder that takes it; returns the file.
    Raises the last OSError when none does."""
    failure: OSError | None = None
    for folder in fallback_folders(settings):
        target = folder / f"{writer_id}.json"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_atomically(target, body)
        except OSError as exc:
            failure = exc
            continue
        return target
    assert failure is not None
    raise failure


def remove_fallbacks(settings: Settings, writer_id: str) -> None:
    for folder in fallback_folders(settings):
        with contextlib.suppress(OSError):
            (folder / f"{writer_id}.json").unlink(missing_ok=True)


def read_fallbacks(settings: Settings) -> list[tuple[Path, bytes]]:
    """Every fallback heartbeat of this data dir: (file, content)."""
    found: list[tuple[Path, bytes]] = []
    for folder in fallback_folders(settings):
        try:
            files = sorted(folder.glob("*.json"))
        except OSError:
            continue
        for path in files:
            with contextlib.suppress(OSError):
                found.append((path, path.read_bytes()))
    return found
