"""The real proxy with a setting llmstats cannot use: the problem is said once, at start,
in its own words (never "callback error ConfigError" a minute), and the proxy serves."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from llmstats.analytics.demo.identities import token_for
from tests.support.proxy_e2e import proxy_stack

pytestmark = pytest.mark.slow

MESSAGE = "LLMSTATS_FLUSH_SECONDS must be a number of seconds from 0.05 to 86,400, not 'nan'"


def test_a_bad_setting_is_said_once_at_start_and_the_proxy_keeps_serving(tmp_path: Path) -> None:
    with proxy_stack(tmp_path, env={"LLMSTATS_FLUSH_SECONDS": "nan"}) as stack:
        at_start = stack.proxy.log_path.read_text(errors="replace")
        headers = {"Authorization": f"Bearer {token_for('search', 'alice')}"}
        with httpx.Client(base_url=stack.proxy.url, timeout=30) as client:
            statuses = [
                client.post(
                    "/chat/completions",
                    headers=headers,
                    json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"n{i}"}]},
                ).status_code
                for i in range(20)
            ]
        assert statuses == [200] * 20
        assert len(stack.ledger()) == 20  # every call reached the provider
    log = stack.proxy.log_path.read_text(errors="replace")
    assert MESSAGE in at_start  # said before the first request, not on it
    assert log.count("llmstats:") == 1 and log.count(MESSAGE) == 1, log[-3000:]
    assert "callback error" not in log
    assert not (stack.data_dir / "events").exists()  # capture is off, as the line says
