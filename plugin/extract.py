"""The reference row: LiteLLM's logging kwargs → one metadata-only event row, every field
normalised on the spot.

The callback takes the fast row (raw_row.py) for the usual payload and this path for the
rest: failures, privacy=full, and any payload whose values the fast row does not take.
Both read the same allow-listed fields with the same readers (payload_fields.py) and add
the same extras (row_extras.py); `tests/test_raw_row.py` proves their rows convert alike.
This too runs on LiteLLM's event loop, so it only reads dict fields and never formats,
parses or copies content.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from .attempt_times import YEAR_3000, attempt_end, attempt_start, epoch_seconds
from .error_codes import DERIVED, PROVIDER, derived_code
from .payload_fields import (
    CALL_TYPES,
    INT64_MAX,
    METADATA_FIELDS,
    PAYLOAD_FIELDS,
    Row,
    as_int,
    as_int32,
    as_mapping,
    as_number,
    as_str,
    cache_tokens,
    cached_host,
    cached_model,
    call_type_of,
    client_retry_count,
    field_of,
    first_count32,
    request_tags,
)
from .row_extras import add_pricing_fields, add_response_counts

# Machine-readable codes only: an error code that looks like prose is dropped, since
# some providers put the message (which can quote the prompt) where the code belongs.
_CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


def _epoch_seconds(value: object) -> float | None:
    """A plausible epoch time, or None (a wild value must not overflow the µs column)."""
    number = as_number(value)
    return number if number is not None and 0.0 <= number < YEAR_3000 else None


def _s(value: object) -> str | None:
    """`as_str` with the common cases first: a present, plain string, or nothing at all."""
    if value is None:
        return None
    if type(value) is str:
        return value or None
    return as_str(value)


def _error_fields(payload: Mapping[str, Any], kwargs: Mapping[str, Any]) -> Row:
    info = as_mapping(payload.get("error_information"))
    exception = kwargs.get("exception")
    status = as_int32(getattr(exception, "status_code", None))
    raw_code = info.get("error_code")
    if status is None and isinstance(raw_code, str) and raw_code.isdecimal():
        status = as_int32(int(raw_code))
    # The provider's own code (e.g. "context_length_exceeded") rides on the exception;
    # LiteLLM's error_code field is mostly the HTTP status again.
    code = getattr(exception, "code", None)
    if not isinstance(code, str) or code.isdigit():
        # Some mappings (429 → RateLimitError) overwrite the code with the status; the
        # provider's parsed error body still has it. Only its `code` field is read.
        body = getattr(exception, "body", None)
        code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str) or code.isdigit():
        code = raw_code if isinstance(raw_code, str) and not raw_code.isdigit() else None
    error_class = info.get("error_class") or (type(exception).__name__ if exception else None)
    error_class = error_class if isinstance(error_class, str) else None
    source: str | None = PROVIDER
    if not code or not _CODE_PATTERN.match(code):
        code = derived_code(error_class, exception)
        source = DERIVED if code is not None else None
    return {
        "error_class": error_class,
        "error_code": code,
        "error_code_source": source,
        "http_status": status,
    }


def extract_event(
    kwargs: Mapping[str, Any],
    response: object,
    *,
    status: str,
    privacy: str,
    hash_id: Callable[[object], str | None],
    start_time: object = None,
    end_time: object = None,
) -> Row | None:
    """Build one spool row, or None when the kwargs carry no standard logging payload.

    `start_time` and `end_time` are the callback's own arguments: they stand in for the
    payload's times when it has none (see attempt_times.py for which start is taken).

    Writer constants (privacy level, versions, writer id) and durations derived from the
    timestamps are added when the spool is converted, not here (see schema.SPOOL_SCHEMA).

    This runs for every call on LiteLLM's event loop, so the common case of each field (a
    plain str, int or float where one belongs) is tested inline with `type(x) is ...` and
    only anything else goes through the general helpers above; the result is the same.
    """
    payload = kwargs.get("standard_logging_object")
    if type(payload) is not dict and not isinstance(payload, Mapping):
        return None
    (
        call_id, response_id, start, end, first_token, stream, meta, hidden, provider,
        raw_type, model_map, cost_breakdown, prompt_tokens, completion_tokens, total_tokens,
        cost, deployment, trace_id, model, model_group, api_base, cache_hit, end_user, tags,
        session_id,
    ) = map(payload.get, PAYLOAD_FIELDS)
    if type(call_id) is not str or not call_id:
        call_id = as_str(call_id) or as_str(kwargs.get("litellm_call_id"))
    if type(response_id) is not str or not response_id:
        response_id = as_str(response_id)
    start = attempt_start(start, kwargs, start_time)
    ts = int(start * 1_000_000) if start is not None else None
    event_id = f"{call_id}@{ts}" if call_id is not None and ts is not None else response_id
    if event_id is None:
        return None
    if type(meta) is not dict:
        meta = as_mapping(meta)
    (
        usage, team_id, team_alias, other_team_alias, org_id, route, key_end_user, key_hash,
        key_alias, user_id, custom_headers,
    ) = map(meta.get, METADATA_FIELDS)
    if type(hidden) is not dict:
        hidden = as_mapping(hidden)
    usage = usage or hidden.get("usage_object") or field_of(response, "usage")
    end = attempt_end(end, kwargs, end_time)
    # LiteLLM marks only a completed stream in the payload; the request says it for all.
    stream = bool(stream) or kwargs.get("stream") is True
    if not stream:
        first_token = None
    elif status != "success":
        # A failure's payload puts its end there; a first chunk, if one came, is here.
        first_token = epoch_seconds(kwargs.get("completion_start_time"))
    elif first_token is not None and (
        type(first_token) is not float or not 0.0 <= first_token < YEAR_3000
    ):
        first_token = _epoch_seconds(first_token)
    if type(provider) is not str or not provider:
        provider = as_str(provider)
    call_type = CALL_TYPES.get(raw_type, "other") if type(raw_type) is str else call_type_of(raw_type)

    if type(usage) is dict:
        prompt_details = usage.get("prompt_tokens_details")
        completion_details = usage.get("completion_tokens_details")
    else:
        prompt_details = field_of(usage, "prompt_tokens_details")
        completion_details = field_of(usage, "completion_tokens_details")
    cache_read, cache_write, cache_write_1h = cache_tokens(usage, prompt_details)
    model_info = (
        model_map if type(model_map) is dict else as_mapping(model_map)
    ).get("model_map_value")
    max_input = (model_info if type(model_info) is dict else as_mapping(model_info)).get(
        "max_input_tokens"
    )
    params = kwargs.get("litellm_params")
    request_meta = (
        params.get("metadata") if type(params) is dict else as_mapping(params).get("metadata")
    )
    if type(request_meta) is not dict:
        request_meta = as_mapping(request_meta)
    service_tier = (
        cost_breakdown.get("service_tier")
        if type(cost_breakdown) is dict
        else as_mapping(cost_breakdown).get("service_tier")
    )
    overhead = hidden.get("litellm_overhead_time_ms")
    retries = request_meta.get("attempted_retries")
    fallbacks = request_meta.get("attempted_fallbacks")
    if status != "success" and not usage and not prompt_tokens and not completion_tokens:
        # LiteLLM fills a failure's counts with zeros: nothing was reported, which is NULL
        # (a reported 0, or a failed stream's partial usage, is kept).
        prompt_tokens = completion_tokens = total_tokens = None
        if not (type(cost) is float and cost > 0):
            cost = None
    reasoning = field_of(completion_details, "reasoning_tokens")
    audio_in = field_of(prompt_details, "audio_tokens")
    audio_out = field_of(completion_details, "audio_tokens")
    if type(deployment) is not str or not deployment:
        deployment = as_str(deployment) or as_str(hidden.get("model_id"))

    row: Row = {
        "event_id": event_id,
        "trace_id": _s(trace_id),
        "call_id": call_id,
        # For a failure LiteLLM's id is the call id again: not worth a second copy.
        "response_id": response_id if response_id != call_id else None,
        "ts": ts,
        "end_ts": int(end * 1_000_000) if end is not None else None,
        # Only streams have a first token distinct from the end of the call.
        "first_token_ts": int(first_token * 1_000_000) if first_token else None,
        "call_type": call_type,
        "stream": bool(stream),
        "status": status,
        "provider": provider,
        "model": cached_model(model, provider),
        "model_group": _s(model_group),
        "deployment_id": deployment,
        "api_base_host": cached_host(api_base or hidden.get("api_base")),
        "input_tokens": prompt_tokens if type(prompt_tokens) is int and -INT64_MAX <= prompt_tokens <= INT64_MAX else as_int(prompt_tokens),
        "output_tokens": completion_tokens if type(completion_tokens) is int and -INT64_MAX <= completion_tokens <= INT64_MAX else as_int(completion_tokens),
        "total_tokens": total_tokens if type(total_tokens) is int and -INT64_MAX <= total_tokens <= INT64_MAX else as_int(total_tokens),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": cache_write_1h,
        "reasoning_tokens": None if reasoning is None else as_int(reasoning),
        "audio_input_tokens": None if audio_in is None else as_int(audio_in),
        "audio_output_tokens": None if audio_out is None else as_int(audio_out),
        "reported_cost_usd": cost if type(cost) is float and math.isfinite(cost) else as_number(cost),
        "proxy_cache_hit": bool(cache_hit) if status == "success" else None,
        "team_id": _s(team_id),
        "team_alias": _s(team_alias or other_team_alias),
        "org_id": _s(org_id),
        "route": _s(route),
        "retries": None if retries is None else as_int32(retries),
        # LiteLLM's count, else the fallback depth; a reported 0 stays 0.
        "fallbacks": first_count32(fallbacks, kwargs.get("fallback_depth")),
        "max_input_tokens": max_input if type(max_input) is int and -INT64_MAX <= max_input <= INT64_MAX else as_int(max_input),
        "service_tier": _s(service_tier),
        "litellm_overhead_ms": overhead if type(overhead) is float and math.isfinite(overhead) else as_number(overhead),
        "client_retry_count": client_retry_count(custom_headers),
    }
    if call_type == "batch":
        row["batch"] = True
    add_pricing_fields(row, call_type, kwargs, usage, completion_details, cost_breakdown)
    if status == "failure":
        row.update(_error_fields(payload, kwargs))
    elif response is not None:
        try:
            add_response_counts(row, call_type, response, privacy)
        except (TypeError, ValueError):
            # A malformed response (`choices: true`) loses its counts, not the event.
            pass
    if privacy != "minimal":
        # The proxy resolves the end user into the payload; the SDK leaves it in the
        # OpenAI `user` parameter.
        end_user = end_user or key_end_user or kwargs.get("user")
        row["key_hash"] = _s(key_hash)
        row["key_alias"] = _s(key_alias)
        row["user_id"] = _s(user_id)
        row["end_user_hash"] = hash_id(end_user) if end_user else None
        row["session_id"] = _s(session_id)
        row["tags"] = request_tags(tags) if tags else None
    if privacy == "full":
        _add_full_privacy_fields(row, payload, meta, hash_id)
    return row


def _add_full_privacy_fields(
    row: Row,
    payload: Mapping[str, Any],
    meta: Mapping[str, Any],
    hash_id: Callable[[object], str | None],
) -> None:
    row["user_agent"] = as_str(payload.get("user_agent") or meta.get("user_agent"))
    ip = payload.get("requester_ip_address") or meta.get("requester_ip_address")
    row["requester_ip_hash"] = hash_id(ip) if ip else None
    params = as_mapping(payload.get("model_parameters"))
    # Numeric parameters only: `tools`, `response_format` and friends carry content.
    row["param_temperature"] = as_number(params.get("temperature"))
    row["param_top_p"] = as_number(params.get("top_p"))
    row["param_max_tokens"] = as_int(params.get("max_tokens") or params.get("max_completion_tokens"))
    row["param_n"] = as_int(params.get("n"))
