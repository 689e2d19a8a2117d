"""The tamper-evident audit log: `<data_dir>/audit.jsonl`, one hash-chained entry a line.

Every prune, purge, compaction, export, pricing change and configuration change appends
an entry. Each entry carries `seq` (1, 2, ...), the hash of the entry before it (`prev`)
and its own `hash`: sha256 over the canonical JSON of every other field (sorted keys, no
spaces, UTF-8). Editing, deleting, inserting or reordering an entry breaks the chain;
`verify_chain()` says where. Whoever can rewrite the whole file from the edited entry on
can also recompute the chain, so the head hash `verify` prints is worth keeping elsewhere.

Stdlib (and pyarrow.fs) only: the writer's daily retention run appends here without
importing duckdb. Local appends are safe across processes: an exclusive flock on
`audit.lock` around "read the last entry, append one line" (O_APPEND, fsync).

Objects cannot be appended to, and rewriting one `audit.jsonl` object per entry would
silently lose an entry whenever two hosts append at once. So on object storage each
entry is its own object, `audit/<seq, 12 digits>-<first 16 hex of its hash>.json`,
holding the same canonical line: listing the prefix in name order gives the log. Two
hosts appending at once both write an entry with the same `seq` under different names;
nothing is lost and `audit verify` reports the fork ("inserted") instead of hiding it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data_dir_files import is_remote, local_path, object_store

AUDIT_FILE = "audit.jsonl"
AUDIT_FOLDER = "audit"
"""On object storage: one object per entry under this prefix."""
AUDIT_LOCK = "audit.lock"
GENESIS = "0" * 64


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


@contextmanager
def _locked(data_dir: str) -> Iterator[None]:
    if is_remote(data_dir):
        yield
        return
    folder = local_path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / AUDIT_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # appends are short: wait rather than fail
        yield
    finally:
        os.close(fd)  # closing drops the flock


def _entry_objects(data_dir: str) -> list[str]:
    """Paths of the entry objects of an object-store audit log, in log order."""
    import pyarrow.fs as pafs

    fs, root = object_store(data_dir)
    try:
        infos = fs.get_file_info(pafs.FileSelector(f"{root}/{AUDIT_FOLDER}"))
    except FileNotFoundError:
        return []
    return sorted(i.path for i in infos
                  if i.type == pafs.FileType.File and i.base_name.endswith(".json"))


def _read_remote(fs: Any, path: str) -> bytes:
    try:
        with fs.open_input_stream(path) as stream:
            return bytes(stream.read())
    except FileNotFoundError:
        return b""


def _read_all(data_dir: str) -> bytes:
    """The log as lines: the file locally; on object storage every entry object in order."""
    if not is_remote(data_dir):
        try:
            return (local_path(data_dir) / AUDIT_FILE).read_bytes()
        except FileNotFoundError:
            return b""
    from concurrent.futures import ThreadPoolExecutor

    fs, _ = object_store(data_dir)
    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda path: _read_remote(fs, path), _entry_objects(data_dir)))
    return b"".join(body.rstrip(b"\n") + b"\n" for body in bodies if body.strip())


def _last_line(path: Path) -> bytes:
    """The last complete line, read from the end (the log only grows)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            end = handle.tell()
            chunk = b""
            position = end
            while position > 0:
                step = min(65536, position)
                position -= step
                handle.seek(position)
                chunk = handle.read(step) + chunk
                lines = chunk.rstrip(b"\n").rsplit(b"\n", 1)
                if len(lines) == 2 or position == 0:
                    return lines[-1]
    except FileNotFoundError:
        pass
    return b""


def _tail(data_dir: str) -> tuple[int, str]:
    """(seq, hash) of the last entry, or (0, GENESIS) for an empty log."""
    if not is_remote(data_dir):
        raw = _last_line(local_path(data_dir) / AUDIT_FILE)
    else:
        names = _entry_objects(data_dir)
        raw = _read_remote(object_store(data_dir)[0], names[-1]).strip() if names else b""
    if not raw.strip():
        return 0, GENESIS
    try:
        last = json.loads(raw)
        return int(last["seq"]), str(last["hash"])
    except (ValueError, KeyError, TypeError, RecursionError):
        # A damaged tail: keep appending (chained to what is there) so the damage stays
        # visible to `audit verify` instead of blocking every maintenance command.
        return 0, hashlib.sha256(raw).hexdigest()


def append_entry(data_dir: str, action: str, parameters: dict[str, Any] | None = None,
                 result: dict[str, Any] | None = None, *, now: dt.datetime | None = None,
                 actor: str = "cli") -> dict[str, Any]:
    """Append one entry and return it."""
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    with _locked(data_dir):
        seq, prev = _tail(data_dir)
        entry: dict[str, Any] = {
            "seq": seq + 1,
            "ts": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "action": action,
            "parameters": parameters or {},
            "result": result or {},
            "actor": actor,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "prev": prev,
        }
        entry["hash"] = entry_hash(entry)
        line = canonical(entry) + b"\n"
        if is_remote(data_dir):
            fs, root = object_store(data_dir)
            name = f"{root}/{AUDIT_FOLDER}/{entry['seq']:012d}-{entry['hash'][:16]}.json"
            with fs.open_output_stream(name) as out:  # one PUT: whole or not at all
                out.write(line)
            return entry
        fd = os.open(local_path(data_dir) / AUDIT_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    return entry


def read_entries(data_dir: str) -> list[tuple[int, dict[str, Any] | None, bytes]]:
    """(line number, parsed entry or None when the line is not a JSON object, raw line).
    A line nested too deeply for Python's JSON (RecursionError on reading it, or on
    hashing it again) is not an entry either: `verify` names it like any damaged line."""
    found: list[tuple[int, dict[str, Any] | None, bytes]] = []
    for number, raw in enumerate(_read_all(data_dir).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            parsed = json.loads(raw)
            if isinstance(parsed, dict):
                canonical(parsed)  # what verify hashes: it must encode again
        except (ValueError, RecursionError):
            parsed = None
        found.append((number, parsed if isinstance(parsed, dict) else None, raw))
    return found


@dataclass(frozen=True)
class Problem:
    line: int
    seq: int | None
    problem: str


def verify_chain(data_dir: str) -> tuple[list[Problem], int, str]:
    """Problems found (empty when intact), entries checked, and the head hash.

    Checks, per line: it parses; its hash matches its content (else: edited); its `seq`
    is the next number (a gap: entries deleted before it; a repeat or step back: an
    inserted or reordered entry); its `prev` is the hash of the line before (else the
    link is broken: the entry before it was edited, removed or moved)."""
    entries = read_entries(data_dir)
    problems: list[Problem] = []
    seqs = [e.get("seq") if e else None for _, e, _ in entries]
    numeric = [s for s in seqs if isinstance(s, int)]
    reordered = (len(numeric) == len(entries) and sorted(numeric) == list(range(1, len(numeric) + 1))
                 and numeric != sorted(numeric))
    expected_seq = 1
    prev_hash = GENESIS
    previous_line = 0
    for (line, entry, raw), seq in zip(entries, seqs, strict=True):
        if entry is None:
            problems.append(Problem(line, None, "not a JSON object: the line was edited or damaged"))
            prev_hash = hashlib.sha256(raw).hexdigest()
            expected_seq += 1
            previous_line = line
            continue
        own = entry.get("hash")
        seq_value = seq if isinstance(seq, int) else None
        if own != entry_hash(entry):
            problems.append(Problem(line, seq_value, "edited: the entry's hash does not match its content"))
        if seq_value is None:
            problems.append(Problem(line, None, "no sequence number: edited or inserted"))
        elif reordered and seq_value != expected_seq:
            problems.append(Problem(line, seq_value, f"reordered: entry {seq_value} stands where entry {expected_seq} belongs"))
        elif seq_value > expected_seq:
            missing = (f"entry {expected_seq}" if seq_value == expected_seq + 1
                       else f"entries {expected_seq}–{seq_value - 1}")
            problems.append(Problem(line, seq_value, f"deleted: {missing} missing before this line"))
        elif seq_value < expected_seq:
            problems.append(Problem(line, seq_value, f"inserted: entry {seq_value} appears again after entry {expected_seq - 1}"))
        # A broken link right after (or at) a line already reported is that problem's echo.
        explained = bool(problems) and problems[-1].line in (line, previous_line) and not (
            problems[-1].line == line and problems[-1].problem.startswith("edited"))
        if entry.get("prev") != prev_hash and not explained:
            problems.append(Problem(line, seq_value, "chain broken: `prev` is not the hash of the entry before (that entry was edited, removed or moved)"))
        prev_hash = str(own)
        previous_line = line
        if seq_value is not None and not reordered:
            expected_seq = max(expected_seq, seq_value + 1)
        else:
            expected_seq += 1
    return problems, len(entries), prev_hash


def last_entry(data_dir: str, action: str) -> dict[str, Any] | None:
    for _, entry, _ in reversed(read_entries(data_dir)):
        if entry and entry.get("action") == action:
            return entry
    return None


def _config_fingerprint(settings: Any) -> dict[str, Any]:
    """The settings that change what is captured or kept (never the hash key itself)."""
    return {
        "privacy": settings.privacy,
        "flush_seconds": settings.flush_seconds,
        "flush_rows": settings.flush_rows,
        "retention_days": settings.retention_days,
        "enabled": settings.enabled,
        "hash_key_set": settings.hash_key is not None,
        "spool_dir": str(settings.spool_dir),
    }


def note_config(settings: Any, actor: str = "cli") -> dict[str, Any] | None:
    """Append a `config` entry when the effective settings differ from the last one
    recorded. There is no `config set` command: settings change in the environment or
    the TOML file, so the change is recorded the next time a maintenance command or the
    writer's retention run sees it."""
    current = _config_fingerprint(settings)
    last = last_entry(settings.data_dir, "config")
    if last is not None and last.get("parameters") == current:
        return None
    previous = last.get("parameters") if last else None
    changed = sorted(k for k in current if not previous or previous.get(k) != current[k])
    return append_entry(settings.data_dir, "config", current, {"changed": changed}, actor=actor)
