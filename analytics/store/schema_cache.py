"""A local memo of each event file's column layout and (provider, model) pairs, so opening a dataset of thousands of
files does not re-read every footer. Files are immutable once renamed into place (a
recovery rewrite carries identical rows), so (path, size) identifies the layout.

Kept under $XDG_CACHE_HOME/llmstats/ (never in the data dir, which may be shared or
remote); losing it only costs one footer read per file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmstats.plugin.atomic import write_atomically

from .files import FileEntry


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmstats"


@functools.cache
def contract_key() -> str:
    """Which event schema judged the layouts: a digest of plugin/schema.py's source (read
    as bytes: a report served by rollups must not import pyarrow to know it)."""
    import llmstats.plugin

    try:
        source = (Path(llmstats.plugin.__file__).parent / "schema.py").read_bytes()
    except OSError:  # an install without sources: each version judges layouts anew
        from llmstats.plugin.versions import package_version

        return f"version {package_version()}"
    return hashlib.sha256(source).hexdigest()[:16]


@dataclass
class SchemaCache:
    path: Path
    files: dict[str, list[Any]] = field(default_factory=dict)
    """path → [size, fingerprint, [[provider, model], ...], rows]"""
    layouts: dict[str, list[list[str]]] = field(default_factory=dict)
    """fingerprint → [[name, type], ...]"""
    problems: dict[str, str] = field(default_factory=dict)
    """fingerprint → why files of that layout are not event files ("" when they are), as
    judged under the event schema `contract_key()` names"""
    dirty: bool = False

    @classmethod
    def for_data_dir(cls, data_dir: str) -> SchemaCache:
        digest = hashlib.sha256(data_dir.encode()).hexdigest()[:16]
        path = cache_dir() / f"schemas-{digest}.json"
        try:
            document = json.loads(path.read_text())
            problems = document.get("problems", {}) if (
                document.get("contract") == contract_key()) else {}
            return cls(path, document.get("files", {}), document.get("layouts", {}), problems)
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

    def problem(self, fingerprint: str,
                judge: Callable[[list[tuple[str, str]]], str | None]) -> str | None:
        """Why the layout is not an event file's (None when it is), judged once."""
        known = self.problems.get(fingerprint)
        if known is None:
            known = judge(self.columns(fingerprint)) or ""
            self.problems[fingerprint] = known
            self.dirty = True
        return known or None

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            body = json.dumps({"files": self.files, "layouts": self.layouts,
                               "problems": self.problems, "contract": contract_key()}).encode()
            write_atomically(self.path, body)
        except OSError:  # a read-only home only costs speed
            pass
