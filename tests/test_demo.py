"""`llmstats demo`, the README's first command: the real proxy, the fake provider, a report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _documents(text: str) -> list[dict]:
    decoder, documents, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return documents


def test_demo_runs_the_whole_pipeline_and_reports(tmp_path: Path) -> None:
    llmstats = Path(sys.executable).with_name("llmstats")
    proc = subprocess.run(
        [
            str(llmstats),
            "demo",
            "--calls",
            "60",
            "--format",
            "json",
            "--keep",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    overview, by_team, savings = _documents(proc.stdout)
    totals = overview["totals"]
    assert totals["calls"] >= 60  # retries and fallbacks add attempts
    assert totals["cost_usd"] > 0 and totals["reported_cost_usd"] > 0
    assert 0 < totals["error_rate"] < 1
    assert {row["team"] for row in by_team["rows"]} <= {"search", "support", "research", "platform"}
    assert savings["totals"]["savings_usd"] > 0
    assert list((tmp_path / "demo" / "data" / "events").glob("date=*/*.parquet"))


def test_a_connection_the_proxy_drops_counts_as_not_answered() -> None:
    """An overloaded proxy may drop a connection: the demo counts the call, no traceback."""
    import socket
    import threading

    from llmstats.analytics.demo.workload import _sender

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def drop_two() -> None:
            for _ in range(2):
                connection, _ = server.accept()
                connection.recv(65536)
                connection.close()  # mid-request, before any answer

        dropper = threading.Thread(target=drop_two, daemon=True)
        dropper.start()
        send = _sender(f"http://127.0.0.1:{port}")
        item = ("chat", "search", "alice", {"model": "gpt-4o-mini", "messages": []})
        assert send(item) is False
        assert send(item) is False  # a new connection after the dropped one
        dropper.join(10)
