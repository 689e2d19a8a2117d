"""The hot path's fast row (raw_row.py) against the reference extractor (extract.py).

A fast row spools values as read and leaves their normalisation to the converter
(raw_columns.py). The claim both halves make together: whatever payload the fast path
takes, its line converts to exactly the event that `extract_event`'s line converts to;
whatever it does not take, it leaves to `extract_event`; and no value that is not a
scalar ever reaches its line.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmstats.plugin.extract import extract_event
from llmstats.plugin.identity import Hasher
from llmstats.plugin.payload_fields import field_of
from llmstats.plugin.raw_row import raw_line
from llmstats.plugin.row_extras import counts_off_the_loop, left_for_later
from llmstats.plugin.spool_line import encode_line
from llmstats.plugin.spool_to_parquet import COUNTS_SCHEMA, SpoolFileStream, parse_lines, spool_rows
from tests.support import recorded_calls
from tests.test_fuzz_callback import json_value

RECORDINGS = Path(__file__).parent / "fixtures" / "payloads" / "proxy.jsonl"
JSON_RECORDS = [json.loads(line) for line in RECORDINGS.read_text().splitlines() if line.strip()]
# What the proxy really hands the callback: pydantic responses, Usage objects, datetimes.
OBJECT_BLOBS = recorded_calls.blobs()
OBJECT_RECORDS = [recorded_calls.fresh(blob) for blob in OBJECT_BLOBS]
RECORDS = JSON_RECORDS + OBJECT_RECORDS
PRIVACY_LEVELS = ("minimal", "standard", "full")
hasher = Hasher(b"raw-row")


def converted(line: bytes, counts: bytes = b"") -> list[dict[str, Any]]:
    """Spool line(s) → event rows, as the converter makes them (with a counts file's lines,
    where the segmenter thread counted the tool calls)."""
    parts: list[pa.Table] = []
    stream = SpoolFileStream({"writer_id": "w", "privacy_level": "standard"},
                           lambda _date, table: parts.append(table))  # fmt: skip
    stream.feed(spool_rows(line), parse_lines(counts, COUNTS_SCHEMA) if counts else None)
    stream.finish(None)
    return [row for table in parts for row in table.to_pylist()]


def _times(record: dict[str, Any]) -> dict[str, Any]:
    return {"start_time": record.get("start_time"), "end_time": record.get("end_time")}


def assert_same_event(
    kwargs: dict[str, Any],
    response: Any,
    status: str,
    privacy: str,
    start_time: Any = None,
    end_time: Any = None,
) -> bool:
    """True when the fast path took the payload (and converted alike), False when not.

    Both ways the fast row can go: the tool calls and a speech call's input tokens counted
    on the loop (`count_here`, when the segmenter's queue is full) and left to the
    segmenter thread, whose counts join the row at conversion as a counts line."""
    reference = extract_event(kwargs, response, status=status, privacy=privacy, hash_id=hasher,
                              start_time=start_time, end_time=end_time)  # fmt: skip
    expected = None if reference is None else converted(encode_line(reference))
    taken = False
    for count_here in (True, False):
        fast = raw_line(kwargs, response, status=status, privacy=privacy, hash_id=hasher,
                        count_here=count_here)  # fmt: skip
        if fast is None:
            continue
        assert reference is not None, "the fast path took a payload the reference refuses"
        row, line = fast
        assert row["event_id"] == reference["event_id"]
        counts = b""
        later = left_for_later(row, kwargs, response)
        if count_here:
            assert later is None, "counted on the loop, yet left for later"
        elif later is not None:
            entry = {"at": 0, "event_id": row["event_id"], **counts_off_the_loop(later)}
            counts = encode_line(entry)
        assert converted(line, counts) == expected
        taken = True
    return taken


def test_recorded_payloads_convert_to_the_reference_events() -> None:
    taken: set[str] = set()
    for record in RECORDS:
        for privacy in PRIVACY_LEVELS:
            status = record["kind"]
            if assert_same_event(record["kwargs"], record["response"], status, privacy,
                                 **_times(record)):  # fmt: skip
                taken.add(f"{status} {privacy} {record['kwargs']['call_type']}")
    # The fast path must carry the common calls, or the hot path's saving is not real.
    for call_type in ("acompletion", "aembedding", "aresponses", "aimage_generation"):
        for privacy in ("minimal", "standard"):
            assert f"success {privacy} {call_type}" in taken, (call_type, privacy, taken)
    assert not any(t.startswith("failure") or " full " in t for t in taken), taken


def test_the_fast_path_takes_the_objects_the_proxy_hands_over() -> None:
    """On the real objects every successful call of the battery takes the fast path: calls
    without usage (speech, moderation, rerank), a /v1/messages stream whose payload start
    LiteLLM reset, tool-call counts and speech tokens (both left for the segmenter
    thread) included."""
    refused = []
    for record in OBJECT_RECORDS:
        kwargs = record["kwargs"]
        if record["kind"] != "success":
            continue
        fast = raw_line(kwargs, record["response"], status="success", privacy="standard",
                        hash_id=hasher, count_here=False)  # fmt: skip
        if fast is None:
            refused.append(kwargs["call_type"])
    assert refused == [], refused


# Every name the readers ask a response object for, and some no object has.
ASKED = (
    "choices", "message", "tool_calls", "function", "name", "output", "type", "data", "meta",
    "billed_units", "search_units", "duration", "_hidden_params", "usage", "id",
    "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details",
    "completion_tokens_details", "cache_read_input_tokens", "cache_creation_input_tokens",
    "cached_tokens", "cache_write_tokens", "image_tokens", "audio_tokens", "reasoning_tokens",
    "inference_geo", "speed", "text", "no_such_field", "_no_such_private", "model_dump",
)  # fmt: skip


def _objects(value: Any, depth: int = 0) -> Iterator[Any]:
    """The objects in a response, itself included (its fields' values, lists walked)."""
    if depth > 5 or value is None or isinstance(value, (str, int, float, bool, bytes)):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _objects(item, depth + 1)
        return
    yield value
    inner = value.values() if isinstance(value, dict) else vars(value).values() if hasattr(value, "__dict__") else ()
    for item in list(inner):
        yield from _objects(item, depth + 1)


def test_fields_of_the_proxys_objects_read_as_getattr_reads_them() -> None:
    """`field_of` reads pydantic's extras and private attributes where pydantic keeps them
    (getattr through pydantic's `__getattr__` costs µs): the same values, on every object
    the proxy handed over, for every name the readers ask and for names nothing has."""
    checked = 0
    for record in OBJECT_RECORDS:
        for obj in _objects(record["response"]):
            for key in ASKED:
                expected = obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
                assert field_of(obj, key) == expected, (type(obj).__name__, key)
                checked += 1
    assert checked > 1000
    transcription = next(r["response"] for r in OBJECT_RECORDS
                         if type(r["response"]).__name__ == "TranscriptionResponse")  # fmt: skip
    assert "duration" in (transcription.__pydantic_extra__ or {})  # the case this is for
    assert field_of(transcription, "duration") == transcription.duration > 0


def test_old_spool_lines_still_convert() -> None:
    """A spool written before the fast row (every line a reference row) converts as it did:
    the reference rows' values are the normalised ones the converter would produce."""
    record = next(r for r in RECORDS if r["kwargs"]["call_type"] == "acompletion")
    reference = extract_event(
        record["kwargs"], record["response"], status="success", privacy="standard",
        hash_id=hasher,
    )  # fmt: skip
    assert reference is not None
    (event,) = converted(encode_line(reference))
    assert event["input_tokens"] == reference["input_tokens"]
    assert event["end_ts"] is not None and event["cache_read_tokens"] == reference["cache_read_tokens"]


# Where a recorded chat payload gets a malformed value: top-level fields, the usage and its
# details, the router's metadata, LiteLLM's hidden params and the call's own kwargs.
PATHS = (
    ("standard_logging_object", "litellm_call_id"),
    ("standard_logging_object", "id"),
    ("standard_logging_object", "startTime"),
    ("standard_logging_object", "endTime"),
    ("standard_logging_object", "completionStartTime"),
    ("standard_logging_object", "stream"),
    ("standard_logging_object", "custom_llm_provider"),
    ("standard_logging_object", "model"),
    ("standard_logging_object", "model_group"),
    ("standard_logging_object", "model_id"),
    ("standard_logging_object", "api_base"),
    ("standard_logging_object", "prompt_tokens"),
    ("standard_logging_object", "completion_tokens"),
    ("standard_logging_object", "total_tokens"),
    ("standard_logging_object", "response_cost"),
    ("standard_logging_object", "trace_id"),
    ("standard_logging_object", "cache_hit"),
    ("standard_logging_object", "end_user"),
    ("standard_logging_object", "request_tags"),
    ("standard_logging_object", "session_id"),
    ("standard_logging_object", "cost_breakdown"),
    ("standard_logging_object", "model_map_information"),
    ("standard_logging_object", "hidden_params", "litellm_overhead_time_ms"),
    ("standard_logging_object", "metadata", "user_api_key_team_id"),
    ("standard_logging_object", "metadata", "user_api_key_team_alias"),
    ("standard_logging_object", "metadata", "user_api_key_hash"),
    ("standard_logging_object", "metadata", "user_api_key_end_user_id"),
    ("standard_logging_object", "metadata", "usage_object", "cache_read_input_tokens"),
    ("standard_logging_object", "metadata", "usage_object", "cache_creation_input_tokens"),
    ("standard_logging_object", "metadata", "usage_object", "prompt_tokens_details"),
    ("standard_logging_object", "metadata", "usage_object", "prompt_tokens_details", "cached_tokens"),
    ("standard_logging_object", "metadata", "usage_object", "completion_tokens_details"),
    ("standard_logging_object", "metadata", "usage_object", "completion_tokens_details", "reasoning_tokens"),
    ("standard_logging_object", "metadata", "usage_object", "prompt_tokens_details", "cache_write_tokens"),
    ("standard_logging_object", "metadata", "usage_object", "prompt_tokens_details", "cache_creation_tokens"),
    ("standard_logging_object", "metadata", "requester_custom_headers"),
    ("standard_logging_object", "metadata", "requester_custom_headers", "x-stainless-retry-count"),
    ("litellm_params", "metadata", "attempted_retries"),
    ("litellm_params", "metadata", "attempted_fallbacks"),
    ("fallback_depth",),
    ("stream",),
    ("start_time",),
    ("api_call_start_time",),
    ("first_api_call_start_time",),
)  # fmt: skip

SUCCESSES = [i for i, r in enumerate(OBJECT_RECORDS) if r["kind"] == "success"]
CHAT = next(r for r in OBJECT_RECORDS if r["kwargs"]["call_type"] == "acompletion")
# A streamed Anthropic call: a first-token time, and cache reads and writes to count.
STREAMED = next(
    i for i in SUCCESSES
    if OBJECT_RECORDS[i]["kwargs"]["standard_logging_object"]["stream"] is True
    and OBJECT_RECORDS[i]["kwargs"]["standard_logging_object"]["custom_llm_provider"] == "anthropic"
)  # fmt: skip


def fresh_record(index: int) -> dict[str, Any]:
    """A new copy of a recorded call (a deep copy cannot rebuild LiteLLM's exceptions)."""
    return recorded_calls.fresh(OBJECT_BLOBS[index])

# Values a payload can really hold, and the edges each rule has: empty strings, zeros,
# negatives, counts past 53 and 64 bits, non-finite floats, times before 1970 and past
# 3000, datetimes (LiteLLM's naive local ones) and header-like strings.
EDGES = ["", "0", 0, -1, 1, 2**31, 2**53 - 1, 2**53, -(2**53), 2**63, 0.0, -0.0, 1.5,
         float("nan"), float("inf"), -5.0, 4e10, 1.7e9, True, False, None, "7", "０", "-1",
         "1234567890", dt.datetime(2026, 11, 18, 12), dt.datetime(2099, 1, 1),
         dt.datetime.min, dt.datetime.max, dt.datetime(1970, 1, 1, tzinfo=dt.UTC)]  # fmt: skip
edge_value = st.one_of(json_value, st.sampled_from(EDGES))


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        child = document.get(key)
        if not isinstance(child, dict):
            return  # an earlier mutation replaced the parent: nothing to set
        document = child
    document[path[-1]] = value


def test_every_field_at_every_edge_converts_alike() -> None:
    """Each field alone at each edge value, on a streamed call (which has every field a
    plain one has, and a first-token time): the edges are where the converter's rules
    could drift from the reference's."""
    taken = tried = 0
    for index in (STREAMED,):
        for path in PATHS:
            for value in EDGES:
                record = fresh_record(index)
                kwargs = record["kwargs"]
                _set(kwargs, path, value)
                taken += assert_same_event(kwargs, record["response"], "success", "standard",
                                           **_times(record))  # fmt: skip
                tried += 1
    # Most refusals are a value of another type than the field's: those are meant to go
    # the reference way. A fast path that refused nearly everything would prove nothing.
    assert taken * 3 > tried, f"the fast path took only {taken} of {tried} cases"


@st.composite
def mutated_chat_calls(draw: st.DrawFn) -> dict[str, Any]:
    kwargs: dict[str, Any] = fresh_record(draw(st.sampled_from(SUCCESSES)))["kwargs"]
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=5, unique=True)):
        _set(kwargs, path, draw(edge_value))
    return kwargs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kwargs=mutated_chat_calls(),
    privacy=st.sampled_from(PRIVACY_LEVELS),
    response=st.one_of(st.none(), st.just(CHAT["response"]), json_value),
    times=st.sampled_from([_times(CHAT), {}, {"start_time": "2026-11-18T12:00:00"}]),
)
def test_malformed_payloads_convert_alike_or_take_the_reference_path(
    kwargs: dict[str, Any], privacy: str, response: Any, times: dict[str, Any]
) -> None:
    assert_same_event(kwargs, response, "success", privacy, **times)


CANARY = "CANARY-raw-row-7f3a"
# Request tags are the one list the schema keeps (strings the caller chose to tag with).
SCALAR_PATHS = tuple(p for p in PATHS if p[-1] != "request_tags")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    paths=st.lists(st.sampled_from(SCALAR_PATHS), min_size=1, max_size=4, unique=True),
    container=st.sampled_from(["dict", "list"]),
)
def test_no_container_reaches_a_fast_line(paths: list[tuple[str, ...]], container: str) -> None:
    """Content hides in containers: a dict or list where a scalar belongs never gets into
    the line, whatever field it is in."""
    kwargs = fresh_record(OBJECT_RECORDS.index(CHAT))["kwargs"]
    value: Any = {"text": CANARY} if container == "dict" else [CANARY]
    for path in paths:
        _set(kwargs, path, copy.deepcopy(value))
    for privacy in PRIVACY_LEVELS:
        fast = raw_line(kwargs, CHAT["response"], status="success", privacy=privacy,
                        hash_id=hasher)  # fmt: skip
        if fast is not None:
            assert CANARY.encode() not in fast[1]
