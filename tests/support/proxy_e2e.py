"""The real LiteLLM proxy with llmstats' callback, in front of the fake provider on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pyarrow.dataset as ds

from llmstats.analytics.demo.fake_provider import FakeProvider, serve_in_thread
from llmstats.analytics.demo.identities import token_for
from llmstats.analytics.demo.litellm_proxy import LiteLLMProxy
from llmstats.analytics.demo.proxy_config import CALLBACK, proxy_config

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    provider: FakeProvider
    proxy: LiteLLMProxy
    data_dir: Path
    ledger_path: Path
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    def client(self, team: str = "search", user: str = "alice", **options: Any) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.proxy.url, api_key=token_for(team, user), max_retries=0, **options
        )

    def restart_after_kill(self) -> None:
        """kill -9 the proxy (workers included), then start a new one on the same data dir."""
        self.proxy.kill()
        old = self.proxy
        self.proxy = LiteLLMProxy(
            old.config,
            self.workdir,
            env=self.env,
            num_workers=old.num_workers,
            log_name="proxy-restarted.log",
        ).start()

    def ledger(self) -> list[dict[str, Any]]:
        if not self.ledger_path.exists():
            return []
        return [json.loads(line) for line in self.ledger_path.read_text().splitlines()]

    def events(self) -> list[dict[str, Any]]:
        return read_events(self.data_dir)

    def wait_for_events(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Rows appear within LLMSTATS_FLUSH_SECONDS of the callback; poll, bounded."""
        deadline = time.monotonic() + timeout
        rows = self.events()
        while len(rows) < count and time.monotonic() < deadline:
            time.sleep(0.25)
            rows = self.events()
        return rows


def read_events(data_dir: Path) -> list[dict[str, Any]]:
    events = data_dir / "events"
    if not events.exists():
        return []
    return ds.dataset(events, format="parquet", partitioning="hive").to_table().to_pylist()


def stack_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        "LLMSTATS_DATA_DIR": str(data_dir),
        # The proxy runs what users run: conversion in a child process per round (at most
        # one every 2 s here, not one every 60 s, so rows show up quickly).
        "LLMSTATS_FLUSH_SECONDS": "2",
        "LLMSTATS_CONVERTER": "process",
        "LLMSTATS_CONFIG": str(data_dir.parent / "no-config.toml"),
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra or {})
    return env


@contextmanager
def proxy_stack(
    workdir: Path,
    callbacks: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    num_workers: int = 1,
    **litellm_settings: Any,
) -> Iterator[Stack]:
    workdir.mkdir(parents=True, exist_ok=True)
    ledger = workdir / "provider-ledger.jsonl"
    data_dir = workdir / "llmstats-data"
    provider = serve_in_thread(0, ledger)
    config = proxy_config(provider.url, callbacks or [CALLBACK], **litellm_settings)
    full_env = stack_env(data_dir, env)
    stack = Stack(
        provider,
        LiteLLMProxy(config, workdir, env=full_env, num_workers=num_workers),
        data_dir,
        ledger,
        workdir,
        full_env,
    )
    try:
        stack.proxy.start()
        yield stack
    finally:
        stack.proxy.stop()
        provider.shutdown()
        provider.server_close()
