"""A fleet on object storage: two real LiteLLM proxies with two workers each write to
s3:// (moto in server mode on loopback) with their own local spools; one is killed -9
(its whole process group) while the fleet is under load, then restarted; the report over
s3:// equals the client's own count of answered calls, exactly one row per answer.

The kill comes right after the victim's last answers, with the other proxy still
serving: those answers' callbacks, spool lines and uploads are all still pending (the
default 60 s flush), which is what the restart must recover. Requests in flight on the
victim at the kill are left to tests/test_proxy_crash.py: a call the provider finished
but whose answer died with the proxy is a real call the client never saw, so no logger
can make "rows == answers" exact for those.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from llmstats.analytics.connection import connect
from llmstats.analytics.demo.fake_provider import serve_in_thread
from llmstats.analytics.demo.identities import token_for
from llmstats.analytics.demo.litellm_proxy import LiteLLMProxy
from llmstats.analytics.demo.proxy_config import CALLBACK, proxy_config
from tests.support.moto_server import create_bucket, s3_env

pytestmark = pytest.mark.slow

CANARY_SECRET = "fleet-canary-" + "Zq8w" * 8
PER_PROXY_CONCURRENCY = 6
ANSWERS_PER_PHASE = 30
"""Each phase lasts until every proxy in rotation answered this many calls (a fresh proxy
worker is slow for its first calls: the tokenizer and LiteLLM's lazy imports load)."""
PACE_SECONDS = 0.1
"""Each client worker waits this long between calls: a steady load (up to 60 calls/s per
proxy) that leaves CPU for the restart instead of saturating two shared cores."""
TIME_LIMIT_SECONDS = 90.0
"""Bound of each phase. The client's workers run until the test stops them, not for a
fixed time: a restart under load on a slow machine can take longer than a phase."""
MODELS = ("gpt-4o-mini", "claude-haiku-4-5")


class Client:
    """Sends chat calls to one proxy slot from a few workers; counts its own answers."""

    def __init__(self) -> None:
        self.answered: list[str] = []
        self.answered_by: dict[str, list[str]] = {}
        self.by_model: Counter[str] = Counter()
        self.failed = 0
        self.urls: dict[str, str | None] = {}
        self.lives: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.stop = asyncio.Event()
        self.sent = 0

    async def worker(self, http: httpx.AsyncClient, slot: str, index: int) -> None:
        headers = {"Authorization": f"Bearer {token_for('fleet', f'user{index}')}"}
        n = 0
        while not self.stop.is_set():
            url = self.urls.get(slot)
            if url is None:  # this proxy is down: wait for its restart
                await asyncio.sleep(0.05)
                continue
            model = MODELS[(index + n) % 2]
            n += 1
            self.in_flight[slot] += 1
            self.sent += 1
            try:
                response = await http.post(f"{url}/chat/completions", headers=headers, json={
                    "model": model, "messages": [{"role": "user", "content": f"q{index}-{n}"}]})
            except httpx.HTTPError:
                self.failed += 1
                continue
            finally:
                self.in_flight[slot] -= 1
            await asyncio.sleep(PACE_SECONDS)
            if response.status_code == 200:
                call_id = response.headers["x-litellm-call-id"]
                self.answered.append(call_id)
                self.answered_by.setdefault(f"{slot}{self.lives[slot]}", []).append(call_id)
                self.by_model[model] += 1
            else:
                self.failed += 1


def test_two_proxies_on_s3_kill_9_one_restart_report_equals_answers(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    marks: list[tuple[str, float]] = []

    def mark(what: str) -> None:
        marks.append((what, round(time.monotonic() - started, 1)))

    bucket = f"fleet-{uuid.uuid4().hex[:10]}"
    create_bucket(s3_endpoint, bucket)
    data_dir = f"s3://{bucket}/llmstats"
    provider = serve_in_thread(0, tmp_path / "ledger.jsonl")
    config = proxy_config(provider.url, [CALLBACK])
    aws = {**s3_env(s3_endpoint), "AWS_SECRET_ACCESS_KEY": CANARY_SECRET}

    def env(host: str) -> dict[str, str]:
        return {**aws, "LLMSTATS_DATA_DIR": data_dir, "LLMSTATS_HASH_KEY": "shared-fleet-key",
                "LLMSTATS_CONFIG": str(tmp_path / "no-config.toml"),
                # One state dir per "host": each proxy's spool stays on its own disk.
                "XDG_STATE_HOME": str(tmp_path / host / "state"),
                "XDG_CACHE_HOME": str(tmp_path / host / "cache")}

    def proxy(host: str, log: str = "proxy.log") -> LiteLLMProxy:
        (tmp_path / host).mkdir(exist_ok=True)
        return LiteLLMProxy(config, tmp_path / host, env=env(host), num_workers=2, log_name=log)

    proxies = {"a": proxy("a"), "b": proxy("b")}
    client = Client()
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda p: p.start(), proxies.values()))
        mark("started")

        async def phase(*lives: str) -> None:
            deadline = time.monotonic() + TIME_LIMIT_SECONDS
            while any(len(client.answered_by.get(life, [])) < ANSWERS_PER_PHASE
                      for life in lives) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)

        async def load_kill_restart() -> int:
            """Returns how many calls were answered before the kill."""
            await phase("a0", "b0")
            # Take proxy a out of rotation, let its in-flight calls finish, kill -9 it.
            client.urls["a"] = None
            while client.in_flight["a"]:
                await asyncio.sleep(0.01)
            before_kill = len(client.answered)
            proxies["a"].kill()
            mark("killed")
            restarted = proxy("a", "proxy-restarted.log")
            await asyncio.to_thread(restarted.start)  # b keeps serving meanwhile
            proxies["a"] = restarted
            client.lives["a"] += 1
            client.urls["a"] = restarted.url
            mark("restarted")
            await phase("a1")
            return before_kill

        async def run() -> None:
            client.urls = {slot: p.url for slot, p in proxies.items()}
            async with httpx.AsyncClient(timeout=30) as http:
                workers = [asyncio.create_task(client.worker(http, slot, i))
                           for slot in proxies for i in range(PER_PROXY_CONCURRENCY)]
                try:
                    before_kill = await load_kill_restart()
                finally:
                    client.stop.set()
                    await asyncio.gather(*workers)
                assert len(client.answered) > before_kill > 0

        asyncio.run(run())
    finally:
        for p in proxies.values():
            p.stop()  # SIGTERM: each writer flushes its spool to the bucket
        provider.shutdown()
        provider.server_close()
    mark("stopped")
    assert client.failed == 0, client.failed
    # LiteLLM may still owe callbacks when a proxy stops; their response markers wait in
    # the local spool, which the host's next proxy would convert at start. These hosts
    # start none: each converts what its stopped writers left, as a fleet's last step.
    llmstats = str(Path(sys.executable).with_name("llmstats"))
    for host in proxies:
        done = subprocess.run([llmstats, "recover"], capture_output=True, text=True,
                              env={**os.environ, **env(host)}, timeout=120)
        assert done.returncode == 0, done.stderr
    mark("recovered")
    for key, value in env("reader").items():
        monkeypatch.setenv(key, value)

    # The report, as a user runs it, over s3://.
    report_env = {**os.environ, **env("reader")}
    done = subprocess.run([llmstats, "report", "--by", "model",
                           "--format", "json", "--data-dir", data_dir],
                          capture_output=True, text=True, env=report_env, timeout=120)
    assert done.returncode == 0, done.stderr
    mark("reported")
    report = json.loads(done.stdout)
    answered = len(client.answered)
    found = {r[0] for r in connect(data_dir).execute("SELECT call_id FROM events").fetchall()}
    missing = {life: len(set(ids) - found) for life, ids in client.answered_by.items()}
    print("missing by proxy life:", missing, "answered by life:",
          {life: len(ids) for life, ids in client.answered_by.items()}, marks)
    assert report["totals"]["requests"] == answered
    assert report["totals"]["calls"] == answered
    assert {row["model"]: row["requests"] for row in report["rows"]} == dict(client.by_model)

    # Exactly one row per answered request. The killed proxy's rows (still in its spool
    # at the kill) carry its dead workers' writer ids: the restart recovered them.
    rows = connect(data_dir).execute("SELECT call_id, writer_id FROM events").fetchall()
    per_call = Counter(call_id for call_id, _ in rows)
    assert sorted(per_call) == sorted(client.answered) and set(per_call.values()) == {1}
    writer_of = dict(rows)
    first_life = {writer_of[c] for c in client.answered_by["a0"]}
    second_life = {writer_of[c] for c in client.answered_by.get("a1", [])}
    assert first_life and second_life and not first_life & second_life

    # The canary secret reached none of llmstats' files, the proxies' logs or the bucket.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert CANARY_SECRET.encode() not in path.read_bytes(), path
    import pyarrow.fs as pafs

    fs, root = pafs.FileSystem.from_uri(data_dir)
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
        if info.type == pafs.FileType.File:
            with fs.open_input_stream(info.path) as stream:
                assert CANARY_SECRET.encode() not in stream.read(), info.path
    print(f"answered {answered} ({dict(client.by_model)}), rows {len(rows)}, "
          f"sent {client.sent}, timeline {marks}")
