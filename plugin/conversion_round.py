"""Spool folders → Parquet: the writer's heavy round, run in a child process.

The proxy's writer thread starts `python -m llmstats.plugin.conversion_round` for each round that
has work (closed spool files, the minute's check for spools of dead writers, the daily
retention run), hands it a JSON request on stdin and reads a JSON result from stdout.
The child holds pyarrow, the Parquet encoder and a spool file's working set; the proxy
process holds none of it (pyarrow alone is ~55 MB resident), never waits on the GIL behind
it, and a crash or out-of-memory in the encoder cannot take the proxy down: the spool is
still there, and the next round converts it. `run()` is the same work in-process (late
events after shutdown, tests). The writer imports this module for `Request` only: pyarrow
comes in with `convert` and `sink`, imported where a round actually runs.

Exactly once, per folder, spool file by spool file (see spool_to_parquet.py for one spool file):
1. convert spool file N, with the newest carry file before N (markers carried so far) and
   N's counts, into `events/date=…/<writer>-N.parquet` (temporary name + rename);
2. write `N.carry` with the markers still waiting and the ids of the folder's last rows
   (spool_to_parquet.RECENT_IDS: a duplicate or a late marker across the cut is still recognised;
   always, when a carry file was read, so that it is superseded even if empty);
3. delete spool file N, its counts and every carry file before N.
A crash at any step repeats the same step with the same inputs: the same files, no
duplicates. Markers left in a dead writer's last spool file become rows.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import write_atomically
from .config import Settings
from .spool import (
    LOCK_NAME,
    META_NAME,
    carry_path,
    counts_path,
    file_seq,
    list_carries,
    list_counts,
    list_spool_files,
    orphaned_folder,
    read_meta,
    writer_folders,
)
from .spool_line import encode_line

if TYPE_CHECKING:
    from .sink import Sink
    from .spool_to_parquet import Converted

# How long a response marker waits for the callback's event before it becomes the row:
# LiteLLM's logging queue can lag far behind under load, and a row counted twice is as
# wrong as a row lost, so this is generous.
MARKER_PATIENCE_SECONDS = 600.0
RECOVERY_STEP = "recovering spools of dead writers"


def parquet_name(writer_id: str, seq: int) -> str:
    return f"{writer_id}-{seq:08d}.parquet"


@dataclass
class Request:
    settings: dict[str, Any]  # Settings fields (the hash key itself is never sent)
    writer_id: str
    constants: dict[str, object]
    convert_through: int | None = None  # own spool files up to this seq are closed
    recover: bool = False  # convert spools of dead writers too
    retention: bool = False
    heartbeat: dict[str, Any] | None = None  # to write through the sink (object storage)


@dataclass
class Result:
    written: int = 0
    recovered: int = 0
    files: int = 0
    marker_rows: int = 0
    duplicates: int = 0  # rows dropped: their event id was converted already
    spool_files: int = 0  # own spool files converted
    recovered_files: int = 0
    # The writer's own lines, accounted (convert.Converted.balanced): read from its
    # spool files, dropped by reason, and its markers still carried after the last spool file
    # converted (None when no own spool file was).
    lines: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    carried: int | None = None
    recovered_dropped: dict[str, int] = field(default_factory=dict)  # dead writers' lines
    last_flush: float | None = None
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the steps the errors come from
    peak_rss_kb: int | None = None  # the converting process's high-water mark (Linux)


def settings_fields(settings: Settings) -> dict[str, Any]:
    fields = asdict(settings)
    fields["spool_dir"] = str(settings.spool_dir)
    fields["config_file"] = str(settings.config_file) if settings.config_file else None
    fields["hash_key"] = "<set>" if settings.hash_key else None
    return fields


def _settings(fields: dict[str, Any]) -> Settings:
    values = dict(fields)
    values["spool_dir"] = Path(values["spool_dir"])
    values["config_file"] = Path(values["config_file"]) if values.get("config_file") else None
    return Settings(**values)


def _write_carry(path: Path, rows: list[dict[str, Any]]) -> None:
    write_atomically(path, b"".join(encode_line(row) for row in rows), durable=True)


def _newest_before(carries: list[Path], seq: int) -> Path | None:
    older = [c for c in carries if file_seq(c) < seq]
    return older[-1] if older else None


def convert_folder(
    folder: Path,
    constants: dict[str, object],
    sink: Sink,
    result: Result,
    *,
    through: int | None,
    final: bool,
    own: bool,
    progress: Callable[[Result], None] | None = None,
) -> None:
    """Convert a folder's spool files up to `through` (all when None). `final`: the writer is
    gone, so markers of the last spool file (or a carry file left alone) become rows.
    `progress` is told the result so far after each spool file (a round that dies later
    still reports what it did)."""
    from .spool_to_parquet import convert_spool_file

    writer_id = str(constants["writer_id"])
    spool_files = [s for s in list_spool_files(folder) if through is None or file_seq(s) <= through]
    cutoff = int((time.time() - MARKER_PATIENCE_SECONDS) * 1_000_000)
    for index, spool_file in enumerate(spool_files):
        seq = file_seq(spool_file)
        carry_in = _newest_before(list_carries(folder), seq)
        last = final and index == len(spool_files) - 1
        counts = counts_path(spool_file)
        done = convert_spool_file(
            spool_file,
            constants=constants,
            sink=sink,
            name=parquet_name(writer_id, seq),
            carry_in=carry_in,
            counts=counts if counts.exists() else None,
            carry_after_us=None if last else cutoff,
        )
        _account(result, done, own)
        if own:
            result.lines += done.lines
            result.carried = done.carried.num_rows
        if progress is not None:
            progress(result)
        if carry_in is not None or done.carried.num_rows or done.recent_ids:
            _write_carry(carry_path(folder, seq), done.carried.to_pylist() + done.recent_ids)
        spool_file.unlink()
        counts.unlink(missing_ok=True)
        for old in list_carries(folder):
            if file_seq(old) < seq:
                old.unlink(missing_ok=True)
    if final:
        _convert_lone_carry(folder, writer_id, constants, sink, result, own)
    _drop_stray_counts(folder)


def _convert_lone_carry(
    folder: Path,
    writer_id: str,
    constants: dict[str, object],
    sink: Sink,
    result: Result,
    own: bool,
) -> None:
    """A carry file with no spool file after it (the writer closed or died right after a
    round): its markers will never be settled now, so they become rows."""
    from .spool_to_parquet import convert_spool_file

    carries = list_carries(folder)
    if list_spool_files(folder) or not carries:
        return
    newest = carries[-1]
    done = convert_spool_file(
        None,
        constants=constants,
        sink=sink,
        name=parquet_name(writer_id, file_seq(newest) + 1),
        carry_in=newest,
    )
    if done.rows or done.carried_in:  # a carry of ids alone (convert.SEEN) has no rows
        _account(result, done, own)
    for carry in carries:
        carry.unlink(missing_ok=True)


def _drop_stray_counts(folder: Path) -> None:
    """Counts whose spool file is gone (a crash between the two deletes)."""
    live = {file_seq(s) for s in list_spool_files(folder)}
    for counts in list_counts(folder):
        if file_seq(counts) not in live:
            counts.unlink(missing_ok=True)


def _account(result: Result, done: Converted, own: bool) -> None:
    total = sum(done.rows.values())
    dropped = result.dropped if own else result.recovered_dropped
    if own:
        result.written += total
        result.spool_files += 1
    else:
        result.recovered += total
        result.recovered_files += 1
    for reason, count in done.dropped.items():
        if count:
            dropped[reason] = dropped.get(reason, 0) + count
    result.duplicates += done.duplicates
    result.files += done.files
    result.marker_rows += done.marker_rows
    result.last_flush = time.time()


def recover_orphans(spool_dir: Path, own_id: str, sink: Sink, result: Result) -> None:
    """Convert spools left by dead writers (exactly once: the names are deterministic)."""
    for folder in writer_folders(spool_dir):
        if folder.name == own_id:
            continue
        with orphaned_folder(folder) as orphaned:
            if not orphaned:
                continue
            convert_folder(
                folder, read_meta(folder), sink, result, through=None, final=True, own=False
            )
            for leftover in (LOCK_NAME, META_NAME):
                (folder / leftover).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()


def run(request: Request, progress: Callable[[Result], None] | None = None) -> Result:
    """One round. Errors are collected per step (one failing step does not stop the
    others); what failed stays in the spool for the next round. `progress` is told the
    result so far after each of the writer's own spool files."""
    from .sink import Sink

    settings = _settings(request.settings)
    sink = Sink(settings.data_dir)
    result = Result()
    own = settings.spool_dir / request.writer_id
    steps: list[tuple[str, Any]] = []
    if request.convert_through is not None:
        steps.append(
            (
                "converting the spool",
                lambda: convert_folder(
                    own,
                    request.constants,
                    sink,
                    result,
                    through=request.convert_through,
                    final=False,
                    own=True,
                    progress=progress,
                ),
            )
        )
    if request.recover:
        steps.append(
            (
                RECOVERY_STEP,
                lambda: recover_orphans(settings.spool_dir, request.writer_id, sink, result),
            )
        )
    if request.retention:
        steps.append(("retention run", lambda: _retention(settings, request.writer_id)))
    if request.heartbeat is not None:
        heartbeat = request.heartbeat
        steps.append(
            (
                "heartbeat write",
                lambda: sink.write_bytes(
                    f"writers/{request.writer_id}.json", _heartbeat(heartbeat, result)
                ),
            )
        )
    for what, step in steps:
        try:
            step()
        except Exception as exc:
            # Our own I/O and encoding errors only (paths, errno): never event content.
            result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            result.failed.append(what)
    return result


def _heartbeat(document: dict[str, Any], result: Result) -> bytes:
    """The writer's heartbeat with this round's work added (it was taken before the round):
    the same booking the writer itself does after a round (accounts.Books.settle)."""
    from .accounts import settle_heartbeat

    updated = settle_heartbeat(document, asdict(result))
    for key in ("recovered", "files"):
        updated[key] = int(updated.get(key) or 0) + getattr(result, key)
    if result.last_flush:
        updated["last_flush"] = result.last_flush
    if result.errors:
        updated["last_error"], updated["last_error_at"] = result.errors[-1], time.time()
    return json.dumps(updated, indent=1).encode()


def _retention(settings: Settings, writer_id: str) -> None:
    from .retention import apply_retention

    apply_retention(settings, actor=f"writer {writer_id}")


def _peak_rss_kb() -> int | None:
    """VmHWM: this process's resident high-water mark since it started (exec included)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main() -> None:
    # A round is bounded work that leaves the spool consistent only when it finishes: the
    # proxy's SIGTERM (or a terminal's Ctrl-C) reaches its whole process group, and the
    # writer waits for this round in its shutdown flush. SIGKILL still ends it at once, and
    # whatever it did not finish is done again by the next round.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # pyarrow does not need NumPy (it is not among its requirements) but imports it when it
    # is installed, and a round pays for its imports every time (a start-up of ~0.24 s of
    # CPU without NumPy, benchmarks/bench_converter_round.py). Nothing a round does converts
    # to or from NumPy.
    sys.modules.setdefault("numpy", None)  # type: ignore[arg-type]
    import pyarrow as pa

    # A process that lives for one round gains nothing from an allocator that keeps freed
    # pages for reuse: with the system allocator a 50,000-row spool file peaks ~75 MB lower.
    pa.set_memory_pool(pa.system_memory_pool())
    request = Request(**json.loads(sys.stdin.buffer.read()))
    result = run(request, progress=_report)
    result.peak_rss_kb = _peak_rss_kb()
    _report(result)


def _report(result: Result) -> None:
    """One JSON line: the round so far (after each spool file) or done (the last line). A
    round that dies half-way has still told the writer what it converted."""
    with contextlib.suppress(OSError):  # the writer is gone (it waits at most so long)
        sys.stdout.write(json.dumps(asdict(result)) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
