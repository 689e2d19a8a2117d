"""Compaction manifests: which event files a compacted file replaces.

`llmstats compact` merges a partition's small files into `compacted-<id>.parquet` and
records the names it merged in `_compaction-<id>.json` next to it (the leading
underscore hides it from hive-style readers; the suffix keeps it out of `*.parquet`
listings). A reader excludes every file named in the manifest of a compacted file that
is *in its own listing*, so one listing gives one consistent view: before the compacted
file appears, the inputs count; from then on, only the compacted file does. Inputs stay
on disk for a grace period (a reader that listed them a moment ago can still open
them); manifests stay for good, so an input the writer's crash recovery re-creates
later under the same deterministic name stays excluded.

Stdlib only, so the writer's retention run can count rows without duckdb.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

COMPACTED_PREFIX = "compacted-"
MANIFEST_PREFIX = "_compaction-"
_COMPACTED = re.compile(r"^compacted-([0-9A-Za-z_-]+)\.parquet$")


def compacted_name(compaction_id: str) -> str:
    return f"{COMPACTED_PREFIX}{compaction_id}.parquet"


def manifest_name(compaction_id: str) -> str:
    return f"{MANIFEST_PREFIX}{compaction_id}.json"


def compaction_id_of(name: str) -> str | None:
    match = _COMPACTED.match(name)
    return match.group(1) if match else None


def parse_manifest(data: bytes | None) -> dict[str, Any] | None:
    if not data:
        return None
    try:
        manifest = json.loads(data)
    except ValueError:
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("inputs"), list):
        return None
    return manifest


def superseded(paths: Iterable[str], read: Callable[[str], bytes | None]) -> set[str]:
    """The paths (from one listing) that a compacted file in the same listing replaces.

    `read(path)` returns a file's bytes or None. A compacted file without a readable
    manifest supersedes nothing (its inputs stay visible; the manifest is written
    before the compacted file is renamed into place, so this only happens to a
    hand-damaged dataset). Exclusion is transitive: a later compaction that merges an
    earlier compacted file lists that file's inputs too."""
    listed = list(paths)
    by_folder: dict[str, set[str]] = {}
    for path in listed:
        folder, _, name = path.rpartition("/")
        by_folder.setdefault(folder, set()).add(name)
    excluded: set[str] = set()
    for folder, names in by_folder.items():
        for name in names:
            compaction_id = compaction_id_of(name)
            if compaction_id is None:
                continue
            manifest = parse_manifest(read(f"{folder}/{manifest_name(compaction_id)}"))
            if manifest is None:
                continue
            excluded.update(f"{folder}/{input_name}" for input_name in manifest["inputs"]
                            if isinstance(input_name, str) and input_name != name)
    return excluded
