"""A marker written before the proxy sends its response, settled by the callback's event.

The LiteLLM proxy answers the client first and runs success callbacks afterwards, from
its own queue; a kill -9 in between loses those events in every callback-based logger,
and under overload LiteLLM can drop callback tasks outright. The proxy does await
`async_post_call_success_hook` before the response leaves, so llmstats appends a marker
row there: the same allow-listed metadata, built from the response object. When the
callback's event for the same call arrives, the marker is dropped at conversion; a marker
that is never settled (its process died, or LiteLLM never called back) becomes the row.

Streaming responses do not pass through this hook; they are covered from the callback on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from .payload_fields import (
    Row,
    as_int,
    as_mapping,
    as_number,
    as_str,
    attempt_id,
    cache_tokens,
    field_of,
    host_of,
    model_name,
    request_tags,
)

CAPTURE_MARKER = "response_hook"

# Response classes that stand for a model call LiteLLM also logs through the callback.
# Others (files, batches, management routes) never get a callback and must not be marked.
_MARKED_RESPONSES = {
    "ModelResponse": "chat",
    "EmbeddingResponse": "embedding",
    "ImageResponse": "image",
}


def _epoch_us(value: object) -> int | None:
    timestamp = getattr(value, "timestamp", None)
    if not callable(timestamp):
        return None
    try:
        return int(timestamp() * 1_000_000)
    except (OverflowError, OSError, ValueError):
        return None


def extract_marker(
    data: Mapping[str, Any],
    response: object,
    *,
    privacy: str,
    hash_id: Callable[[object], str | None],
) -> Row | None:
    """The marker row for a response about to be sent, or None if it is not a model call."""
    call_type = _MARKED_RESPONSES.get(type(response).__name__)
    call_id = as_str(data.get("litellm_call_id"))
    if call_type is None or call_id is None:
        return None
    hidden = as_mapping(getattr(response, "_hidden_params", None))
    meta = as_mapping(data.get("metadata"))
    logging_obj = data.get("litellm_logging_obj")
    # The logging object's start is the last attempt's: the callback's event for the
    # same attempt gets the same event id.
    ts = _epoch_us(getattr(logging_obj, "start_time", None))
    usage = getattr(response, "usage", None)
    cache_read, cache_write, cache_write_1h = cache_tokens(
        usage, field_of(usage, "prompt_tokens_details")
    )
    # Some providers' responses (Anthropic's) leave the provider out of the hidden params;
    # the logging object knows it, and the callback's event reports it.
    provider = as_str(hidden.get("custom_llm_provider")) or as_str(
        as_mapping(getattr(logging_obj, "model_call_details", None)).get("custom_llm_provider"))
    row: Row = {
        "event_id": attempt_id(call_id, ts) or f"{call_id}@{CAPTURE_MARKER}",
        "trace_id": as_str(getattr(logging_obj, "litellm_trace_id", None)),
        "call_id": call_id,
        "response_id": as_str(getattr(response, "id", None)),
        "ts": ts,
        "end_ts": int(time.time() * 1_000_000),
        "call_type": call_type,
        "stream": False,
        "status": "success",
        "provider": provider,
        "model": model_name(hidden.get("litellm_model_name"), provider),
        "model_group": as_str(meta.get("model_group")),
        "deployment_id": as_str(hidden.get("model_id")),
        "api_base_host": host_of(hidden.get("api_base")),
        "input_tokens": as_int(field_of(usage, "prompt_tokens")),
        "output_tokens": as_int(field_of(usage, "completion_tokens")),
        "total_tokens": as_int(field_of(usage, "total_tokens")),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": cache_write_1h,
        "reported_cost_usd": as_number(hidden.get("response_cost")),
        "team_id": as_str(meta.get("user_api_key_team_id")),
        "team_alias": as_str(meta.get("user_api_key_team_alias")),
        "org_id": as_str(meta.get("user_api_key_org_id")),
        "route": as_str(meta.get("user_api_key_request_route")),
        "retries": as_int(meta.get("attempted_retries")),
        "fallbacks": as_int(meta.get("attempted_fallbacks")),
        "capture": CAPTURE_MARKER,
    }
    if privacy != "minimal":
        end_user = meta.get("user_api_key_end_user_id") or data.get("user")
        row["key_hash"] = as_str(meta.get("user_api_key_hash"))
        row["key_alias"] = as_str(meta.get("user_api_key_alias"))
        row["user_id"] = as_str(meta.get("user_api_key_user_id"))
        row["end_user_hash"] = hash_id(end_user) if end_user else None
        row["tags"] = request_tags(meta.get("tags"))
    return row
