"""Several proxy worker processes write one data dir: own writer ids, no shared locks,
every answered request exactly once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from llmstats.analytics.demo.identities import token_for
from tests.support.proxy_e2e import proxy_stack, read_events

pytestmark = pytest.mark.slow

ROUNDS = 5


def test_two_workers_write_one_data_dir(tmp_path: Path) -> None:
    with proxy_stack(tmp_path, num_workers=2) as stack:
        headers = {"Authorization": f"Bearer {token_for('fleet', 'wes')}"}

        def send(index: int) -> str | None:
            with httpx.Client(base_url=stack.proxy.url, timeout=30) as client:
                response = client.post(
                    "/chat/completions",
                    headers=headers,
                    json={
                        "model": "gpt-4o-mini",
                        "messages": [{"role": "user", "content": f"n{index}"}],
                    },
                )
            return (
                response.headers.get("x-litellm-call-id") if response.status_code == 200 else None
            )

        # The workers share one listening socket and the kernel hands each connection to
        # whichever worker accepts first: on a loaded machine one worker can take a whole
        # round, so send rounds (bounded) until both have written.
        answered: list[str] = []
        for round_ in range(ROUNDS):
            with ThreadPoolExecutor(8) as pool:
                sent = range(round_ * 200, (round_ + 1) * 200)
                answered += [call_id for call_id in pool.map(send, sent) if call_id]
            # While the proxy runs, rows land within LLMSTATS_FLUSH_SECONDS (2 s here).
            rows = stack.wait_for_events(len(answered), timeout=15)
            assert len(rows) == len(answered)
            if len({r["writer_id"] for r in rows}) == 2:
                break
    rows = read_events(stack.data_dir)
    assert len(answered) == 200 * (round_ + 1)
    per_call = Counter(r["call_id"] for r in rows)
    assert all(per_call[call_id] == 1 for call_id in answered)
    assert len(rows) == len(answered)
    # Each worker process spooled and wrote under its own writer id.
    assert len({r["writer_id"] for r in rows}) == 2
    beats = list((stack.data_dir / "writers").glob("*.json"))
    assert len(beats) >= 2
