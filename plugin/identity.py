"""Pseudonymous identities: HMAC-SHA256 with a per-installation secret.

End-user ids and requester IPs are personal data; a keyed hash lets reports count and
group them without being reversible by anyone who lacks the secret. A fleet shares one
secret through LLMSTATS_HASH_KEY so the same end user hashes alike on every replica.

The secret file is the only thing standing between an end-user hash and a dictionary
attack, so it is never visible half-written: it is written under a temporary name,
fsynced, and hard-linked into place, which fails if another process got there first (that
process's secret is then read and used, so workers starting together agree). A key shorter
than its full length is never used. When no secret can be had (a full or read-only disk),
`Withheld` stands in for the hasher: identifiers are stored as null and counted, never
hashed with a weak key.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import logging
import os
import secrets
import time
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path

log = logging.getLogger("llmstats")

SECRET_FILE_NAME = "secret.key"
SECRET_LENGTH = 64
"""Hex characters (32 random bytes). A file with fewer is not a secret llmstats made."""
READ_LIMIT = 4096


class WeakSecretError(OSError):
    """secret.key holds fewer than SECRET_LENGTH characters and could not be set aside."""


def load_or_create_secret(directory: Path) -> bytes:
    """The installation secret in `directory`, created (mode 0600) on first use.

    Raises OSError when there is none and none can be made (a full, read-only or missing
    disk): the caller must then hash nothing rather than hash with a weaker key."""
    path = directory / SECRET_FILE_NAME
    for _ in range(8):  # each pass either returns or lost a race that settled the file
        secret = _read(path)
        if secret is None:
            created = _create(path)
            if created is not None:
                return created
            continue  # another process linked its secret first: read that one
        if len(secret) >= SECRET_LENGTH:
            return secret
        _set_aside(path, len(secret))
    raise OSError(f"{path} keeps changing; not using it")


def _read(path: Path) -> bytes | None:
    try:
        with path.open("rb") as handle:
            return handle.read(READ_LIMIT).strip()
    except FileNotFoundError:
        return None


def _create(path: Path) -> bytes | None:
    """Link a new secret into place; None if another process's secret is there first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(SECRET_LENGTH // 2).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            view = memoryview(secret)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic, and never replaces: the first secret in place wins
        except FileExistsError:
            return None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    _sync_directory(path.parent)
    return secret


def _set_aside(path: Path, length: int) -> None:
    """Move a short secret.key out of the way (kept, never deleted: a hand-placed key may
    matter to someone) so that a full one can be made. Under the directory's lock, and
    only if the file is still short once the lock is held, so that two processes finding
    the same short file never move each other's new secret aside."""
    with _locked(path.parent):
        current = _read(path)
        if current is None or len(current) >= SECRET_LENGTH:
            return
        aside = path.with_name(f"{path.name}.rejected-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            os.replace(path, aside)
        except OSError as exc:
            raise WeakSecretError(
                f"{path} holds {length} characters, not {SECRET_LENGTH}, and cannot be "
                f"moved aside ({type(exc).__name__}: {exc.strerror or exc})"
            ) from None
    log.warning(
        "llmstats: %s held %d characters, not a full secret; moved to %s and a new one is "
        "made (end-user hashes from before it do not match those after)",
        path,
        length,
        aside.name,
    )


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _sync_directory(directory: Path) -> None:
    """The link must outlive a power cut: hashes made with a secret that then vanished
    could never be matched again."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


CACHE_LIMIT = 4096


class Hasher:
    """Keyed hashing of identifiers; lowercase hex output.

    A proxy sees the same end users and addresses over and over, and an HMAC costs a couple
    of microseconds on LiteLLM's event loop: recent answers are kept (bounded)."""

    def __init__(self, secret: bytes) -> None:
        # Callers pass a checked key: LLMSTATS_HASH_KEY (config.py) or a full secret file.
        self._secret = secret
        self._cache: dict[str, str] = {}

    def __call__(self, value: object) -> str | None:
        if value is None or value == "":
            return None
        text = str(value)
        digest = self._cache.get(text)
        if digest is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            digest = self._cache[text] = hmac.new(self._secret, text.encode(), sha256).hexdigest()
        return digest


class Withheld:
    """Stands in for a Hasher while no secret can be had: every identifier it is given is
    stored as null (never a weak hash) and counted (`hashes_withheld` in the heartbeat)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, value: object) -> str | None:
        if value is not None and value != "":
            self.count += 1
        return None
