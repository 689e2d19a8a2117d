"""Several proxy worker processes write one data dir: own writer ids, no shared locks,
every answered request exactly once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from llmstats.analytics.proxy_identities import token_for

from proxy_e2e import proxy_stack, read_events

pytestmark = pytest.mark.slow


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

        with ThreadPoolExecutor(8) as pool:
            answered = [call_id for call_id in pool.map(send, range(200)) if call_id]
        # While the proxy runs, rows land within LLMSTATS_FLUSH_SECONDS (2 s here).
        assert len(stack.wait_for_events(200, timeout=15)) == 200
    rows = read_events(stack.data_dir)
    assert len(answered) == 200
    per_call = Counter(r["call_id"] for r in rows)
    assert all(per_call[call_id] == 1 for call_id in answered)
    assert len(rows) == 200
    # Each worker process spooled and wrote under its own writer id.
    assert len({r["writer_id"] for r in rows}) == 2
    beats = list((stack.data_dir / "writers").glob("*.json"))
    assert len(beats) >= 2
