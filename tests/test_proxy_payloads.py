"""End to end, the shapes issue 23 found wrong: the real LiteLLM proxy, the fake provider.

- a delayed upstream on every route (chat, Anthropic `/v1/messages`, the Responses API;
  streamed and not): the row's latency and time to first token are what the client saw;
- failed streams are stored as streams;
- a failure's unreported counts are NULL, and a context-length error keeps its code
  (derived from LiteLLM's exception class where the provider's is lost);
- client retries (the official `openai` SDK retrying 429s and 5xx): every attempt's
  `client_retry_count`, and the errors report tells first attempts from client retries;
- a first attempt says `fallbacks = 0`, not NULL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

from llmstats.analytics.demo.identities import token_for
from llmstats.analytics.demo.proxy_config import SLOW_MS
from tests.support.proxy_e2e import Stack, proxy_stack, read_events

pytestmark = pytest.mark.slow

PROMPT = [{"role": "user", "content": "Say something short."}]


@dataclass
class Shape:
    name: str
    call_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0  # what the client waited, request to last byte
    error: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


class Shapes:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.shapes: dict[str, Shape] = {}
        self.token = token_for("search", "alice")

    def sdk(self, max_retries: int = 0) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.stack.proxy.url, api_key=self.token,
                             max_retries=max_retries)  # fmt: skip

    def run(self, name: str, send: Callable[[], list[str]]) -> None:
        shape = Shape(name)
        began = time.perf_counter()
        try:
            shape.call_ids = send()
        except (openai.APIStatusError, httpx.HTTPStatusError) as exc:
            shape.error = type(exc).__name__
            shape.call_ids = [exc.response.headers.get("x-litellm-call-id") or ""]
        shape.seconds = time.perf_counter() - began
        self.shapes[name] = shape

    def chat(self, name: str, model: str, stream: bool = False, retries: int = 0) -> None:
        def send() -> list[str]:
            raw = self.sdk(retries).chat.completions.with_raw_response.create(
                model=model, messages=PROMPT,  # type: ignore[arg-type]
                **({"stream": True, "stream_options": {"include_usage": True}} if stream else {}),
            )  # fmt: skip
            parsed = raw.parse()
            if stream:
                for _ in parsed:  # type: ignore[attr-defined]
                    pass
            return [raw.headers.get("x-litellm-call-id")]

        self.run(name, send)

    def responses(self, name: str, model: str, stream: bool = False) -> None:
        def send() -> list[str]:
            raw = self.sdk().responses.with_raw_response.create(
                model=model, input="Say something short.", stream=stream
            )
            parsed = raw.parse()
            if stream:
                for _ in parsed:  # type: ignore[attr-defined]
                    pass
            return [raw.headers.get("x-litellm-call-id")]

        self.run(name, send)

    def messages(self, name: str, model: str, stream: bool = False) -> None:
        """Anthropic's `/v1/messages` route (the anthropic SDK is not installed: httpx)."""

        def send() -> list[str]:
            body = {"model": model, "max_tokens": 64, "stream": stream, "messages": PROMPT}
            headers = {"Authorization": f"Bearer {self.token}", "anthropic-version": "2023-06-01"}
            with httpx.stream("POST", self.stack.proxy.url + "/v1/messages", json=body,
                              headers=headers, timeout=60) as response:  # fmt: skip
                response.read()
                response.raise_for_status()
                return [response.headers.get("x-litellm-call-id")]

        self.run(name, send)


def run_shapes(stack: Stack) -> dict[str, Shape]:
    s = Shapes(stack)
    for stream in (False, True):
        suffix = "_stream" if stream else ""
        s.chat(f"slow_chat{suffix}", "slow-gpt-4o-mini", stream=stream)
        s.chat(f"slow_chat_anthropic{suffix}", "slow-claude-haiku", stream=stream)
        s.messages(f"slow_messages{suffix}", "slow-claude-haiku", stream=stream)
        s.responses(f"slow_responses{suffix}", "slow-gpt-4o-mini", stream=stream)
    s.chat("failed_stream", "broken-500", stream=True)
    s.messages("failed_messages_stream", "broken-anthropic-400", stream=True)
    s.chat("context_length_anthropic", "broken-anthropic-400")
    s.chat("context_length_openai", "broken-400")
    s.chat("first_attempt", "gpt-4o-mini")
    # The SDK's own default: two retries of a 429 or 5xx, each a new proxy request.
    s.chat("client_retries_429", "broken-429", retries=2)
    s.chat("client_retries_5xx", "broken-503", retries=2)
    s.chat("client_retry_recovers", "flaky-429", retries=2)
    return s.shapes


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Shape]:
    workdir = tmp_path_factory.mktemp("proxy-payloads")
    with proxy_stack(workdir) as stack:
        found = run_shapes(stack)
        time.sleep(2)  # LiteLLM runs success callbacks after answering
    rows = read_events(stack.data_dir)
    by_group: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_group.setdefault(row["model_group"], []).append(row)
    for shape in found.values():
        shape.rows = sorted((r for r in rows if r["call_id"] in shape.call_ids),
                            key=lambda r: r["ts"])  # fmt: skip
    # Client retries are separate requests: found by their model group, which only they use.
    for name, group in (("client_retries_429", "broken-429"), ("client_retries_5xx", "broken-503"),
                        ("client_retry_recovers", "flaky-429")):  # fmt: skip
        found[name].rows = sorted(by_group.get(group, []), key=lambda r: r["ts"])
    found["_data_dir"] = Shape("_data_dir", call_ids=[str(stack.data_dir)])
    return found


def _only(shape: Shape, status: str = "success") -> dict[str, Any]:
    rows = [r for r in shape.rows if r["status"] == status]
    assert len(rows) == 1, (shape.name, shape.error, shape.rows)
    return rows[0]


ROUTES = ["slow_chat", "slow_chat_anthropic", "slow_messages", "slow_responses"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("route", ROUTES)
def test_a_delayed_upstream_is_measured_as_the_client_saw_it(
    shapes: dict[str, Shape], route: str, stream: bool
) -> None:
    shape = shapes[route + ("_stream" if stream else "")]
    assert shape.error is None, shape
    row = _only(shape)
    assert row["stream"] is stream
    # The upstream took SLOW_MS before its first byte: so did the call, and the client
    # waited at least as long as the call took.
    assert SLOW_MS <= row["latency_ms"] <= shape.seconds * 1000, (row["latency_ms"], shape.seconds)
    if stream:
        assert SLOW_MS <= row["ttft_ms"] <= row["latency_ms"], row["ttft_ms"]
    else:
        assert row["ttft_ms"] is None


@pytest.mark.parametrize("name", ["failed_stream", "failed_messages_stream"])
def test_a_failed_stream_is_stored_as_a_stream(shapes: dict[str, Shape], name: str) -> None:
    shape = shapes[name]
    assert shape.error is not None and shape.rows, shape
    for row in shape.rows:
        assert row["status"] == "failure" and row["stream"] is True, row
        assert row["ttft_ms"] is None  # no chunk ever came


def test_a_failures_unreported_counts_are_null_not_zero(shapes: dict[str, Shape]) -> None:
    rows = [r for s in shapes.values() for r in s.rows if r["status"] == "failure"]
    assert len(rows) >= 6
    for row in rows:
        for column in ("input_tokens", "output_tokens", "total_tokens", "reported_cost_usd",
                       "cache_read_tokens", "cache_write_tokens"):  # fmt: skip
            assert row[column] is None, (column, row["model_group"], row[column])


def test_a_context_length_error_keeps_a_code_marked_as_derived_where_the_provider_lost_it(
    shapes: dict[str, Shape],
) -> None:
    anthropic = _only(shapes["context_length_anthropic"], "failure")
    assert anthropic["error_class"] == "ContextWindowExceededError"
    assert anthropic["error_code"] == "context_length_exceeded"
    assert anthropic["error_code_source"] == "derived"
    assert anthropic["http_status"] == 400
    openai_row = _only(shapes["context_length_openai"], "failure")
    assert openai_row["error_code"] == "context_length_exceeded"
    assert openai_row["error_code_source"] == "provider"


def test_a_first_attempt_says_zero_fallbacks_and_zero_retries(shapes: dict[str, Shape]) -> None:
    row = _only(shapes["first_attempt"])
    assert row["fallbacks"] == 0 and row["retries"] == 0
    assert row["client_retry_count"] == 0  # the openai SDK said so: a first attempt


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [("client_retries_429", 429, "RateLimitError"),
     ("client_retries_5xx", 503, "InternalServerError")],
)
def test_every_client_retry_is_a_request_of_its_own_with_its_retry_number(
    shapes: dict[str, Shape], name: str, status: int, error: str
) -> None:
    shape = shapes[name]
    assert shape.error == error, shape  # the openai SDK's class for what it finally got
    by_trace: dict[str, set[int | None]] = {}
    for row in shape.rows:
        assert row["status"] == "failure" and row["http_status"] == status
        by_trace.setdefault(row["trace_id"], set()).add(row["client_retry_count"])
    # Three requests (the first and the SDK's two retries), each with one retry number.
    assert all(len(numbers) == 1 for numbers in by_trace.values())
    assert sorted(next(iter(n)) for n in by_trace.values()) == [0, 1, 2]


def test_the_last_client_retry_of_a_recovered_call_succeeds(shapes: dict[str, Shape]) -> None:
    # The proxy's first request failed (a 429 twice: LiteLLM retried once itself and
    # reports the request's failure once); the SDK's retry, a request of its own, succeeded.
    recovered = shapes["client_retry_recovers"]
    assert recovered.error is None, recovered
    assert [(r["status"], r["client_retry_count"]) for r in recovered.rows] == [
        ("failure", 0), ("success", 1)
    ]
    assert len({r["trace_id"] for r in recovered.rows}) == 2


def test_the_errors_report_tells_first_attempts_from_client_retries(
    shapes: dict[str, Shape],
) -> None:
    from typer.testing import CliRunner

    from llmstats.analytics.cli import app

    data_dir = shapes["_data_dir"].call_ids[0]
    arguments = ["report", "errors", "--since", "2000-01-01", "--data-dir", data_dir,
                 "--where", "model_group=flaky-429", "--format", "json"]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    totals = json.loads(result.output)["totals"]
    # The application made one call: the proxy saw two requests, one a client retry.
    assert (totals["requests"], totals["first_attempts"], totals["client_retries"]) == (2, 1, 1)
    assert (totals["failures"], totals["calls"]) == (1, 2)


@pytest.mark.parametrize(
    ("group", "sent"),
    [("broken-400", ["context_length_openai"]),
     ("broken-anthropic-400", ["context_length_anthropic", "failed_messages_stream"])],
)
def test_the_context_report_counts_a_context_length_failure_as_exceeded_not_ok(
    shapes: dict[str, Shape], group: str, sent: list[str]
) -> None:
    """Their counts are NULL, not 0: a call that failed on context length is never an OK
    call in `report context` (the provider's code for OpenAI, the derived one for Anthropic;
    the fake provider's 400s there are all context-length errors)."""
    from typer.testing import CliRunner

    from llmstats.analytics.cli import app

    failed = [row for name in sent for row in shapes[name].rows if row["status"] == "failure"]
    assert failed and all(r["error_code"] == "context_length_exceeded" for r in failed), failed
    data_dir = shapes["_data_dir"].call_ids[0]
    arguments = ["report", "context", "--since", "2000-01-01", "--data-dir", data_dir,
                 "--where", f"model_group={group}", "--format", "json"]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert [(row["calls"], row["ok"], row["exceeded"]) for row in rows] == [
        (len(failed), 0, len(failed))
    ], rows
