"""Property-based: malformed kwargs and payloads never raise out of the callback, whatever
the extractor accepts always converts to exactly one Parquet row, and the writer's books
balance (spooled = written + dropped + held) after every call."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from llmstats.plugin.accounts import balanced
from llmstats.plugin.config import load_settings
from llmstats.plugin.extract import extract_event
from llmstats.plugin.identity import Hasher
from llmstats.plugin.litellm_logger import LLMStatsLogger
from llmstats.plugin.payload_fields import cache_tokens
from llmstats.plugin.spool_line import encode_line
from llmstats.plugin.spool_to_parquet import spool_file_tables

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

REALISTIC: dict[str, Any] = {
    "id": "evt-1",
    "trace_id": "trace-1",
    "litellm_call_id": "call-1",
    "call_type": "acompletion",
    "stream": True,
    "status": "success",
    "custom_llm_provider": "openai",
    "model": "gpt-4o-mini",
    "model_group": "gpt-4o-mini",
    "model_id": "dep-1",
    "api_base": "https://api.openai.com/v1",
    "prompt_tokens": 100,
    "completion_tokens": 20,
    "total_tokens": 120,
    "startTime": 1_795_000_000.0,
    "endTime": 1_795_000_001.5,
    "completionStartTime": 1_795_000_000.4,
    "response_cost": 0.0001,
    "cache_hit": False,
    "request_tags": ["a", "b"],
    "end_user": "user-1",
    "session_id": "s-1",
    "metadata": {
        "user_api_key_hash": "h" * 64,
        "user_api_key_team_id": "team-1",
        "usage_object": {"prompt_tokens_details": {"cached_tokens": 10}},
    },
    "model_map_information": {"model_map_value": {"max_input_tokens": 128000}},
    "error_information": {"error_class": "X", "error_code": "400"},
    "model_parameters": {"temperature": 0.5, "max_tokens": 10},
}

KEYS = sorted(REALISTIC)


@st.composite
def mutated_payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload = dict(REALISTIC)
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=6, unique=True)):
        payload[key] = draw(json_value)
    return payload


kwargs_strategy = st.one_of(
    json_value,
    st.builds(lambda p: {"standard_logging_object": p}, json_value),
    st.builds(
        lambda p, extra: {
            "standard_logging_object": p,
            "litellm_params": extra,
            "fallback_depth": extra,
        },
        mutated_payloads(),
        json_value,
    ),
)

hasher = Hasher(b"fuzz")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=mutated_payloads(),
    status=st.sampled_from(["success", "failure"]),
    privacy=st.sampled_from(["minimal", "standard", "full"]),
    response=json_value,
)
# Found by this test: a response whose list field is not a list lost the whole event.
@example(payload=REALISTIC, status="success", privacy="standard", response={"choices": True})
def test_accepted_rows_always_convert_to_exactly_one_row(
    payload: dict[str, Any], status: str, privacy: str, response: Any
) -> None:
    row = extract_event(
        {"standard_logging_object": payload},
        response,
        status=status,
        privacy=privacy,
        hash_id=hasher,
    )
    if row is None:
        return
    tables = spool_file_tables(encode_line(row), {"writer_id": "w"})
    if row.get("ts") is not None:
        assert sum(t.num_rows for t in tables.values()) == 1, row


def test_the_realistic_payload_itself_is_accepted() -> None:
    row = extract_event(
        {"standard_logging_object": REALISTIC},
        None,
        status="success",
        privacy="full",
        hash_id=hasher,
    )
    assert (
        row is not None
        and row["cache_read_tokens"] == 10
        and row["first_token_ts"] == 1_795_000_000_400_000
    )


logger = LLMStatsLogger(
    load_settings(data_dir="/nonexistent/llmstats-fuzz", spool_dir="/proc/none")
)


# What LiteLLM passes as the callback's own start_time / end_time, and what it might.
callback_time = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(1960, 1, 1), max_value=dt.datetime(3100, 1, 1)),
    st.just(dt.datetime(2026, 11, 18, 12, 0, 0)),
    json_leaf,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kwargs=kwargs_strategy, response=json_value, start=callback_time, end=callback_time)
def test_the_callback_never_raises(kwargs: Any, response: Any, start: Any, end: Any) -> None:
    logger.log_success_event(kwargs, response, start, end)
    logger.log_failure_event(kwargs, response, start, end)
    asyncio.run(logger.async_log_success_event(kwargs, response, start, end))
    asyncio.run(logger.async_log_failure_event(kwargs, response, start, end))
    # Its spool cannot be opened: every line waits in memory or is dropped, and counted.
    writer = logger.writer
    assert writer is not None and balanced(writer.heartbeat_document())


@pytest.fixture(scope="module")
def books_logger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMStatsLogger]:
    """A callback with a working writer, shared by the examples (its books add up)."""
    data_dir = tmp_path_factory.mktemp("books")
    shared = LLMStatsLogger(load_settings(data_dir=str(data_dir), converter="inline"))
    yield shared
    writer = shared.writer
    if writer is not None:
        writer.close()


calls = st.lists(
    st.tuples(
        kwargs_strategy, json_value, st.sampled_from(["success", "failure"]), callback_time,
        callback_time,
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(calls=calls)
def test_every_line_spooled_is_written_dropped_with_its_reason_or_held(
    books_logger: LLMStatsLogger, calls: list[tuple[Any, Any, str, Any, Any]]
) -> None:
    """spooled = written + dropped + held at every heartbeat, whatever the callback got;
    after a flush nothing is held, and a loss is only ever an event with no time at all."""
    writer = books_logger.writer
    assert writer is not None
    for kwargs, response, status, start, end in calls:
        capture = books_logger.log_success_event if status == "success" else books_logger.log_failure_event
        capture(kwargs, response, start, end)
        assert balanced(writer.heartbeat_document())
    assert books_logger.flush() and books_logger.errors == 0
    beat = writer.heartbeat_document()
    assert balanced(beat) and beat["held"] == 0, beat
    assert beat["lost"] == beat["dropped_by_reason"]["no_id_or_start"], beat


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(payload=mutated_payloads(), response=json_value, status=st.sampled_from(["success", "failure"]))
def test_with_the_callbacks_own_start_time_no_event_is_lost(
    books_logger: LLMStatsLogger, payload: dict[str, Any], response: Any, status: str
) -> None:
    """A payload whose start is missing or malformed (a string, as some integrations send)
    still becomes a row: LiteLLM's own start_time argument stands in."""
    writer = books_logger.writer
    assert writer is not None
    before = writer.heartbeat_document()
    kwargs = {"standard_logging_object": payload, "litellm_call_id": "fallback-call"}
    start = dt.datetime(2026, 11, 18, 12, 0, 0)
    capture = books_logger.log_success_event if status == "success" else books_logger.log_failure_event
    capture(kwargs, response, start, start + dt.timedelta(seconds=1))
    assert books_logger.flush()
    beat = writer.heartbeat_document()
    assert balanced(beat) and beat["lost"] == before["lost"], beat
    assert beat["spooled"] == before["spooled"] + 1
    assert beat["written"] + beat["dropped"] == before["written"] + before["dropped"] + 1


class _Fields:
    """A usage object as LiteLLM's pydantic models present it: attributes, not keys."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update(fields)


# Every field present (an absent one reads as None on both paths), mostly small counts:
# the cases that matter are two positive counts that disagree, and zeros beside them.
_count = st.one_of(
    st.integers(min_value=-2, max_value=2**64), st.none(), st.floats(), st.text(max_size=2)
)
_cache_fields = st.fixed_dictionaries(
    {
        "cache_read_input_tokens": _count,
        "cache_creation_input_tokens": _count,
        "cached_tokens": _count,
        "cache_creation_tokens": _count,
        "cache_creation_token_details": st.one_of(
            st.none(), st.fixed_dictionaries({"ephemeral_1h_input_tokens": _count})
        ),
    }
)


@settings(max_examples=300, deadline=None)
@given(usage=_cache_fields, details=st.one_of(st.none(), _cache_fields))
def test_cache_tokens_read_alike_from_dicts_and_objects(
    usage: dict[str, Any], details: dict[str, Any] | None
) -> None:
    """The payload's dict usage takes a shortcut; it must count what the object path counts."""
    as_objects = cache_tokens(_Fields(usage), None if details is None else _Fields(details))
    assert cache_tokens(usage, details) == as_objects
