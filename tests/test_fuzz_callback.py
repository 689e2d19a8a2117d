"""Property-based: malformed kwargs and payloads never raise out of the callback, and
whatever the extractor accepts always converts to exactly one Parquet row."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from llmstats.plugin.config import load_settings
from llmstats.plugin.convert import segment_tables
from llmstats.plugin.extract import _cache_tokens, extract_event
from llmstats.plugin.identity import Hasher
from llmstats.plugin.litellm_logger import LLMStatsLogger
from llmstats.plugin.spool_line import encode_line

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
    tables = segment_tables(encode_line(row), {"writer_id": "w"})
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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kwargs=kwargs_strategy, response=json_value)
def test_the_callback_never_raises(kwargs: Any, response: Any) -> None:
    logger.log_success_event(kwargs, response, None, None)
    logger.log_failure_event(kwargs, response, None, None)
    asyncio.run(logger.async_log_success_event(kwargs, response, None, None))
    asyncio.run(logger.async_log_failure_event(kwargs, response, None, None))


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
    as_objects = _cache_tokens(_Fields(usage), None if details is None else _Fields(details))
    assert _cache_tokens(usage, details) == as_objects
