"""What rollups a connection can use: the parts on disk (`all_parts`), which part serves
each partition of the files a dataset reads (`index_rollups`), and the per-connection
state reports plan with (`ReportContext`: the index, the views defined so far, warnings).

A part serves a partition only while the partition's event files give exactly the key its
rows were computed from (rollups/spec.py); `open_dataset()` indexes once per connection.
"""

from __future__ import annotations

import itertools
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..store.files import (
    REMOTE_THREADS,
    FileEntry,
    is_remote,
    join,
    list_files,
    local_path,
    read_bytes,
)
from .spec import (
    CUBES,
    CUBES_BY_NAME,
    ROLLUPS_FOLDER,
    Cube,
    parse_part_manifest,
    parse_part_pricing,
    part_document,
    source_key,
)

if TYPE_CHECKING:
    import duckdb


@dataclass
class RollupPart:
    path: str
    """The part's Parquet file."""
    partitions: dict[str, tuple[str, list[int] | None]]
    """date → (key of the event files its rows were computed from, input-token splits)."""
    size: int = 0
    """Bytes of the Parquet file, as listed (object storage reads need it)."""
    pricing: dict[str, Any] = field(default_factory=dict)
    """date → the pricing its rows were priced under (rollups/pricing_key.py; the
    priced copy only)."""


@dataclass
class RollupIndex:
    partitions: dict[str, str] = field(default_factory=dict)
    """date → key of the event files the dataset reads for that partition."""
    available: dict[str, dict[str, RollupPart]] = field(default_factory=dict)
    """cube → {date: the newest part with rows of exactly those files}."""
    parts: dict[str, list[RollupPart]] = field(default_factory=dict)
    """cube → every readable part, newest first."""
    priced: dict[str, set[str]] = field(default_factory=dict)
    """rows cube → dates priced as today's pricing prices them (computed on first use)."""
    fingerprints: dict[Any, str] | None = None
    """Today's pricing fingerprint of each (provider, model) (rollups/pricing_key.py),
    computed on first use."""
    undecided: dict[str, set[str]] = field(default_factory=dict)
    """sums cube → dates with rows whose long-context tier today's catalog cannot decide
    (computed on first use)."""

    def serving(self) -> list[FileEntry]:
        """The part files reports may read (what an object-store reader must know)."""
        found = {s.path: s for served in self.available.values() for s in served.values()}
        return [FileEntry(path, part.size) for path, part in sorted(found.items())]


def list_parts(data_dir: str, cube: Cube) -> list[RollupPart]:
    """The cube's parts with a readable manifest, newest first. A Parquet file without
    its manifest (a build that died, or one being written) is not a part."""
    return all_parts(data_dir, (cube,))[cube.name]


def _listed_names(data_dir: str, cubes: tuple[Cube, ...]) -> dict[str, dict[str, int]]:
    """cube → {file name: bytes} of the cubes' folders: one listing of the whole rollups
    folder on object storage (a request per 1,000 objects), a directory read per cube
    locally."""
    found: dict[str, dict[str, int]] = {cube.name: {} for cube in cubes}
    if is_remote(data_dir):
        base = join(data_dir, ROLLUPS_FOLDER) + "/"
        for entry in list_files(data_dir, ROLLUPS_FOLDER, ""):
            folder, _, name = entry.path.removeprefix(base).partition("/")
            if folder in found and "/" not in name:
                found[folder][name] = entry.size
        return found
    for cube in cubes:
        try:
            found[cube.name] = dict.fromkeys(
                os.listdir(local_path(join(data_dir, f"{ROLLUPS_FOLDER}/{cube.name}"))), 0)
        except (FileNotFoundError, NotADirectoryError):
            pass
    return found


def all_parts(data_dir: str, cubes: tuple[Cube, ...] = CUBES) -> dict[str, list[RollupPart]]:
    """Each cube's parts with a readable manifest, newest first (see list_parts).
    Object storage: the manifests are fetched many at a time."""
    listed = _listed_names(data_dir, cubes)
    wanted = []
    for cube in cubes:
        names = listed[cube.name]
        for name in sorted(names, reverse=True):
            manifest = name[: -len(".parquet")] + ".json"
            if name.startswith("part-") and name.endswith(".parquet") and manifest in names:
                wanted.append((cube.name, name, f"{ROLLUPS_FOLDER}/{cube.name}/{manifest}"))
    if is_remote(data_dir) and len(wanted) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(REMOTE_THREADS) as pool:
            texts = list(pool.map(lambda w: read_bytes(data_dir, w[2]), wanted))
    else:
        texts = [read_bytes(data_dir, w[2]) for w in wanted]
    found: dict[str, list[RollupPart]] = {cube.name: [] for cube in cubes}
    for (cube_name, name, _), text in zip(wanted, texts, strict=True):
        document = part_document(text)
        parsed = parse_part_manifest(document)
        if parsed is not None:
            path = join(data_dir, f"{ROLLUPS_FOLDER}/{cube_name}/{name}")
            pricing = parse_part_pricing(document) if CUBES_BY_NAME[cube_name].priced else {}
            found[cube_name].append(RollupPart(path, parsed, listed[cube_name][name], pricing))
    return found


def index_rollups(data_dir: str, files: list[FileEntry],
                  listed: dict[str, list[RollupPart]] | None = None) -> RollupIndex:
    """Which part serves each partition of `files` in each cube: the newest one made
    from exactly those files. `listed`: all_parts() as the caller took it already."""
    from ..store.dataset import partition_date

    by_date: dict[str, list[FileEntry]] = {}
    for entry in files:
        date = partition_date(entry.path)
        if date:
            by_date.setdefault(date, []).append(entry)
    index = RollupIndex({date: source_key(entries) for date, entries in by_date.items()})
    if not by_date:
        return index  # nothing to serve: spare the listing
    for cube_name, parts in (all_parts(data_dir) if listed is None else listed).items():
        index.parts[cube_name] = parts
        served = index.available.setdefault(cube_name, {})
        for part in parts:
            for date, (key, _ladder) in part.partitions.items():
                if date not in served and index.partitions.get(date) == key:
                    served[date] = part
    return index


@dataclass
class ReportContext:
    """What open_dataset found for a connection, for the reports run on it."""

    index: RollupIndex
    ensure_events: Callable[[], None] = lambda: None
    """Defines the event views rollup-backed reports fall back on (`events`,
    `token_basis`, `cost_basis`, `event_costs`) if the connection was opened without them."""
    ensure_views: Callable[[], None] = lambda: None
    """Defines every view of sql/ (those and `segments`, `requests`, `errors`, ...)."""
    views: Any = field(default_factory=itertools.count)
    warnings: list[str] = field(default_factory=list)
    """Rollups that could not be read (the reports read those days' events instead)."""


_CONTEXTS: weakref.WeakKeyDictionary[Any, ReportContext] = weakref.WeakKeyDictionary()


def attach(con: duckdb.DuckDBPyConnection, context: ReportContext) -> None:
    _CONTEXTS[con] = context


def context_of(con: duckdb.DuckDBPyConnection) -> ReportContext | None:
    return _CONTEXTS.get(con)


def require_events(con: duckdb.DuckDBPyConnection) -> None:
    """Define the event views on a connection opened without them (a no-op otherwise):
    for reports that always read events, run on a connection a rollup-backed report
    opened (the HTML dashboard runs both kinds on one)."""
    context = context_of(con)
    if context is not None:
        context.ensure_views()


