"""A local memo of each event file's column layout and (provider, model) pairs, so opening a dataset of thousands of
files does not re-read every footer. Files are immutable once renamed into place (a
recovery rewrite carries identical rows), so (path, size) identifies the layout.

Kept under $XDG_CACHE_HOME/llmstats/ (never in the data dir, which may be shared or
remote); losing it only costs one footer read per file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmstats.plugin.atomic import write_atomically

from .files import FileEntry


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmstats"


@dataclass
class SchemaCache:
    path: Path
    files: dict[str, list[Any]] = field(default_factory=dict)
    """path → [size, fingerprint, [[provider, model], ...], rows]"""
    layouts: dict[str, list[list[str]]] = field(default_factory=dict)
    """fingerprint → [[name, type], ...]"""
    dirty: bool = False

    @classmethod
    def for_data_dir(cls, data_dir: str) -> SchemaCache:
        digest = hashlib.sha256(data_dir.encode()).hexdigest()[:16]
        path = cache_dir() / f"schemas-{digest}.json"
        try:
            document = json.loads(path.read_text())
            return cls(path, document.get("files", {}), document.get("layouts", {}))
        except (OSError, ValueError, AttributeError):
            return cls(path)

    def get(self, entry: FileEntry) -> tuple[str, list[tuple[str | None, str | None]], int] | None:
        known = self.files.get(entry.path)
        if known and len(known) == 4 and known[0] == entry.size and known[1] in self.layouts:
            return str(known[1]), [(p, m) for p, m in known[2]], int(known[3])
        return None

    def put(
        self,
        entry: FileEntry,
        columns: list[tuple[str, str]],
        pairs: list[tuple[str | None, str | None]],
        rows: int,
    ) -> str:
        fingerprint = hashlib.sha256(json.dumps(columns).encode()).hexdigest()[:16]
        self.layouts[fingerprint] = [list(c) for c in columns]
        self.files[entry.path] = [entry.size, fingerprint, [list(p) for p in pairs], rows]
        self.dirty = True
        return fingerprint

    def columns(self, fingerprint: str) -> list[tuple[str, str]]:
        return [(name, type_) for name, type_ in self.layouts[fingerprint]]

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            body = json.dumps({"files": self.files, "layouts": self.layouts}).encode()
            write_atomically(self.path, body)
        except OSError:  # a read-only home only costs speed
            pass
