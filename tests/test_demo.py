"""`llmstats demo`, the README's first command: the real proxy, the fake provider, a report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import stop

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


def test_demo_serve_prints_the_dashboard_url_and_serves_the_demo_events(tmp_path: Path) -> None:
    """`llmstats demo --serve`, the README's way into the dashboard: the demo (at its
    smallest, 10 calls), then the dashboard on the URL it prints, showing the events the
    demo's own report counted; stopped, it removes its temporary data dir."""
    import os
    import re
    import threading
    import time

    from tests.support.sample_dataset import isolated_environment
    from tests.test_dashboard_browser import chromium_path
    from tests.test_serve import Visit, free_port, get, server_env

    port = free_port()
    env = server_env(tmp_path, TMPDIR=str(tmp_path))
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("llmstats")), "demo", "--calls", "10", "--format",
         "json", "--serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    said: list[str] = []
    url: list[str] = []
    found = threading.Event()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            said.append(line)
            match = re.search(r"llmstats dashboard on (http://\S+?)/? ", line)
            if match:
                url.append(match.group(1))
                found.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        assert found.wait(300), "".join(said)[-3000:]  # the demo: ~10 s here
        base = url[0]
        assert base == f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # the URL is printed just before uvicorn binds
            try:
                status, _, _ = get(base + "/api/version")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "".join(said)
                time.sleep(0.2)
        assert status == 200
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright, isolated_environment(tmp_path):
            browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
            visit = Visit(browser, base)
            try:
                visit.open("/overview")
                shown = {name: visit.card(name) for name in ("requests", "cost")}
                assert visit.page.locator(".plot[data-drawn]").count() >= 2
                visit.assert_clean()
            finally:
                visit.close()
                browser.close()
    finally:
        stop(process, timeout=30)
        reader.join(5)
    assert process.stdout is not None
    overview = _documents(process.stdout.read())[0]["totals"]
    assert shown["requests"] == overview["requests"] >= 10
    assert shown["cost"] == pytest.approx(overview["cost_usd"], rel=1e-9) and shown["cost"] > 0
    assert "Traceback" not in "".join(said)
    # Stopped by SIGTERM, it still removed its temporary data dir (and the server its
    # DuckDB spill dir).
    assert process.returncode == 128 + 15
    assert [p for p in os.listdir(tmp_path) if p.startswith(("llmstats-demo-", "llmstats-serve-"))] == []
