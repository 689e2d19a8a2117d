"""End-user ids are stored only as HMAC-SHA256 with a per-installation secret."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

from llmstats.plugin.identity import Hasher, load_or_create_secret


def test_secret_is_created_once_with_0600(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path)
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    assert load_or_create_secret(tmp_path) == first
    assert len(first) == 64


def test_hash_is_lowercase_hex_hmac_sha256() -> None:
    digest = Hasher(b"k")("alice@example.com")
    assert digest == hmac.new(b"k", b"alice@example.com", hashlib.sha256).hexdigest()
    assert digest == digest.lower() and "alice" not in digest
    assert Hasher(b"k")(None) is None and Hasher(b"k")("") is None
    assert Hasher(b"other")("alice@example.com") != digest
