"""Shared fixtures. Every test runs against its own temporary data dir (never the user's)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Importing litellm must never reach the network: use the price map and tokenizers it ships.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def pytest_report_header() -> str:
    """Which browser the browser tests drive: a chromium upgrade changed what they saw once."""
    chromium = os.environ.get("LLMSTATS_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        return "chromium: not installed"
    try:
        found = subprocess.run([chromium, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"chromium: {chromium} does not run ({type(error).__name__})"
    return f"chromium: {found.stdout.strip() or found.stderr.strip()}"


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data_dir = tmp_path / "llmstats-data"
    monkeypatch.setenv("LLMSTATS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("LLMSTATS_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # Unit tests convert on the writer thread (a child process per flush costs ~0.3 s);
    # the proxy tests and test_writer's converter tests run the default, a child process.
    monkeypatch.setenv("LLMSTATS_CONVERTER", "inline")
    for name in (
        "LLMSTATS_PRIVACY",
        "LLMSTATS_FLUSH_SECONDS",
        "LLMSTATS_FLUSH_ROWS",
        "LLMSTATS_HASH_KEY",
        "LLMSTATS_ENABLED",
        "LLMSTATS_SPOOL_DIR",
        "LLMSTATS_RETENTION_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)
    yield data_dir


@pytest.fixture
def use_callbacks() -> Iterator[Any]:
    """Install LiteLLM callbacks for one test. LiteLLM copies `litellm.callbacks` into
    internal lists on first use, so resetting only `litellm.callbacks` would leave an
    earlier test's logger receiving this test's events."""
    import litellm

    manager = litellm.logging_callback_manager

    def install(*callbacks: Any) -> None:
        manager._reset_all_callbacks()
        litellm.callbacks = list(callbacks)

    yield install
    manager._reset_all_callbacks()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback, one per test module that asks for it."""
    from tests.support.moto_server import moto_s3

    with moto_s3() as endpoint:
        yield endpoint
