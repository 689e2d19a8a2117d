"""The callback on the objects the real proxy handed it (tests/fixtures/objects): every rule
of issue 23 through the real path — the callback, the segmenter thread, the converter, the
Parquet row — and the writer's books balanced after it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from llmstats.analytics.demo.proxy_config import SLOW_MS
from llmstats.plugin.accounts import balanced
from llmstats.plugin.attempt_times import epoch_seconds
from llmstats.plugin.config import load_settings
from llmstats.plugin.litellm_logger import LLMStatsLogger
from tests.support import recorded_calls

BLOBS = recorded_calls.blobs()


def replay(records: list[dict[str, Any]], **settings: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each record through the callback as LiteLLM calls it; the rows and the heartbeat."""
    logger = LLMStatsLogger(load_settings(**settings))
    for record in records:
        kwargs, response, start, end = recorded_calls.call(record)
        if record["kind"] == "success":
            logger.log_success_event(kwargs, response, start, end)
        else:
            logger.log_failure_event(kwargs, response, start, end)
    assert logger.flush() and logger.errors == 0
    writer = logger.writer
    assert writer is not None
    beat = writer.heartbeat_document()
    data_dir = logger.data_dir
    assert data_dir is not None
    events = data_dir / "events"
    rows = ds.dataset(events, partitioning="hive").to_table().to_pylist() if events.exists() else []
    return rows, beat


def group_of(record: dict[str, Any]) -> str | None:
    meta = (record["kwargs"].get("litellm_params") or {}).get("metadata") or {}
    return meta.get("model_group")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(record, its row) for every recorded callback."""
    data_dir = tmp_path_factory.mktemp("replayed")
    records = [recorded_calls.fresh(blob) for blob in BLOBS]
    rows, beat = replay(records, data_dir=str(data_dir))
    assert len(rows) == len(records) == beat["spooled"] == beat["written"]
    assert balanced(beat) and beat["held"] == beat["dropped"] == 0, beat
    pairs = []
    for record in records:
        kwargs = record["kwargs"]
        call_id = kwargs["standard_logging_object"]["litellm_call_id"]
        matching = [r for r in rows if r["call_id"] == call_id and r["status"] == record["kind"]]
        pairs.append((record, matching))
    return [(record, found[0] if len(found) == 1 else _by_time(record, found))
            for record, found in pairs]  # fmt: skip


def _by_time(record: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Two attempts of one call with one status: the one that started when this did."""
    start = record["kwargs"]["standard_logging_object"]["startTime"]
    (row,) = [r for r in rows if abs(r["ts"].timestamp() - start) < 1e-3]
    return row


def _rows(replayed: Any, group: str, kind: str = "success") -> list[tuple[dict, dict]]:
    return [(rec, row) for rec, row in replayed if group_of(rec) == group and rec["kind"] == kind]


def test_a_delayed_upstream_keeps_its_time_on_every_route(replayed: Any) -> None:
    slow = _rows(replayed, "slow-claude-haiku") + _rows(replayed, "slow-gpt-4o-mini")
    assert {(rec["kwargs"]["call_type"], row["stream"]) for rec, row in slow} == {
        (call_type, stream)
        for call_type in ("acompletion", "anthropic_messages", "aresponses")
        for stream in (False, True)
    }
    for record, row in slow:
        assert row["latency_ms"] >= SLOW_MS, (record["kwargs"]["call_type"], row["latency_ms"])
        if row["stream"]:
            assert SLOW_MS <= row["ttft_ms"] <= row["latency_ms"]


def test_a_reset_payload_start_gives_way_to_the_requests_own(replayed: Any) -> None:
    """LiteLLM's pass-through stream (/v1/messages) reset the payload's start after the
    upstream answered; the request's start in the kwargs is the row's."""
    [(record, row)] = [
        (rec, row) for rec, row in _rows(replayed, "slow-claude-haiku")
        if rec["kwargs"]["call_type"] == "anthropic_messages" and row["stream"]
    ]  # fmt: skip
    kwargs = record["kwargs"]
    payload_start = kwargs["standard_logging_object"]["startTime"]
    assert payload_start > epoch_seconds(kwargs["api_call_start_time"])  # it was reset
    assert row["ts"].timestamp() == pytest.approx(epoch_seconds(kwargs["start_time"]), abs=1e-6)
    assert payload_start - row["ts"].timestamp() >= SLOW_MS / 1000 * 0.9


def test_a_retry_keeps_the_start_of_its_own_attempt(replayed: Any) -> None:
    """The kwargs' start_time is the request's, shared by its retries: a retry's row starts
    when its own attempt did, so its event id differs from the first attempt's."""
    attempts = _rows(replayed, "flaky-gpt-4o-mini", "failure") + _rows(
        replayed, "flaky-gpt-4o-mini"
    )
    assert len(attempts) == 2
    (first_record, first), (retry_record, retry) = sorted(attempts, key=lambda p: p[1]["ts"])
    assert first["event_id"] != retry["event_id"] and first["trace_id"] == retry["trace_id"]
    assert retry_record["kwargs"]["start_time"] == first_record["kwargs"]["start_time"]
    assert retry["ts"] > first["end_ts"]


def test_failures_store_streams_nulls_and_codes(replayed: Any) -> None:
    failures = [(rec, row) for rec, row in replayed if rec["kind"] == "failure"]
    assert len(failures) >= 8
    for record, row in failures:
        assert row["stream"] is (record["kwargs"].get("stream") is True)
        assert row["input_tokens"] is None and row["output_tokens"] is None
        assert row["reported_cost_usd"] is None
        assert row["error_code"] and row["error_code_source"] in ("provider", "derived")
    streams = {group_of(rec) for rec, row in failures if row["stream"]}
    assert streams == {"broken-500", "broken-anthropic-400"}
    derived = {(row["error_class"], row["error_code"]) for _, row in failures
               if row["error_code_source"] == "derived"}  # fmt: skip
    assert ("ContextWindowExceededError", "context_length_exceeded") in derived
    assert ("ServiceUnavailableError", "service_unavailable") in derived  # primary-down's 503


def test_client_retry_numbers_and_fallbacks_as_reported(replayed: Any) -> None:
    for record, row in replayed:
        headers = record["kwargs"]["standard_logging_object"]["metadata"].get(
            "requester_custom_headers"
        ) or {}
        said = headers.get("x-stainless-retry-count")
        assert row["client_retry_count"] == (None if said is None else int(said))
    retried = sorted(row["client_retry_count"] for rec, row in _rows(replayed, "broken-429", "failure"))
    assert retried[-3:] == [0, 1, 2]
    fell_back = [row for rec, row in _rows(replayed, "gpt-4o-mini") if row["fallbacks"]]
    assert [row["fallbacks"] for row in fell_back] == [1]
    for record, row in replayed:
        if row["status"] == "success" and row not in fell_back and row["call_type"] == "chat":
            assert row["fallbacks"] == 0, group_of(record)  # reported 0: not NULL


@pytest.mark.parametrize("segments", [True, False], ids=["segments-on", "segments-off"])
def test_tool_calls_are_counted_off_the_loop(isolated_data_dir: Path, segments: bool) -> None:
    records = [recorded_calls.fresh(blob) for blob in BLOBS]
    chats = [r for r in records if r["kind"] == "success"
             and r["kwargs"]["call_type"] in ("acompletion", "aresponses")]  # fmt: skip
    expected = {
        r["kwargs"]["standard_logging_object"]["litellm_call_id"]: _tool_calls(r["response"])
        for r in chats
    }
    rows, beat = replay(chats, segments=segments)
    assert balanced(beat) and beat["written"] == len(chats)
    assert {row["call_id"]: row["tool_call_count"] for row in rows} == expected
    assert sorted(expected.values()).count(1) == 3  # openai_tools and the two segmented ones


@pytest.mark.parametrize("segments", [True, False], ids=["segments-on", "segments-off"])
def test_a_speech_calls_input_tokens_are_counted_off_the_loop(
    isolated_data_dir: Path, segments: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LiteLLM reports no tokens for text-to-speech and bills a token-priced model by its
    own count: the row has that count, taken off the loop (the tokenizer costs
    ~200 µs, and half a second to load, on LiteLLM's loop)."""
    import litellm

    [record] = [r for r in map(recorded_calls.fresh, BLOBS)
                if r["kind"] == "success" and r["kwargs"]["call_type"] == "aspeech"]  # fmt: skip
    text = record["kwargs"]["input"]
    expected = litellm.token_counter(model="tts-1", text=text)
    threads: list[str] = []
    real = litellm.token_counter

    def spied(*args: Any, **kwargs: Any) -> int:
        threads.append(threading.current_thread().name)
        return int(real(*args, **kwargs))

    monkeypatch.setattr(litellm, "token_counter", spied)
    (row,), beat = replay([record], segments=segments)
    assert row["call_type"] == "speech" and row["model"] == "tts-1"
    assert row["input_tokens"] == expected > 0
    assert row["input_characters"] == len("".join(text.split()))
    # Counted once, by the segmenter (or by the writer draining it at a flush): never by
    # the thread that called the callback.
    assert len(threads) == 1 and threads[0] in ("llmstats-segmenter", "llmstats-writer")
    assert balanced(beat)


def _tool_calls(response: Any) -> int:
    """Counted here as the response classes define them (not with the code under test)."""
    if type(response).__name__ == "ResponsesAPIResponse":
        return sum(item.type == "function_call" for item in response.output)
    return sum(len(choice.message.tool_calls or []) for choice in response.choices)


def _chat_record() -> dict[str, Any]:
    for blob in BLOBS:
        record = recorded_calls.fresh(blob)
        if record["kind"] == "success" and group_of(record) == "gpt-4o-mini":
            return record
    raise AssertionError("no recorded chat")


@pytest.mark.parametrize("start", ["2026-11-18T12:00:00Z", None, float("nan")])
def test_a_payload_without_usable_times_takes_the_callbacks_own(
    isolated_data_dir: Path, start: Any
) -> None:
    record = _chat_record()
    payload = record["kwargs"]["standard_logging_object"]
    payload["startTime"] = start
    del payload["endTime"]
    (row,), beat = replay([record])
    assert row["ts"].timestamp() == pytest.approx(record["start_time"].timestamp(), abs=1e-6)
    assert row["end_ts"].timestamp() == pytest.approx(record["end_time"].timestamp(), abs=1e-6)
    assert balanced(beat) and beat["lost"] == 0


def test_an_event_with_no_time_at_all_is_dropped_and_counted(isolated_data_dir: Path) -> None:
    record = _chat_record()
    kwargs = record["kwargs"]
    kwargs["standard_logging_object"]["startTime"] = None
    for key in ("start_time", "api_call_start_time"):
        kwargs.pop(key, None)
    record["start_time"] = None
    rows, beat = replay([record])
    assert rows == []
    assert (beat["spooled"], beat["written"], beat["lost"]) == (1, 0, 1)
    assert beat["dropped_by_reason"]["no_id_or_start"] == 1 and balanced(beat)


@pytest.mark.parametrize(
    ("usage_object", "details", "expected"),
    [
        ({}, {"cache_write_tokens": 40}, 40),  # the only spelling there
        ({"cache_creation_input_tokens": 0}, {"cache_write_tokens": 40}, 40),  # a 0 gives way
        ({"cache_creation_input_tokens": 30}, {"cache_write_tokens": 40}, 30),  # first wins
        ({}, {"cache_creation_tokens": 0, "cache_write_tokens": 0}, 0),  # said 0: 0
        ({}, {}, None),  # nobody said: NULL
    ],
)
def test_cache_writes_in_every_spelling(
    isolated_data_dir: Path, usage_object: dict[str, Any], details: dict[str, Any],
    expected: int | None,
) -> None:
    record = _chat_record()
    usage = record["kwargs"]["standard_logging_object"]["metadata"]["usage_object"]
    for key in ("cache_creation_input_tokens", "cache_read_input_tokens"):
        usage.pop(key, None)
    usage.update(usage_object)
    usage["prompt_tokens_details"] = {"cached_tokens": 0, **details}
    (row,), _ = replay([record])
    assert row["cache_write_tokens"] == expected
