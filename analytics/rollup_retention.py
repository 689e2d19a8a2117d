"""Retention for rollups: when partitions are pruned, their rows leave the rollups too.

Called by plugin/retention.py (`llmstats prune` and the writer's daily retention run), so
it imports only pyarrow and the standard library. A segment holding pruned days is
rewritten without them (a new segment and manifest, then the old one is deleted); a
segment holding nothing else is deleted. Purge removes the whole rollups folder.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

from .rollup_spec import CUBES, ROLLUPS_FOLDER, segment_name


def forget_partitions(fs: Any, root: str, before: str) -> int:
    """Remove rollup rows of every date before `before` (YYYY-MM-DD) under `root`
    (a pyarrow filesystem and the data dir's path in it). Returns segments rewritten
    or deleted."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    changed = 0
    for cube in CUBES:
        folder = f"{root}/{ROLLUPS_FOLDER}/{cube.name}"
        try:
            infos = fs.get_file_info(pafs.FileSelector(folder))
        except FileNotFoundError:
            continue
        for info in infos:
            if not (info.base_name.startswith("part-") and info.base_name.endswith(".json")):
                continue
            with fs.open_input_stream(info.path) as stream:
                try:
                    manifest = json.loads(stream.read())
                    partitions = dict(manifest["partitions"])
                except (ValueError, KeyError, TypeError):
                    continue
            doomed = [date for date in partitions if date < before]
            if not doomed:
                continue
            data = info.path[: -len(".json")] + ".parquet"
            kept = {date: entry for date, entry in partitions.items() if date >= before}
            if kept:
                with fs.open_input_file(data) as source:
                    table = pq.read_table(source)
                cutoff = pa.scalar(dt.date.fromisoformat(before), table.schema.field("date").type)
                table = table.filter(pc.greater_equal(table.column("date"), cutoff))
                buffer = io.BytesIO()
                pq.write_table(table, buffer, compression="zstd")
                stem = f"{folder}/{segment_name()}"
                _write(fs, f"{stem}.parquet", buffer.getvalue())
                _write(fs, f"{stem}.json", json.dumps({**manifest, "partitions": kept},
                                                      sort_keys=True).encode())
            for path in (info.path, data):
                try:
                    fs.delete_file(path)
                except FileNotFoundError:
                    pass
            changed += 1
    return changed


def _write(fs: Any, path: str, data: bytes) -> None:
    """Whole-file write; locally through a hidden temporary name and a rename."""
    import pyarrow.fs as pafs

    if isinstance(fs, pafs.LocalFileSystem):
        folder, _, name = path.rpartition("/")
        tmp = f"{folder}/.{name}.tmp"
        with fs.open_output_stream(tmp) as out:
            out.write(data)
        fs.move(tmp, path)
        return
    with fs.open_output_stream(path) as out:
        out.write(data)
