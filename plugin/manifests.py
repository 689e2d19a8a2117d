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

On object storage compaction also hides each replaced input from other engines under
`_replaced-<name>` (Spark, Trino and Athena skip `_` files); `resolve` counts a file once
under either name, and decides between two compactions that ran at once (docs/fleet.md).

Stdlib only, so the writer's retention run can count rows without duckdb.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

COMPACTED_PREFIX = "compacted-"
MANIFEST_PREFIX = "_compaction-"
HIDDEN_PREFIX = "_replaced-"
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


@dataclass
class Compaction:
    """A compacted file in a listing and what its manifest says it replaces."""

    folder: str
    name: str
    id: str
    created_at: float
    claimed_at: float
    """When its rows were first claimed by a compaction: the oldest `created_at` along
    its lineage (a compaction of a compacted file inherits that file's claim)."""
    inputs: frozenset[str]
    """Logical names of every file merged into it, transitively."""


@dataclass
class Resolution:
    """What one listing of event files means (see `resolve`)."""

    excluded: set[str] = field(default_factory=set)
    """Listed paths a reader must leave out."""
    winners: list[Compaction] = field(default_factory=list)
    """Compacted files whose inputs are replaced: they hold those rows now."""
    losers: list[tuple[Compaction, Compaction]] = field(default_factory=list)
    """(compacted file, the winner it overlaps): it merged some of the winner's inputs at
    the same time (two compactions without a lock) and counts for nothing."""
    replaced: set[str] = field(default_factory=set)
    """folder/logical name of every file a winner replaces."""
    paths: dict[str, list[str]] = field(default_factory=dict)
    """folder/logical name → the listed paths of that file (the name and/or its hidden twin)."""


def hidden_name(name: str) -> str:
    """The name a replaced input is hidden under on object storage: Spark, Hive, Trino and
    Athena skip files whose names start with `_`, so other engines stop counting it, while
    llmstats readers that listed the original name still open it under this one."""
    return name if name.startswith(HIDDEN_PREFIX) else HIDDEN_PREFIX + name


def logical_name(name: str) -> str:
    return name.removeprefix(HIDDEN_PREFIX)


def resolve(paths: Iterable[str], read: Callable[[str], bytes | None]) -> Resolution:
    """The consistent view of one listing: which listed files a reader counts.

    `paths` are the listed event files, original names and hidden twins alike; `read(path)`
    returns a file's bytes or None. Per partition folder:

    - A file listed under its name and its hidden twin (mid-hide) counts once, by name;
      any other `_` name is hidden from every engine and counts for nothing.
    - A compacted file without a readable manifest replaces nothing (its manifest is
      written before it appears, so this only happens to a hand-damaged dataset).
    - Compacted files are taken in the order their rows were first claimed (`claimed_at`:
      the manifest's creation, inherited from a compacted input). One is a *winner*
      unless it overlaps an earlier winner that it did not merge: then two compactions
      ran at once (object storage has no lock) and the later one *loses* (it is left
      out; its inputs that the winner did not take stay visible). A winner that merged
      an earlier winner supersedes it (compaction of a compacted file), and keeps its
      place in the order even once that file is deleted.
    - The inputs of winners (transitively: a manifest lists what its inputs replaced) are
      excluded. The result holds every row exactly once, whatever the listing caught.
    """
    by_folder: dict[str, dict[str, list[str]]] = {}
    result = Resolution()
    for path in paths:
        folder, _, name = path.rpartition("/")
        if name.startswith("_") and not name.startswith(HIDDEN_PREFIX):
            result.excluded.add(path)  # hidden from every engine (e.g. an upload in flight)
            continue
        by_folder.setdefault(folder, {}).setdefault(logical_name(name), []).append(path)
    for folder, files in by_folder.items():
        candidates = []
        for logical, listed in files.items():
            result.paths[f"{folder}/{logical}"] = sorted(listed, key=len)
            if len(listed) > 1:  # name and twin: count the name
                result.excluded.update(p for p in listed if p.rpartition("/")[2] != logical)
            compaction_id = compaction_id_of(logical)
            if compaction_id is None:
                continue
            manifest = parse_manifest(read(f"{folder}/{manifest_name(compaction_id)}"))
            if manifest is None:
                continue
            inputs = frozenset(n for n in manifest["inputs"]
                               if isinstance(n, str) and "/" not in n and n != logical)
            created = _seconds(manifest.get("created_at"), 0.0)
            candidates.append(Compaction(folder, logical, compaction_id, created,
                                         _seconds(manifest.get("claimed_at"), created), inputs))
        accepted: dict[str, Compaction] = {}
        for candidate in sorted(candidates, key=lambda c: (c.claimed_at, c.created_at, c.id)):
            if any(candidate.name in winner.inputs for winner in accepted.values()):
                continue  # merged already by a winner taken earlier (clocks disagree)
            beaten_by = next((w for w in accepted.values()
                              if w.inputs & candidate.inputs and w.name not in candidate.inputs),
                             None)
            if beaten_by is not None:
                result.losers.append((candidate, beaten_by))
                continue
            for name in [n for n in accepted if n in candidate.inputs]:
                del accepted[name]
            accepted[candidate.name] = candidate
        result.winners.extend(accepted.values())
        gone = {n for winner in accepted.values() for n in winner.inputs}
        gone |= {loser.name for loser, _ in result.losers if loser.folder == folder}
        result.replaced |= {f"{folder}/{n}" for winner in accepted.values() for n in winner.inputs}
        for logical in gone & files.keys():
            result.excluded.update(files[logical])
    return result


def _seconds(value: object, default: float) -> float:
    return float(value) if isinstance(value, int | float) else default


def superseded(paths: Iterable[str], read: Callable[[str], bytes | None]) -> set[str]:
    """The paths (from one listing) a reader leaves out: see `resolve`."""
    return resolve(paths, read).excluded
