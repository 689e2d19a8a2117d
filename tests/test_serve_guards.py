"""The dashboard's guards without a browser: the bind check, the per-client bound, and a
query interrupted when its client goes away (a real DuckDB query on a real data dir; the
request is Starlette's own over an ASGI `receive` that reports the client gone)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.requests import Request

from llmstats.analytics.errors import UsageError
from llmstats.analytics.web.auth import check_bind, cookie_value, is_loopback
from llmstats.analytics.web.data_source import Cancelled, DataSource, TooBusy
from tests.support.event_data import write_events
from tests.support.rows import event_row


def request(client: str, gone_when: threading.Event | None = None) -> Request:
    """A GET from `client`; its connection drops 0.3 s after `gone_when` is set (never if
    None)."""
    first = [True]
    since: list[float] = []

    async def receive() -> dict[str, Any]:
        if first[0]:
            first[0] = False
            return {"type": "http.request", "body": b"", "more_body": False}
        while True:
            if gone_when is not None and gone_when.is_set():
                since[:] = since or [time.monotonic()]
                if time.monotonic() - since[0] >= 0.3:
                    return {"type": "http.disconnect"}
            await anyio.sleep(0.02)

    scope = {"type": "http", "method": "GET", "path": "/api/x", "headers": [],
             "query_string": b"", "client": (client, 50000)}  # fmt: skip
    return Request(scope, receive)


def test_only_loopback_may_serve_without_a_token() -> None:
    assert check_bind("127.0.0.1", None) is None
    assert check_bind("::1", None) is None and is_loopback("localhost")
    for host in ("0.0.0.0", "::", "192.168.1.5", "dashboard.example"):
        with pytest.raises(UsageError, match="LLMSTATS_DASHBOARD_TOKEN"):
            check_bind(host, None)
        assert check_bind(host, "x" * 16) == "x" * 16
    with pytest.raises(UsageError, match="too short"):
        check_bind("0.0.0.0", "short")
    assert cookie_value("x" * 16) != "x" * 16


@pytest.mark.timeout(120)  # without the interrupt the query runs for hours
def test_a_client_gone_away_has_its_query_interrupted(isolated_data_dir: Path) -> None:
    write_events([event_row()])
    source = DataSource(str(isolated_data_dir))
    started = threading.Event()

    def endless(dataset: Any) -> Any:
        started.set()  # a query that would run for hours: a cross join of ranges
        return dataset.con.execute(
            "SELECT count(*) FROM range(100000000000) a, range(1000) b WHERE a.range % 7 = b.range"
        ).fetchall()

    async def main() -> None:
        with pytest.raises(Cancelled):
            await source.run(request("10.0.0.1", gone_when=started), endless)

    anyio.run(main)
    assert started.is_set()
    # The connection is free again and answers the next client.
    async def next_one() -> Any:
        return await source.run(request("10.0.0.2"), lambda d: d.con.execute(
            "SELECT count(*) FROM events").fetchall())  # fmt: skip

    assert anyio.run(next_one) == [(1,)]
    source.close()


def test_one_client_may_not_hold_more_than_its_share(isolated_data_dir: Path) -> None:
    write_events([event_row()])
    source = DataSource(str(isolated_data_dir), per_client=1)
    release = threading.Event()
    outcomes: list[str] = []

    def hold(dataset: Any) -> str:
        release.wait(30)
        return "done"

    async def main() -> None:
        async def first() -> None:
            outcomes.append(await source.run(request("10.0.0.1"), hold))

        async with anyio.create_task_group() as group:
            group.start_soon(first)
            await anyio.sleep(0.3)
            with pytest.raises(TooBusy):
                await source.run(request("10.0.0.1"), lambda d: "second")
            release.set()
        outcomes.append(await source.run(request("10.0.0.1"), lambda d: "third"))

    anyio.run(main)
    assert outcomes == ["done", "third"]
    source.close()


def test_a_short_question_gets_through_while_a_long_one_runs(isolated_data_dir: Path) -> None:
    """Two connections (the default): a question from another client is answered while
    the first connection is busy, each on its own DuckDB database."""
    write_events([event_row()])
    source = DataSource(str(isolated_data_dir))
    release = threading.Event()
    seen: list[Any] = []

    def hold(dataset: Any) -> str:
        seen.append(dataset)
        release.wait(30)
        return "long"

    def count(dataset: Any) -> int:
        seen.append(dataset)
        (calls,) = dataset.con.execute("SELECT count(*) FROM events").fetchone()
        return int(calls)

    async def main() -> list[Any]:
        answers: list[Any] = []

        async def long() -> None:
            answers.append(await source.run(request("10.0.0.1"), hold))

        async with anyio.create_task_group() as group:
            group.start_soon(long)
            await anyio.sleep(0.3)
            answers.append(await source.run(request("10.0.0.2"), count))
            release.set()
        return answers

    assert anyio.run(main) == [1, "long"]  # the short answer came first
    assert seen[0] is not seen[1] and seen[0].con is not seen[1].con
    source.close()
