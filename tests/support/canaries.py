"""Privacy canaries: unique strings planted in content that must never reach disk or logs."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow.parquet as pq


def new_canary(place: str) -> str:
    return f"CANARY_{place}_{uuid.uuid4().hex[:12]}"


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def leaked_canaries(root: Path, canaries: list[str], logs: str = "") -> list[str]:
    """Canaries found in any file's raw bytes, in decoded Parquet values, or in the logs."""
    texts = [logs]
    for path in files_under(root):
        raw = path.read_bytes()
        texts.append(raw.decode("latin-1"))
        if path.suffix == ".parquet":
            texts.append(repr(pq.read_table(path).to_pylist()))
    return [c for c in canaries if any(c in text for text in texts)]
