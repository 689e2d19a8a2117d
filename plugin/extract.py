"""Allow-list extraction: LiteLLM's logging kwargs → one metadata-only event row.

This runs on LiteLLM's event loop for every call, so it only reads dict fields and
never formats, parses or copies content. Anything not named here is never read, which
is how prompts, responses, tool arguments, error bodies, e-mails and IPs stay out:
there is no deny-list to forget a field in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from .attempt_times import YEAR_3000, attempt_end, attempt_start, epoch_seconds
from .error_codes import DERIVED, PROVIDER, derived_code

Row = dict[str, Any]

# LiteLLM's call_type values (sync and async spellings) → the schema's small vocabulary.
_CALL_TYPES: dict[str, str] = {}
for _kind, _names in {
    "chat": ("completion", "text_completion", "anthropic_messages", "generate_content"),
    "embedding": ("embedding",),
    "image": ("image_generation", "image_edit", "image_variation"),
    "transcription": ("transcription",),
    "speech": ("speech",),
    "rerank": ("rerank",),
    "responses": ("responses",),
    "moderation": ("moderation",),
    "batch": ("create_batch", "retrieve_batch"),
}.items():
    for _name in _names:
        _CALL_TYPES[_name] = _kind
        _CALL_TYPES["a" + _name] = _kind

# Machine-readable codes only: an error code that looks like prose is dropped, since
# some providers put the message (which can quote the prompt) where the code belongs.
_CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")

_EMPTY: Mapping[str, Any] = {}


# LiteLLM adds the client's user agent to the request tags; it is a privacy=full field.
_USER_AGENT_TAG = "User-Agent: "


def request_tags(tags: object) -> list[str] | None:
    """The caller's tags, without the user-agent tags LiteLLM adds to them."""
    if type(tags) is not list or not tags:
        return None
    # Most calls carry the user-agent tags only: find that out without building a list.
    for tag in tags:
        if type(tag) is not str or not tag.startswith(_USER_AGENT_TAG):
            break
    else:
        return None
    kept = [t for t in tags if type(t) is str and not t.startswith(_USER_AGENT_TAG)]
    return kept or None


def attempt_id(call_id: str | None, ts_us: int | None) -> str | None:
    """One id per attempt. LiteLLM's own standard-logging id is the provider's response id
    on success but the call id on failure, which every retry of a call shares; the call id
    plus the attempt's start time tells attempts apart, and stays the same when LiteLLM
    fires the callback twice for one attempt."""
    if call_id is None or ts_us is None:
        return None
    return f"{call_id}@{ts_us}"


def model_name(raw: object, provider: str | None) -> str | None:
    """The model without LiteLLM's routing prefix: the proxy reports `openai/gpt-4o-mini`
    where the SDK reports `gpt-4o-mini`; the provider has its own column."""
    model = _str(raw)
    if model and provider and model.startswith(provider + "/"):
        return model[len(provider) + 1 :]
    return model


def call_type_of(raw: object) -> str:
    if not isinstance(raw, str):
        return "other"
    return _CALL_TYPES.get(raw, "other")


_INT64_MAX = 2**63 - 1
_INT32_MAX = 2**31 - 1


# The helpers below test `type(x) is ...` before anything general: they run ~40 times per
# call on LiteLLM's event loop, and the exact-type test is the common, cheapest case.


def _int(value: object) -> int | None:
    """A count that fits int64, or None: a malformed payload must not poison a segment."""
    if type(value) is int:
        return value if -_INT64_MAX <= value <= _INT64_MAX else None
    if type(value) is float and math.isfinite(value):
        return _int(int(value))
    return None


def _int32(value: object) -> int | None:
    """A count for an int32 column (retries, an HTTP status): beyond it, malformed."""
    number = _int(value)
    return number if number is None or -_INT32_MAX <= number <= _INT32_MAX else None


def _num(value: object) -> float | None:
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None  # type: ignore[arg-type,return-value]
    if kind is int:
        return float(value) if abs(value) < 1e300 else None  # type: ignore[arg-type]
    return None


_YEAR_3000 = YEAR_3000


def _epoch_seconds(value: object) -> float | None:
    """A plausible epoch time, or None (a wild value must not overflow the µs column)."""
    number = _num(value)
    return number if number is not None and 0.0 <= number < _YEAR_3000 else None


def _str(value: object) -> str | None:
    if type(value) is str and value:
        return value
    if isinstance(value, str) and value:
        return str(value)
    return None


def _s(value: object) -> str | None:
    """`_str` with the common cases first: a present, plain string, or nothing at all."""
    if value is None:
        return None
    if type(value) is str:
        return value or None
    return _str(value)


def _mapping(value: object) -> Mapping[str, Any]:
    if type(value) is dict or isinstance(value, Mapping):
        return value
    return _EMPTY


def _get(obj: object, key: str) -> Any:
    """Field of a dict or of a pydantic/usage object; None when absent."""
    if type(obj) is dict:
        return obj.get(key)
    if obj is None:
        return None
    fields = getattr(obj, "__dict__", None)
    if fields is not None:
        if type(fields) is dict and key in fields:
            return fields[key]  # a pydantic model's field values live here
        if _unset_pydantic_field(obj, key):
            return None
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


# (class, name) → the class is a pydantic model with no attribute of that name.
_plain_field_names: dict[tuple[type, str], bool] = {}


def _unset_pydantic_field(obj: object, key: str) -> bool:
    """Whether `key` is nothing a pydantic model has: no field value, no extra or private
    attribute, nothing of its class. Asking getattr would go through pydantic's
    `__getattr__`, which builds an AttributeError to say so: ~9 µs, where this costs a few
    dict look-ups (a ModelResponse has no `output`, LiteLLM's Usage deletes unset fields)."""
    cls = type(obj)
    known = _plain_field_names.get((cls, key))
    if known is None:
        # Through the MRO's own dicts: hasattr on the class would ask pydantic's metaclass,
        # which is as slow to say no.
        known = getattr(cls, "__pydantic_fields__", None) is not None and not any(
            key in vars(base) for base in cls.__mro__
        )
        if len(_plain_field_names) >= _CACHE_LIMIT:
            _plain_field_names.clear()
        _plain_field_names[(cls, key)] = known
    if not known:
        return False
    for stored in ("__pydantic_extra__", "__pydantic_private__"):
        values = getattr(obj, stored, None)
        if values and key in values:
            return False
    return True


def _host_of(url: object) -> str | None:
    """Host only: a URL's path or query can carry deployment names or keys."""
    if not isinstance(url, str) or not url:
        return None
    rest = url.split("://", 1)[-1]
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0] or None


def _first_count(first: object, second: object, third: object = None) -> int | None:
    """The first positive count; 0 if a field said 0; None if none was reported. The same
    number can sit in two or three places depending on the provider, some left at 0."""
    if type(first) is int and 0 < first <= _INT64_MAX:
        return first
    if first is None and second is None and third is None:
        return None
    counts = (_int(first), _int(second), _int(third))
    for count in counts:
        if count is not None and count > 0:
            return count
    return None if counts == (None, None, None) else 0


def _first_count32(first: object, second: object) -> int | None:
    """`_first_count` for an int32 column: a count beyond it is malformed (None)."""
    return _first_count(_int32(first), _int32(second))


def _cache_tokens(
    usage: object, details: object
) -> tuple[int | None, int | None, int | None]:
    """(cache_read, cache_write, cache_write_1h) from LiteLLM's normalised usage and its
    `prompt_tokens_details`: every spelling docs/events.md lists, in its order."""
    # The standard logging payload's usage is a plain dict: read it with its own `get`;
    # usage objects (the response marker's) through `_get`.
    if type(usage) is dict and (details is None or type(details) is dict):
        from_usage, from_details = usage.get, (details or _EMPTY).get
    else:
        from_usage, from_details = partial(_get, usage), partial(_get, details)
    read = _first_count(from_usage("cache_read_input_tokens"), from_details("cached_tokens"))
    write = _first_count(
        from_usage("cache_creation_input_tokens"),
        from_details("cache_creation_tokens"),
        from_details("cache_write_tokens"),
    )
    creation = from_details("cache_creation_token_details") or from_usage(
        "cache_creation_token_details"
    )
    write_1h = None
    if creation is not None:
        write_1h = _int(_get(creation, "ephemeral_1h_input_tokens"))
    return read, write, write_1h


def _error_fields(payload: Mapping[str, Any], kwargs: Mapping[str, Any]) -> Row:
    info = _mapping(payload.get("error_information"))
    exception = kwargs.get("exception")
    status = _int32(getattr(exception, "status_code", None))
    raw_code = info.get("error_code")
    if status is None and isinstance(raw_code, str) and raw_code.isdecimal():
        status = _int32(int(raw_code))
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


def _tool_names(response: object) -> list[str]:
    names: list[str] = []
    for choice in _get(response, "choices") or ():
        message = _get(choice, "message")
        for call in _get(message, "tool_calls") or ():
            name = _get(_get(call, "function"), "name")
            names.append(name if isinstance(name, str) else "")
    for item in _get(response, "output") or ():  # Responses API
        if _get(item, "type") == "function_call":
            name = _get(item, "name")
            names.append(name if isinstance(name, str) else "")
    return names


TOOL_CALL_TYPES = frozenset({"chat", "responses"})


def tool_call_count(response: object) -> int | None:
    """How many tool calls a chat or responses call's response made, or None when it is
    malformed: what `extract_event` stores, for the segmenter thread to count off the loop
    (reading a pydantic ModelResponse costs ~5 µs)."""
    try:
        return len(_tool_names(response))
    except (TypeError, ValueError):
        return None


# Small caches for values that repeat on nearly every call (a proxy has a handful of
# deployments and models): the string work is done once per distinct value. Bounded: a
# payload full of distinct values only costs the string work it would have cost anyway.
_CACHE_LIMIT = 4096
_hosts: dict[str, str | None] = {}
_models: dict[tuple[str, str | None], str | None] = {}


def _cached_host(url: object) -> str | None:
    if type(url) is str:
        host = _hosts.get(url, _EMPTY)
        if host is not _EMPTY:
            return host  # type: ignore[return-value]
        if len(_hosts) >= _CACHE_LIMIT:
            _hosts.clear()
        host = _hosts[url] = _host_of(url)
        return host
    return _host_of(url)


def _cached_model(raw: object, provider: str | None) -> str | None:
    if type(raw) is str:
        key = (raw, provider)
        model = _models.get(key, _EMPTY)
        if model is not _EMPTY:
            return model  # type: ignore[return-value]
        if len(_models) >= _CACHE_LIMIT:
            _models.clear()
        model = _models[key] = model_name(raw, provider)
        return model
    return model_name(raw, provider)


# What extract_event reads from the standard logging payload and its metadata, in the order
# it unpacks them: `map(payload.get, ...)` reads them all in one call, without a bytecode
# per field (the callback runs on LiteLLM's event loop).
_PAYLOAD_FIELDS = (
    "litellm_call_id", "id", "startTime", "endTime", "completionStartTime", "stream",
    "metadata", "hidden_params", "custom_llm_provider", "call_type", "model_map_information",
    "cost_breakdown", "prompt_tokens", "completion_tokens", "total_tokens", "response_cost",
    "model_id", "trace_id", "model", "model_group", "api_base", "cache_hit", "end_user",
    "request_tags", "session_id",
)  # fmt: skip
_METADATA_FIELDS = (
    "usage_object", "user_api_key_team_id", "user_api_key_team_alias", "team_alias",
    "user_api_key_org_id", "user_api_key_request_route", "user_api_key_end_user_id",
    "user_api_key_hash", "user_api_key_alias", "user_api_key_user_id",
    "requester_custom_headers",
)  # fmt: skip

# The one request header read: the OpenAI and Anthropic SDKs (Stainless) send it on every
# attempt, "0" on the first and n on the client's n-th retry. It carries no content; the
# other headers are never read.
RETRY_HEADER = "x-stainless-retry-count"
_RETRY_COUNT = re.compile(r"[0-9]{1,9}")


def client_retry_count(headers: object) -> int | None:
    """The client's retry number from the proxy's copy of the request's `x-` headers."""
    value = _mapping(headers).get(RETRY_HEADER)
    if type(value) is str and _RETRY_COUNT.fullmatch(value):
        return int(value)
    return None


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
    ) = map(payload.get, _PAYLOAD_FIELDS)
    if type(call_id) is not str or not call_id:
        call_id = _str(call_id) or _str(kwargs.get("litellm_call_id"))
    if type(response_id) is not str or not response_id:
        response_id = _str(response_id)
    start = attempt_start(start, kwargs, start_time)
    ts = int(start * 1_000_000) if start is not None else None
    event_id = f"{call_id}@{ts}" if call_id is not None and ts is not None else response_id
    if event_id is None:
        return None
    if type(meta) is not dict:
        meta = _mapping(meta)
    (
        usage, team_id, team_alias, other_team_alias, org_id, route, key_end_user, key_hash,
        key_alias, user_id, custom_headers,
    ) = map(meta.get, _METADATA_FIELDS)
    if type(hidden) is not dict:
        hidden = _mapping(hidden)
    usage = usage or hidden.get("usage_object") or _get(response, "usage")
    end = attempt_end(end, kwargs, end_time)
    # LiteLLM marks only a completed stream in the payload; the request says it for all.
    stream = bool(stream) or kwargs.get("stream") is True
    if not stream:
        first_token = None
    elif status != "success":
        # A failure's payload puts its end there; a first chunk, if one came, is here.
        first_token = epoch_seconds(kwargs.get("completion_start_time"))
    elif first_token is not None and (
        type(first_token) is not float or not 0.0 <= first_token < _YEAR_3000
    ):
        first_token = _epoch_seconds(first_token)
    if type(provider) is not str or not provider:
        provider = _str(provider)
    call_type = _CALL_TYPES.get(raw_type, "other") if type(raw_type) is str else call_type_of(raw_type)

    if type(usage) is dict:
        prompt_details = usage.get("prompt_tokens_details")
        completion_details = usage.get("completion_tokens_details")
    else:
        prompt_details = _get(usage, "prompt_tokens_details")
        completion_details = _get(usage, "completion_tokens_details")
    cache_read, cache_write, cache_write_1h = _cache_tokens(usage, prompt_details)
    model_info = (
        model_map if type(model_map) is dict else _mapping(model_map)
    ).get("model_map_value")
    max_input = (model_info if type(model_info) is dict else _mapping(model_info)).get(
        "max_input_tokens"
    )
    params = kwargs.get("litellm_params")
    request_meta = (
        params.get("metadata") if type(params) is dict else _mapping(params).get("metadata")
    )
    if type(request_meta) is not dict:
        request_meta = _mapping(request_meta)
    service_tier = (
        cost_breakdown.get("service_tier")
        if type(cost_breakdown) is dict
        else _mapping(cost_breakdown).get("service_tier")
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
    reasoning = _get(completion_details, "reasoning_tokens")
    audio_in = _get(prompt_details, "audio_tokens")
    audio_out = _get(completion_details, "audio_tokens")
    if type(deployment) is not str or not deployment:
        deployment = _str(deployment) or _str(hidden.get("model_id"))

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
        "model": _cached_model(model, provider),
        "model_group": _s(model_group),
        "deployment_id": deployment,
        "api_base_host": _cached_host(api_base or hidden.get("api_base")),
        "input_tokens": prompt_tokens if type(prompt_tokens) is int and -_INT64_MAX <= prompt_tokens <= _INT64_MAX else _int(prompt_tokens),
        "output_tokens": completion_tokens if type(completion_tokens) is int and -_INT64_MAX <= completion_tokens <= _INT64_MAX else _int(completion_tokens),
        "total_tokens": total_tokens if type(total_tokens) is int and -_INT64_MAX <= total_tokens <= _INT64_MAX else _int(total_tokens),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": cache_write_1h,
        "reasoning_tokens": None if reasoning is None else _int(reasoning),
        "audio_input_tokens": None if audio_in is None else _int(audio_in),
        "audio_output_tokens": None if audio_out is None else _int(audio_out),
        "reported_cost_usd": cost if type(cost) is float and math.isfinite(cost) else _num(cost),
        "proxy_cache_hit": bool(cache_hit) if status == "success" else None,
        "team_id": _s(team_id),
        "team_alias": _s(team_alias or other_team_alias),
        "org_id": _s(org_id),
        "route": _s(route),
        "retries": None if retries is None else _int32(retries),
        # LiteLLM's count, else the fallback depth; a reported 0 stays 0.
        "fallbacks": _first_count32(fallbacks, kwargs.get("fallback_depth")),
        "max_input_tokens": max_input if type(max_input) is int and -_INT64_MAX <= max_input <= _INT64_MAX else _int(max_input),
        "service_tier": _s(service_tier),
        "litellm_overhead_ms": overhead if type(overhead) is float and math.isfinite(overhead) else _num(overhead),
        "client_retry_count": client_retry_count(custom_headers),
    }
    if call_type == "batch":
        row["batch"] = True
    add_pricing_fields(row, call_type, kwargs, usage, completion_details, cost_breakdown)
    if status == "failure":
        row.update(_error_fields(payload, kwargs))
    elif response is not None:
        try:
            _add_response_counts(row, call_type, response, privacy)
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


def _add_response_counts(row: Row, call_type: str, response: object, privacy: str) -> None:
    if call_type in TOOL_CALL_TYPES:
        names = _tool_names(response)
        row["tool_call_count"] = len(names)
        if privacy == "full" and names:
            row["tool_names"] = names
    elif call_type == "image":
        data = _get(response, "data")
        if isinstance(data, list):
            row["image_count"] = len(data)
    elif call_type == "rerank":
        # What a rerank is billed by (LiteLLM: input_cost_per_query x search_units).
        billed = _get(_get(response, "meta"), "billed_units")
        row["search_units"] = _int(_get(billed, "search_units"))
    elif call_type == "transcription":
        row["audio_seconds"] = _num(_get(response, "duration")) or _num(
            _mapping(_get(response, "_hidden_params")).get("audio_transcription_duration")
        )


# Request parameters LiteLLM prices an image by: short enumerations ("1024x1024", "hd"),
# never content; anything longer or not a string is not stored.
_PARAMETER_LIMIT = 32


def _parameter(value: object) -> str | None:
    return value if type(value) is str and 0 < len(value) <= _PARAMETER_LIMIT else None


def _image_size(value: object) -> str | None:
    """fal.ai's `image_size`: a named size ("square_hd") or {"width": w, "height": h}."""
    if type(value) is str:
        return _parameter(value)
    width, height = _get(value, "width"), _get(value, "height")
    if type(width) is int and type(height) is int and 0 < width < 100_000 and 0 < height < 100_000:
        return f"{width}x{height}"
    return None


def add_pricing_fields(
    row: Row, call_type: str, kwargs: Mapping[str, Any], usage: object,
    completion_details: object, cost_breakdown: object,
) -> None:
    """What LiteLLM's cost functions price by besides tokens, set only where present: the
    image tokens of the output, the region and speed LiteLLM's usage and cost breakdown
    report, an image call's requested size and quality, the requests a finished batch
    priced, a speech call's input length in non-whitespace characters (LiteLLM bills text-to-speech per such character; the count
    is kept, never the text)."""
    image_tokens = _get(completion_details, "image_tokens")
    if image_tokens:
        row["image_output_tokens"] = _int(image_tokens)
    if usage is not None:
        geo, speed = _get(usage, "inference_geo"), _get(usage, "speed")
        if geo is not None:
            row["inference_geo"] = _parameter(geo)
        if speed is not None:
            row["speed"] = _parameter(speed)
    if cost_breakdown:
        breakdown = _mapping(cost_breakdown)
        residency, location = breakdown.get("data_residency"), breakdown.get("vertex_location")
        if residency is not None:
            row["data_residency"] = _parameter(residency)
        if location is not None:
            row["vertex_location"] = _parameter(location)
    if call_type == "image":
        params = _mapping(kwargs.get("optional_params"))
        row["image_size"] = _parameter(params.get("size")) or _image_size(params.get("image_size"))
        row["image_quality"] = _parameter(params.get("quality"))
    elif call_type == "batch":
        # The requests the batch's output file priced: LiteLLM decides each request's
        # long-context band on its own prompt, so the mean prompt decides the band here.
        hidden = _mapping(_mapping(kwargs.get("standard_logging_object")).get("hidden_params"))
        requests = hidden.get("batch_successful_requests")
        if type(requests) is int and 0 < requests <= _INT64_MAX:
            row["batch_requests"] = requests
    elif call_type == "speech":
        text = kwargs.get("input")
        if type(text) is str:
            row["input_characters"] = len("".join(text.split()))
            if not row.get("input_tokens"):
                row["input_tokens"] = _speech_tokens(row.get("model"), text)


def _speech_tokens(model: object, text: str) -> int | None:
    """The input tokens LiteLLM bills a token-priced text-to-speech call by: it counts
    them itself (`token_counter`) and reports none. Speech calls are rare and their input
    is short; the text is counted here and not kept."""
    try:
        from litellm import token_counter

        return int(token_counter(model=model if isinstance(model, str) else "", text=text))
    except Exception:  # a tokenizer that cannot load: the count is lost, not the event
        return None


def _add_full_privacy_fields(
    row: Row,
    payload: Mapping[str, Any],
    meta: Mapping[str, Any],
    hash_id: Callable[[object], str | None],
) -> None:
    row["user_agent"] = _str(payload.get("user_agent") or meta.get("user_agent"))
    ip = payload.get("requester_ip_address") or meta.get("requester_ip_address")
    row["requester_ip_hash"] = hash_id(ip) if ip else None
    params = _mapping(payload.get("model_parameters"))
    # Numeric parameters only: `tools`, `response_format` and friends carry content.
    row["param_temperature"] = _num(params.get("temperature"))
    row["param_top_p"] = _num(params.get("top_p"))
    row["param_max_tokens"] = _int(params.get("max_tokens") or params.get("max_completion_tokens"))
    row["param_n"] = _int(params.get("n"))
