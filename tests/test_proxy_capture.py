"""End to end: the real LiteLLM proxy, the llmstats callback, the fake provider.

One proxy runs a battery of calls (every call type, four provider usage shapes, streaming
and not, prompt-cache writes and reads, errors, a retry and a fallback); each test then
checks the captured rows against what the provider itself answered (its ledger) and what
the proxy told the client (the x-litellm-* response headers).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

from tests.support.proxy_e2e import Stack, proxy_stack, read_events

pytestmark = pytest.mark.slow

LONG_SYSTEM = "You are a careful assistant for the search team. " * 120  # ~1,500 tokens


@dataclass
class Call:
    name: str
    call_id: str | None
    cost_header: float | None
    ledger: list[dict[str, Any]]
    error: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


def _anthropic_messages(ttl: str | None = None) -> list[dict[str, Any]]:
    marker: dict[str, Any] = {"type": "ephemeral"}
    if ttl:
        marker["ttl"] = ttl
    return [
        {
            "role": "system",
            "content": [{"type": "text", "text": LONG_SYSTEM, "cache_control": marker}],
        },
        {"role": "user", "content": "Which index should I query?"},
    ]


PLAIN = [{"role": "system", "content": LONG_SYSTEM}, {"role": "user", "content": "hello"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a thing up",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }
]


SEGMENTED: list[dict[str, Any]] = [
    {"role": "system", "content": LONG_SYSTEM},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Fix this:\n```python\ndef f(x):\n    return x\n```\n"},
            {"type": "text", "text": '{"rows": [1, 2, 3], "ok": true}'},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_9",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"q": "x"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_9", "content": "3 results"},
    {"role": "user", "content": "# Summary\n\n- one\n- two\n"},
]


class Battery:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.client = stack.client("search", "alice")
        self.calls: dict[str, Call] = {}

    def run(self, name: str, send: Callable[[openai.OpenAI], Any]) -> None:
        before = len(self.stack.ledger())
        call_id = cost = error = None
        try:
            raw = send(self.client)
            call_id = raw.headers.get("x-litellm-call-id")
            cost_text = raw.headers.get("x-litellm-response-cost")
            cost = float(cost_text) if cost_text not in (None, "", "None") else None
            parsed = raw.parse()
            if isinstance(parsed, openai.Stream):
                for _ in parsed:  # a stream is logged once it has been read to the end
                    pass
        except openai.APIStatusError as exc:
            error = type(exc).__name__
            call_id = exc.response.headers.get("x-litellm-call-id")
        self.calls[name] = Call(name, call_id, cost, self.stack.ledger()[before:], error)

    def chat(self, name: str, model: str, messages: list[dict[str, Any]], **extra: Any) -> None:
        self.run(
            name,
            lambda c: c.chat.completions.with_raw_response.create(
                model=model,
                messages=messages,
                **extra,  # type: ignore[arg-type]
            ),
        )

    def stream(self, name: str, model: str, messages: list[dict[str, Any]], **extra: Any) -> None:
        self.chat(
            name, model, messages, stream=True, stream_options={"include_usage": True}, **extra
        )


def run_battery(stack: Stack) -> dict[str, Call]:
    b = Battery(stack)
    b.chat("openai", "gpt-4o-mini", PLAIN)
    b.chat("openai_cached", "gpt-4o-mini", PLAIN)
    b.stream("openai_stream", "gpt-4o-mini", PLAIN)
    b.chat("openai_tools", "gpt-4o-mini", PLAIN, tools=TOOLS)
    b.chat("openai_reasoning", "o3-mini", [{"role": "user", "content": "think"}])
    b.chat("anthropic_write", "claude-haiku-4-5", _anthropic_messages())
    b.chat("anthropic_read", "claude-haiku-4-5", _anthropic_messages())
    b.stream("anthropic_stream_read", "claude-haiku-4-5", _anthropic_messages())
    b.chat("anthropic_write_1h", "claude-sonnet-4-5", _anthropic_messages("1h"))
    b.chat("gemini", "gemini-2.5-flash", PLAIN)
    b.chat("gemini_cached", "gemini-2.5-flash", PLAIN)
    b.stream("gemini_stream", "gemini-2.5-flash", PLAIN)
    b.chat("bedrock_write", "bedrock-claude-haiku", _anthropic_messages())
    b.stream("bedrock_stream_read", "bedrock-claude-haiku", _anthropic_messages())
    b.run(
        "embedding",
        lambda c: c.embeddings.with_raw_response.create(
            model="text-embedding-3-small", input=["alpha beta gamma", "delta"]
        ),
    )
    b.run(
        "image",
        lambda c: c.images.with_raw_response.generate(model="dall-e-3", prompt="a lighthouse", n=2),
    )
    b.run(
        "transcription",
        lambda c: c.audio.transcriptions.with_raw_response.create(
            model="whisper-1", file=("a.mp3", io.BytesIO(b"\xff\xfb\x90\x64" + b"\0" * 4096))
        ),
    )
    b.run(
        "speech",
        lambda c: c.audio.speech.with_raw_response.create(
            model="tts-1", voice="alloy", input="read this aloud"
        ),
    )
    b.run(
        "moderation",
        lambda c: c.moderations.with_raw_response.create(
            model="omni-moderation-latest", input="is this fine"
        ),
    )
    b.run(
        "responses",
        lambda c: c.responses.with_raw_response.create(model="gpt-4o-mini", input="hello there"),
    )
    b.run("rerank", lambda c: _rerank(stack))
    b.chat("segments", "gpt-4o-mini", SEGMENTED, tools=TOOLS)
    b.chat("segments_anthropic", "claude-haiku-4-5", SEGMENTED, tools=TOOLS)
    b.chat("error_400", "broken-400", [{"role": "user", "content": "too long"}])
    b.chat("error_429", "broken-429", [{"role": "user", "content": "too many"}])
    b.chat("retry", "flaky-gpt-4o-mini", [{"role": "user", "content": "try again"}])
    b.chat("fallback", "primary-down", [{"role": "user", "content": "fall back"}])
    return b.calls


class _RawAnswer:
    """httpx's response, shaped like the OpenAI SDK's raw response for Battery.run."""

    def __init__(self, response: httpx.Response) -> None:
        response.raise_for_status()
        self.headers = response.headers

    def parse(self) -> None:
        return None


def _rerank(stack: Stack) -> _RawAnswer:
    from llmstats.analytics.demo.identities import token_for

    response = httpx.post(
        stack.proxy.url + "/v1/rerank",
        headers={"Authorization": f"Bearer {token_for('search', 'alice')}"},
        json={"model": "rerank-english", "query": "which", "documents": ["a", "b", "c"]},
        timeout=30,
    )
    return _RawAnswer(response)


@pytest.fixture(scope="module")
def battery(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Call], list[dict[str, Any]]]:
    workdir = tmp_path_factory.mktemp("proxy-capture")
    with proxy_stack(workdir) as stack:
        calls = run_battery(stack)
        # LiteLLM runs success callbacks after answering; give its queue a moment.
        time.sleep(2)
    # The proxy has been stopped with SIGTERM: everything must be in Parquet now.
    rows = read_events(stack.data_dir)
    for call in calls.values():
        call.rows = sorted((r for r in rows if r["call_id"] == call.call_id), key=lambda r: r["ts"])
    return calls, rows


def _ok(call: Call) -> dict[str, Any]:
    assert call.error is None, call
    successes = [r for r in call.rows if r["status"] == "success"]
    assert len(successes) == 1, (call.name, call.rows)
    return successes[0]


def _provider_usage(call: Call) -> dict[str, Any]:
    answered = [e for e in call.ledger if e["status"] == 200]
    assert len(answered) == 1, call.ledger
    return answered[0]["usage"]


def test_every_call_is_captured_once_and_attempts_are_unique(battery: Any) -> None:
    calls, rows = battery
    assert len({r["event_id"] for r in rows}) == len(rows)
    for call in calls.values():
        assert call.call_id, call
        assert call.rows, f"no row for {call.name}"
    assert all(r["trace_id"] for r in rows)


@pytest.mark.parametrize("name", ["openai", "openai_cached", "openai_stream", "openai_tools"])
def test_openai_usage_shape(battery: Any, name: str) -> None:
    calls, _ = battery
    call = calls[name]
    row, usage = _ok(call), _provider_usage(calls[name])
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    # OpenAI's prompt_tokens already include cached tokens: input_tokens is the same number.
    assert row["input_tokens"] == usage["prompt_tokens"]
    assert row["output_tokens"] == usage["completion_tokens"]
    assert row["cache_read_tokens"] == cached
    assert (row["cache_write_tokens"] or 0) == 0
    assert row["provider"] == "openai" and row["model"] == "gpt-4o-mini"
    assert row["model_group"] == "gpt-4o-mini"
    assert row["stream"] is (name == "openai_stream")
    if name == "openai_stream":
        assert row["ttft_ms"] is not None and 0 <= row["ttft_ms"] <= row["latency_ms"]
    else:
        assert row["reported_cost_usd"] == pytest.approx(call.cost_header, rel=1e-9)
    if name == "openai_cached":
        assert cached > 0
    assert row["tool_call_count"] == (1 if name == "openai_tools" else 0)


def test_reasoning_tokens(battery: Any) -> None:
    calls, _ = battery
    row, usage = _ok(calls["openai_reasoning"]), _provider_usage(calls["openai_reasoning"])
    assert row["reasoning_tokens"] == usage["completion_tokens_details"]["reasoning_tokens"] > 0
    assert row["output_tokens"] == usage["completion_tokens"]


@pytest.mark.parametrize(
    "name", ["anthropic_write", "anthropic_read", "anthropic_stream_read", "anthropic_write_1h"]
)
def test_anthropic_usage_shape(battery: Any, name: str) -> None:
    calls, _ = battery
    row, usage = _ok(calls[name]), _provider_usage(calls[name])
    read, write = usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]
    # Anthropic's input_tokens exclude cache reads and writes; ours include both.
    assert row["input_tokens"] == usage["input_tokens"] + read + write
    assert row["cache_read_tokens"] == read
    assert row["cache_write_tokens"] == write
    assert row["output_tokens"] == usage["output_tokens"]
    assert row["provider"] == "anthropic"
    if name.endswith("_read"):
        assert read > 0 and write == 0
    else:
        assert write > 0 and read == 0
    if name == "anthropic_write_1h":
        assert row["cache_write_1h_tokens"] == write
    assert row["reported_cost_usd"] > 0
    if calls[name].cost_header is not None:
        assert row["reported_cost_usd"] == pytest.approx(calls[name].cost_header, rel=1e-9)


@pytest.mark.parametrize("name", ["gemini", "gemini_cached", "gemini_stream"])
def test_gemini_usage_shape(battery: Any, name: str) -> None:
    calls, _ = battery
    row, usage = _ok(calls[name]), _provider_usage(calls[name])
    cached = usage.get("cachedContentTokenCount", 0)
    thoughts = usage.get("thoughtsTokenCount", 0)
    assert row["input_tokens"] == usage["promptTokenCount"]  # includes cached content
    assert (row["cache_read_tokens"] or 0) == cached
    # Thinking tokens are billed as output: LiteLLM folds them into completion tokens.
    assert row["output_tokens"] == usage["candidatesTokenCount"] + thoughts
    assert row["reasoning_tokens"] == thoughts
    assert row["provider"] == "gemini" and row["model"] == "gemini-2.5-flash"
    if name != "gemini":
        assert cached > 0


@pytest.mark.parametrize("name", ["bedrock_write", "bedrock_stream_read"])
def test_bedrock_usage_shape(battery: Any, name: str) -> None:
    calls, _ = battery
    row, usage = _ok(calls[name]), _provider_usage(calls[name])
    read, write = usage["cacheReadInputTokens"], usage["cacheWriteInputTokens"]
    assert row["input_tokens"] == usage["inputTokens"] + read + write
    assert (row["cache_read_tokens"] or 0) == read
    assert (row["cache_write_tokens"] or 0) == write
    assert row["output_tokens"] == usage["outputTokens"]
    assert row["provider"] == "bedrock"
    assert (read > 0) if name == "bedrock_stream_read" else (write > 0)


@pytest.mark.parametrize(
    ("name", "call_type"),
    [
        ("embedding", "embedding"),
        ("image", "image"),
        ("transcription", "transcription"),
        ("speech", "speech"),
        ("moderation", "moderation"),
        ("responses", "responses"),
        ("rerank", "rerank"),
    ],
)
def test_other_call_types(battery: Any, name: str, call_type: str) -> None:
    calls, _ = battery
    row = _ok(calls[name])
    assert row["call_type"] == call_type
    assert row["latency_ms"] is not None and row["latency_ms"] >= 0
    if name == "embedding":
        assert row["input_tokens"] == _provider_usage(calls[name])["prompt_tokens"]
    if name == "image":
        assert row["image_count"] == 2
    if name == "transcription":
        assert row["audio_seconds"] == pytest.approx(4.0)
    if name == "responses":
        usage = _provider_usage(calls[name])
        assert row["input_tokens"] == usage["input_tokens"]
        assert row["output_tokens"] == usage["output_tokens"]
    if calls[name].cost_header is not None:
        assert row["reported_cost_usd"] == pytest.approx(calls[name].cost_header, rel=1e-9)


@pytest.mark.parametrize(
    ("name", "status", "code", "error_class"),
    [("error_400", 400, "context_length_exceeded", "BadRequestError"),
     ("error_429", 429, "rate_limit_exceeded", "RateLimitError")],
)
def test_failures_keep_status_code_times_and_deployment(
    battery: Any, name: str, status: int, code: str, error_class: str
) -> None:
    calls, _ = battery
    call = calls[name]
    assert call.error is not None
    failures = [r for r in call.rows if r["status"] == "failure"]
    assert failures and len(failures) == len(call.rows)
    for row in failures:
        assert row["http_status"] == status
        assert row["error_code"] == code
        assert row["error_class"] == error_class  # LiteLLM's own exception class
        assert row["deployment_id"] and row["model_group"] == name.replace("error_", "broken-")
        assert row["ts"] < row["end_ts"] and row["latency_ms"] > 0
        assert (row["output_tokens"] or 0) == 0


def test_a_retry_is_two_attempts_of_one_trace(battery: Any) -> None:
    calls, _ = battery
    call = calls["retry"]
    assert [r["status"] for r in call.rows] == ["failure", "success"]
    assert len({r["trace_id"] for r in call.rows}) == 1
    assert call.rows[0]["http_status"] == 500
    # As LiteLLM maps an OpenAI 500 (type server_error), not a BadRequestError.
    assert call.rows[0]["error_class"] == "InternalServerError"
    assert call.rows[1]["retries"] == 1


def test_a_fallback_is_tied_to_its_failed_primary(battery: Any) -> None:
    calls, _ = battery
    call = calls["fallback"]
    statuses = [(r["status"], r["model_group"]) for r in call.rows]
    assert statuses[-1] == ("success", "gpt-4o-mini")
    assert all(s == ("failure", "primary-down") for s in statuses[:-1]) and len(statuses) >= 2
    assert len({r["trace_id"] for r in call.rows}) == 1
    assert call.rows[-1]["fallbacks"] == 1
    assert {r["error_class"] for r in call.rows[:-1]} == {"ServiceUnavailableError"}


def test_identity_from_the_proxy_key(battery: Any) -> None:
    _, rows = battery
    for row in rows:
        assert row["team_id"] == "team-search" and row["team_alias"] == "search"
        assert row["key_alias"] == "search-alice-key" and row["user_id"] == "alice"
        assert row["key_hash"] and len(row["key_hash"]) == 64
        assert not any(t.startswith("User-Agent") for t in row["tags"] or [])
        assert row["privacy_level"] == "standard" and row["user_agent"] is None


@pytest.mark.parametrize("name", ["segments", "segments_anthropic"])
def test_segments_split_the_prompt_and_sum_to_input_tokens(battery: Any, name: str) -> None:
    calls, _ = battery
    row = _ok(calls[name])
    segments = row["segments"]
    assert segments, row
    assert sum(s["tokens"] for s in segments) == row["input_tokens"]
    assert {(s["role"], s["kind"]) for s in segments} >= {
        ("system", "tool_definitions"),
        ("system", "text"),
        ("user", "code"),
        ("user", "json"),
        ("user", "image"),
        ("assistant", "tool_call"),
        ("tool", "tool_result"),
        ("user", "markdown"),
    }
    assert row["segments_estimated"] is False


def test_every_chat_row_has_segments(battery: Any) -> None:
    _, rows = battery
    for row in rows:
        if row["status"] == "success" and row["call_type"] in ("chat", "embedding", "responses"):
            assert row["segments"], {k: row[k] for k in ("call_type", "model", "stream", "capture")}
            assert sum(s["tokens"] for s in row["segments"]) == row["input_tokens"]
