"""`llmstats status`: where the data is, how much, which dates, and whether writers are alive."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store.files import list_files, read_bytes

if TYPE_CHECKING:
    from ..connection import Dataset

STALE_AFTER_SECONDS = 300.0
"""A heartbeat older than this (or three flush intervals, if longer) marks a writer stale."""


def writer_health(
    data_dir: str, now: float | None = None, fallbacks: Iterable[tuple[Path, bytes]] = ()
) -> list[dict[str, Any]]:
    """One row per writer: its `writers/<writer>.json` heartbeat, or the newer copy a writer
    left in a fallback folder while the data dir refused it (plugin/heartbeat.py; such a
    row says where in `heartbeat_in`). Keys: see EventWriter.heartbeat_document."""
    now = time.time() if now is None else now
    found: list[tuple[str, str | None, bytes]] = []  # (file, fallback folder, content)
    for entry in list_files(data_dir, "writers", ".json"):
        relative = entry.path[len(data_dir.rstrip("/")) + 1 :]
        found.append((relative, None, read_bytes(data_dir, relative) or b"{}"))
    found += [(str(path), str(path.parent), body) for path, body in fallbacks]
    rows: dict[str, dict[str, Any]] = {}
    newest: dict[str, float] = {}
    for name, where, raw in found:
        try:
            beat = json.loads(raw)
        except ValueError:
            beat = None
        if not isinstance(beat, dict):
            rows[name] = {"writer_id": name, "health": "unreadable heartbeat", "last_seen_s_ago": None}
            continue
        updated = beat.get("updated_at")
        stamp = float(updated) if isinstance(updated, int | float) else 0.0
        writer = str(beat.get("writer_id"))
        if writer in rows and newest[writer] >= stamp:
            continue
        newest[writer] = stamp
        rows[writer] = _health_row(beat, now, where)
    return list(rows.values())


def _health_row(beat: dict[str, Any], now: float, where: str | None) -> dict[str, Any]:
    updated = beat.get("updated_at")
    age = now - updated if isinstance(updated, int | float) else None
    limit = max(STALE_AFTER_SECONDS, 3 * float(beat.get("flush_seconds") or 0))
    # `lost`: the drops that lose an event (a duplicate or a settled response marker is
    # dropped too, by design); a heartbeat older than that field counted only those.
    lost = beat.get("lost", beat.get("dropped"))
    if lost:
        health = "dropping events"
    elif age is not None and age > limit:
        health = "stale (exited or stopped)"
    elif beat.get("last_error"):
        health = "error"
    else:
        health = "ok"
    row = {
        "writer_id": beat.get("writer_id"),
        "host": beat.get("host"),
        "pid": beat.get("pid"),
        "health": health,
        "last_seen_s_ago": None if age is None else round(age, 1),
        "written": beat.get("written"),
        "recovered": beat.get("recovered"),
        "dropped": beat.get("dropped"),
        "lost": lost,
        "held": beat.get("held"),
        "last_error": beat.get("last_error"),
    }
    if beat.get("hashes_withheld"):
        row["hashes_withheld"] = beat["hashes_withheld"]
    if where is not None:
        row["heartbeat_in"] = where
    return row


def fallback_heartbeats(data_dir: str) -> list[tuple[Path, bytes]]:
    """Heartbeats writers of this data dir left in their fallback folders (spool dir, state
    dir) while the data dir refused them."""
    from llmstats.plugin.config import ConfigError, load_settings
    from llmstats.plugin.heartbeat import read_fallbacks

    try:
        settings = load_settings(data_dir=data_dir)
    except ConfigError:  # `--data-dir` given, another setting broken: where is unknown
        return []
    return read_fallbacks(settings)


def writer_notes(writers: list[dict[str, Any]]) -> list[str]:
    if not writers:
        return ["No writer heartbeats yet (writers/*.json)."]
    elsewhere = sorted({w["heartbeat_in"] for w in writers if w.get("heartbeat_in")})
    return [
        f"Heartbeats read from {where}: the data dir refused them (full, read-only or unreachable)."
        for where in elsewhere
    ]


def dataset_status(dataset: Dataset) -> dict[str, Any]:
    from ..pricing.overrides import load_overrides
    from .reports import run

    state = dataset.state
    counts = run(
        dataset.con,
        "SELECT count(*) AS rows, min(date) AS first_date, "
        "max(date) AS last_date, count(DISTINCT date) AS days FROM events",
    )
    summary = counts.to_pylist()[0]
    return {
        "data_dir": state.data_dir,
        "files": len(state.files),
        "bytes": sum(entry.size for entry in state.files),
        "rows": summary["rows"],
        "bytes_per_event": (sum(e.size for e in state.files) / summary["rows"])
        if summary["rows"]
        else None,
        "first_date": summary["first_date"],
        "last_date": summary["last_date"],
        "days": summary["days"],
        "unreadable_files": len(state.skipped),
        "pricing_catalog": f"{dataset.catalog_info.source} "
        f"(litellm {dataset.catalog_info.litellm_version}, {dataset.catalog_info.models} models)",
        "price_overrides": len(load_overrides(state.data_dir)),
        **rollup_status(dataset),
        **maintenance_status(state.data_dir),
    }


def rollup_status(dataset: Dataset) -> dict[str, Any]:
    """How many partitions rollups cover (every cube up to date), and which closed days
    reports still read from their events."""
    import datetime as dt

    from ..rollups.index import context_of
    from ..rollups.spec import CUBES

    context = context_of(dataset.con)
    index = context.index if context else None
    if index is None:
        return {"rollup_days": 0, "days_without_rollups": []}
    covered = [d for d in index.partitions
               if all(d in index.available.get(c.name, {}) for c in CUBES)]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return {
        "rollup_days": len(covered),
        "days_without_rollups": sorted(d for d in index.partitions
                                       if d not in covered and d < today),
    }


def maintenance_status(data_dir: str) -> dict[str, Any]:
    """Retention setting, last prune and compaction (from the audit log), and small files
    per partition (what `llmstats compact` with no argument would merge)."""
    from llmstats.plugin.audit import last_entry
    from llmstats.plugin.config import ConfigError, load_settings

    from ..store.partitions import MIN_SMALL_FILES, compaction_backlog

    try:
        retention = load_settings().retention_days
    except ConfigError:
        retention = None
    prune, compaction = last_entry(data_dir, "prune"), last_entry(data_dir, "compact")
    backlog = compaction_backlog(data_dir)
    return {
        "retention_days": retention,
        "last_prune": prune["ts"] if prune else None,
        "last_compaction": compaction["ts"] if compaction else None,
        "small_files": sum(backlog.values()),
        "small_files_per_partition": backlog,
        "compaction_due": sorted(d for d, n in backlog.items() if n >= MIN_SMALL_FILES),
    }


def maintenance_notes(summary: dict[str, Any]) -> list[str]:
    notes = []
    missing = summary.get("days_without_rollups") or []
    if missing:
        listed = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        notes.append(f"{len(missing)} closed day(s) without up-to-date rollups ({listed}): "
                     "reports read their events; `llmstats rollup` builds them.")
    due = summary.get("compaction_due") or []
    if not due:
        return notes
    listed = ", ".join(due[:5]) + (f" and {len(due) - 5} more" if len(due) > 5 else "")
    return [*notes, f"Compaction due for {len(due)} partition(s) ({listed}): run `llmstats compact`."]
