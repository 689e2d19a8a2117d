"""End-user ids are stored only as HMAC-SHA256 with a per-installation secret, and that
secret is never weak: never half-written, never short, never two of them for one data dir."""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from llmstats.plugin.identity import (
    SECRET_FILE_NAME,
    SECRET_LENGTH,
    Hasher,
    Withheld,
    load_or_create_secret,
)
from tests.support.tmpfs import fill, remount, small_tmpfs


def test_secret_is_created_once_with_0600(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path)
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    assert load_or_create_secret(tmp_path) == first
    assert len(first) == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]  # no temporary left


def test_hash_is_lowercase_hex_hmac_sha256() -> None:
    digest = Hasher(b"k")("alice@example.com")
    assert digest == hmac.new(b"k", b"alice@example.com", hashlib.sha256).hexdigest()
    assert digest == digest.lower() and "alice" not in digest
    assert Hasher(b"k")(None) is None and Hasher(b"k")("") is None
    assert Hasher(b"other")("alice@example.com") != digest


def test_withheld_stores_null_and_counts_identifiers_only() -> None:
    withheld = Withheld()
    assert [withheld(v) for v in ("alice", None, "", 42)] == [None, None, None, None]
    assert withheld.count == 2


# ---- several processes starting together on a fresh data dir ---------------------------

WORKERS = 4
TRIALS = 150


def _race(base: str, barrier: Any, out: Any) -> None:
    keys = []
    for trial in range(TRIALS):
        barrier.wait(timeout=60)  # all four reach the fresh directory at the same moment
        try:
            keys.append(load_or_create_secret(Path(base) / str(trial) / "data").decode())
        except OSError as exc:
            keys.append(f"error {exc}")
    out.put((os.getpid(), keys))


def test_processes_starting_together_on_a_fresh_data_dir_all_agree_on_one_full_key(
    tmp_path: Path,
) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    out = context.Queue()
    workers = [
        context.Process(target=_race, args=(str(tmp_path), barrier, out)) for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    try:
        answers = [out.get(timeout=300)[1] for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    disagreements = [
        trial for trial in range(TRIALS) if len({keys[trial] for keys in answers}) != 1
    ]
    assert disagreements == [], f"{len(disagreements)} of {TRIALS} trials disagreed"
    for trial in range(TRIALS):
        key = answers[0][trial]
        assert len(key) == SECRET_LENGTH, key
        folder = tmp_path / str(trial) / "data"
        assert (folder / SECRET_FILE_NAME).read_text() == key
        assert [p.name for p in folder.iterdir()] == [SECRET_FILE_NAME]


# ---- a full, unwritable or tampered-with disk -------------------------------------------


def test_a_full_disk_at_first_start_leaves_no_key_rather_than_an_empty_one(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", 256) as disk:
        filler = fill(disk)
        data_dir = disk / "data"
        data_dir.mkdir()  # directories cost no data blocks on tmpfs; a key's bytes do
        with pytest.raises(OSError) as raised:
            load_or_create_secret(data_dir)
        assert "No space left" in str(raised.value)
        assert list(data_dir.iterdir()) == []  # nothing half-written, no temporary left
        filler.unlink()
        key = load_or_create_secret(data_dir)
        assert len(key) == SECRET_LENGTH
        assert (data_dir / SECRET_FILE_NAME).read_bytes() == key


def test_a_read_only_data_dir_without_a_key_raises_and_with_one_reads_it(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "ro", 256) as disk:
        remount(disk, read_only=True)
        with pytest.raises(OSError, match="Read-only file system"):
            load_or_create_secret(disk)
        remount(disk, read_only=False)
        key = load_or_create_secret(disk)
        remount(disk, read_only=True)
        assert load_or_create_secret(disk) == key
    blocker = tmp_path / "a-file"
    blocker.write_text("where the data dir should be")
    with pytest.raises(NotADirectoryError):
        load_or_create_secret(blocker / "data")


@pytest.mark.parametrize("content", [b"", b"\n", b"0123456789abcdef", b"a" * (SECRET_LENGTH - 1)])
def test_a_short_key_is_never_used_but_set_aside_and_replaced(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / SECRET_FILE_NAME).write_bytes(content)
    key = load_or_create_secret(tmp_path)
    assert len(key) == SECRET_LENGTH and key != content.strip()
    assert (tmp_path / SECRET_FILE_NAME).read_bytes() == key
    (aside,) = tmp_path.glob(f"{SECRET_FILE_NAME}.rejected-*")
    assert aside.read_bytes() == content
    assert "not a full secret" in caplog.text and key.decode() not in caplog.text
    assert load_or_create_secret(tmp_path) == key


def test_a_longer_hand_placed_key_is_kept(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE_NAME).write_bytes(b"k" * 100 + b"\n")
    assert load_or_create_secret(tmp_path) == b"k" * 100
