"""Rollup parts on disk, as far as the writer's retention needs them: where they live,
how a new part is named, and dropping the rows of pruned days.

A rollup (analytics/rollups/spec.py) is kept per cube in parts: plain Parquet files
`<data dir>/rollups/v2/<cube>/part-<time>-<id>.parquet`, each with a JSON manifest
`part-<time>-<id>.json` whose `partitions` object names the UTC days it holds. That
layout is the contract between analytics/ (which builds and reads parts) and plugin/
(`llmstats prune` and the writer's daily retention run, which must not leave a pruned
day's numbers behind, and which import nothing from analytics/). Only pyarrow and the
standard library here.

When partitions are pruned, a part holding pruned days is rewritten without them (a new
part and manifest, then the old one is deleted); a part holding nothing else is
deleted. Purge removes the whole rollups folder.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid

from .data_dir_files import filesystem, write_file

ROLLUPS_FOLDER = "rollups/v2"
"""Bump the version when a cube's columns or meaning change: old files are then ignored."""


def part_name(now: dt.datetime | None = None) -> str:
    """A new part's file stem: `part-<UTC time>-<random>`; names sort by age."""
    now = now or dt.datetime.now(dt.UTC)
    return f"part-{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


def forget_partitions(data_dir: str, before: str) -> int:
    """Remove rollup rows of every date before `before` (YYYY-MM-DD), in every cube's
    folder. Returns the parts rewritten or deleted."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    fs, root = filesystem(data_dir)
    try:
        cubes = [i.base_name for i in fs.get_file_info(pafs.FileSelector(f"{root}/{ROLLUPS_FOLDER}"))
                 if i.type == pafs.FileType.Directory]
    except FileNotFoundError:
        return 0
    changed = 0
    for cube in sorted(cubes):
        infos = fs.get_file_info(pafs.FileSelector(f"{root}/{ROLLUPS_FOLDER}/{cube}"))
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
                stem = f"{ROLLUPS_FOLDER}/{cube}/{part_name()}"
                # The Parquet file first: a reader uses a part only once its manifest exists.
                write_file(data_dir, f"{stem}.parquet", buffer.getvalue())
                write_file(data_dir, f"{stem}.json",
                           json.dumps({**manifest, "partitions": kept}, sort_keys=True).encode())
            for path in (info.path, data):
                try:
                    fs.delete_file(path)
                except FileNotFoundError:
                    pass
            changed += 1
    return changed
