"""kill -9 of the proxy under load: every response a client received is exactly one row.

The callback's promise starts when LiteLLM calls it, but the proxy answers before it runs
the success callbacks; llmstats' response marker (written before the answer leaves)
covers that gap, so the promise here is the stronger one: answered → exactly one row.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from llmstats.analytics.demo.identities import token_for
from llmstats.plugin.accounts import balanced
from tests.support.proxy_e2e import Stack, proxy_stack, read_events

pytestmark = pytest.mark.slow

TOTAL_REQUESTS = 2500
KILL_AFTER_ANSWERS = 1200
CONCURRENCY = 16
TIME_LIMIT_SECONDS = 180


async def _load_then_kill(stack: Stack) -> set[str]:
    """Send requests until KILL_AFTER_ANSWERS are answered, kill -9 the proxy while the
    rest are in flight, and return the call ids of every answered request."""
    answered: set[str] = set()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(TOTAL_REQUESTS):
        queue.put_nowait(index)
    killed = asyncio.Event()
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    headers = {"Authorization": f"Bearer {token_for('crash', 'carol')}"}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty() and not killed.is_set() and time.monotonic() < deadline:
            index = queue.get_nowait()
            try:
                response = await client.post(
                    "/chat/completions",
                    headers=headers,
                    json={
                        "model": "gpt-4o-mini",
                        "messages": [{"role": "user", "content": f"request {index}"}],
                    },
                )
            except httpx.HTTPError:
                continue  # the proxy is gone: this request was never answered
            if response.status_code == 200:
                answered.add(response.headers["x-litellm-call-id"])
            if len(answered) >= KILL_AFTER_ANSWERS and not killed.is_set():
                killed.set()
                stack.proxy.kill()

    async with httpx.AsyncClient(base_url=stack.proxy.url, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    assert killed.is_set(), f"only {len(answered)} answers before the time limit"
    return answered


def test_kill_9_under_load_loses_and_duplicates_no_answered_request(tmp_path: Path) -> None:
    # The default flush interval: at the kill, nearly every row is still in the spool.
    with proxy_stack(tmp_path, env={"LLMSTATS_FLUSH_SECONDS": "60"}) as stack:
        answered = asyncio.run(_load_then_kill(stack))
        stack.restart_after_kill()  # its writer converts the dead process's spool
        stack.proxy.stop()
    rows = read_events(stack.data_dir)
    assert len({r["event_id"] for r in rows}) == len(rows)
    successes = Counter(r["call_id"] for r in rows if r["status"] == "success")
    missing = [call_id for call_id in answered if successes[call_id] == 0]
    doubled = [call_id for call_id in answered if successes[call_id] > 1]
    assert missing == [] and doubled == [], (len(missing), len(doubled))
    # Rows the client never saw (in flight at the kill) are allowed; they are real calls.
    assert len(successes) >= len(answered)
    captures = Counter(r["capture"] for r in rows)
    print(f"answered {len(answered)}, rows {len(rows)}, by capture {dict(captures)}")
    # Every heartbeat's books balance: the killed writer's last one, and the restarted
    # writer's, which recovered the dead spool (those rows are `recovered`, not its own).
    beats = [json.loads(p.read_text()) for p in (stack.data_dir / "writers").glob("*.json")]
    assert len(beats) == 2
    for beat in beats:
        assert balanced(beat), beat
    restarted = max(beats, key=lambda beat: beat["updated_at"])
    assert restarted["lost"] == 0 and restarted["recovered"] > 0, restarted
    assert set(restarted["recovered_dropped_by_reason"]) <= {"duplicate", "marker_settled"}
