"""Pseudonymous identities: HMAC-SHA256 with a per-installation secret.

End-user ids and requester IPs are personal data; a keyed hash lets reports count and
group them without being reversible by anyone who lacks the secret. A fleet shares one
secret through LLMSTATS_HASH_KEY so the same end user hashes alike on every replica.
"""

from __future__ import annotations

import hmac
import os
import secrets
from hashlib import sha256
from pathlib import Path

SECRET_FILE_NAME = "secret.key"


def load_or_create_secret(directory: Path) -> bytes:
    """Read the installation secret, creating it (mode 0600) on first use."""
    path = directory / SECRET_FILE_NAME
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    directory.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    # O_EXCL: when two processes race to create it, exactly one wins and the other
    # reads the winner's secret, so both hash alike.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    return secret


CACHE_LIMIT = 4096


class Hasher:
    """Keyed hashing of identifiers; lowercase hex output.

    A proxy sees the same end users and addresses over and over, and an HMAC costs a couple
    of microseconds on LiteLLM's event loop: recent answers are kept (bounded)."""

    def __init__(self, secret: bytes) -> None:
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
