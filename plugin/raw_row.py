"""The hot path's spool line: allow-listed values as read, normalised at conversion.

`extract.extract_event` normalises every field on LiteLLM's event loop: a type test, a
range test and often a helper call per field, ~40 of them a call. Most of that can wait
for the converter, which does it for a whole chunk of rows at once (raw_columns.py). What
cannot wait stays here:

- the checks that keep content out and the spool file readable: one look-up of the row's
  type signature (the type of every value, in order) in the signatures already proven to
  hold scalars of the types the spool's columns take (a dict or a list where an id
  belongs could carry content into the spool; a string where a count belongs would lose
  the row at conversion), and orjson's 53-bit integer check while encoding;
- what needs something the spool does not keep: the end user's HMAC, the host of the API
  base (its path and query can carry keys), the model without the provider's prefix, the
  event id (de-duplication is keyed on it), and whether the payload's start time was
  reset (attempt_times.py), which takes one look at the kwargs (a reset start, as a
  /v1/messages stream has, is replaced by the attempt's own here).

What the loop does not need waits too: the tool-call count of a chat or responses call
reads LiteLLM's response objects (pydantic models: ~5 µs a call), and a speech call's
input tokens take LiteLLM's tokenizer (~200 µs); the callback hands them to the segmenter
thread with the line (row_extras.left_for_later), and the counts join the row at
conversion like the prompt's segments do.

Any payload whose values are not what the fast row takes (another type, a pydantic usage
object, a huge integer, a string orjson refuses) goes through `extract_event` instead:
same row, same guarantees, only slower. Failures and privacy=full rows do too; they are
rare, or asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

from .attempt_times import YEAR_3000, attempt_start, epoch_seconds
from .extract import extract_event
from .payload_fields import (
    CALL_TYPES,
    METADATA_FIELDS,
    PAYLOAD_FIELDS,
    RETRY_HEADER,
    Row,
    as_str,
    cached_model_and_host,
    field_of,
    request_tags,
)
from .row_extras import (
    COUNTED_FROM_RESPONSE,
    PRICED_BY_REQUEST,
    TOOL_CALL_TYPES,
    add_pricing_fields,
    add_response_counts,
)
from .spool_line import encode_line

try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None  # type: ignore[assignment]

_NONE: type = type(None)
_NO_USAGE: dict[str, Any] = {}  # read as a dict, passed on as None (never written to)
_STR = frozenset({str, _NONE})
_INT = frozenset({int, _NONE})
_NUMBER = frozenset({float, int, _NONE})
_BOOL = frozenset({bool})
_OPTIONAL_BOOL = frozenset({bool, _NONE})

# Every key of the fast row, in the order it is built, and the types its value may have.
# The spool reader's schema takes exactly these (schema.RAW_FIELDS for the raw ones).
_ALLOWED: dict[str, frozenset[type]] = {
    "event_id": frozenset({str}), "trace_id": _STR, "call_id": frozenset({str}),
    "response_id": _STR, "ts": frozenset({int}), "end_s": _NUMBER, "first_token_s": _NUMBER,
    "call_type": frozenset({str}), "stream": _BOOL, "status": frozenset({str}),
    "provider": _STR, "model": _STR, "model_group": _STR, "deployment_id": _STR,
    "api_base_host": _STR, "input_tokens": _INT, "output_tokens": _INT, "total_tokens": _INT,
    "cache_read_a": _INT, "cache_read_b": _INT, "cache_write_a": _INT, "cache_write_b": _INT,
    "cache_write_c": _INT, "cache_write_1h_tokens": _INT, "reasoning_tokens": _INT, "audio_input_tokens": _INT,
    "audio_output_tokens": _INT, "reported_cost_usd": _NUMBER, "proxy_cache_hit": _OPTIONAL_BOOL,
    "team_id": _STR, "team_alias": _STR, "org_id": _STR, "route": _STR, "retries_a": _INT,
    "fallbacks_a": _INT, "fallback_depth": _INT, "max_input_tokens": _INT,
    "service_tier": _STR, "litellm_overhead_ms": _NUMBER, "client_retry_s": _STR,
    # privacy standard
    "key_hash": _STR, "key_alias": _STR, "user_id": _STR, "end_user_hash": _STR,
    "session_id": _STR, "tags": frozenset({list, _NONE}),
}  # fmt: skip

# Signatures proven to fit `_ALLOWED`: a proxy's payloads come in a handful of shapes.
# Bounded, so that a stream of odd payloads costs the check it would have cost anyway.
_SIGNATURE_LIMIT = 4096
_good_signatures: set[tuple[type, ...]] = set()


def _fits(row: Row, signature: tuple[type, ...]) -> bool:
    """Whether every value of `row` is of a type its column takes; then `signature` (the
    types of the row's values as read, see `raw_line`) is remembered as one that fits."""
    if not all(type(value) in _ALLOWED[key] for key, value in row.items()):
        return False
    if len(_good_signatures) >= _SIGNATURE_LIMIT:
        _good_signatures.clear()
    _good_signatures.add(signature)
    return True


# What raw_line reads besides the payload and its metadata (payload_fields.py), in the
# order it unpacks them. One `map(d.get, FIELDS)` per dict runs one C loop where a `.get`
# call per field runs four bytecodes; on a call that starts on an idle CPU, with the
# interpreter's code and data cold, the bytecodes are what the call costs. A field read
# and then not used (the request's `user` when the payload has the end user) is only read.
_KWARGS_FIELDS = (
    "standard_logging_object", "api_call_start_time", "litellm_params", "stream",
    "fallback_depth", "user",
)  # fmt: skip
_HIDDEN_FIELDS = ("usage_object", "model_id", "api_base", "litellm_overhead_time_ms")
_USAGE_FIELDS = (
    "prompt_tokens_details", "completion_tokens_details", "cache_read_input_tokens",
    "cache_creation_input_tokens", "cache_creation_token_details", "inference_geo", "speed",
)  # fmt: skip
_PROMPT_DETAIL_FIELDS = (
    "cached_tokens", "cache_creation_tokens", "cache_write_tokens", "audio_tokens",
    "cache_creation_token_details",
)  # fmt: skip
_COMPLETION_DETAIL_FIELDS = ("reasoning_tokens", "audio_tokens", "image_tokens")
# LiteLLM fills every field of the payload, its metadata and its hidden params (TypedDicts
# built whole): one itemgetter reads each of them without a bound method and a map; where
# one is missing (another LiteLLM, another integration), a `get` each reads it as None.
_PAYLOAD_ITEMS = itemgetter(*PAYLOAD_FIELDS)
_METADATA_ITEMS = itemgetter(*METADATA_FIELDS)
_HIDDEN_ITEMS = itemgetter(*_HIDDEN_FIELDS)

_BREAKDOWN_FIELDS = ("service_tier", "data_residency", "vertex_location")
_NO_BREAKDOWN = (None, None, None)
_DATETIME = dt.datetime
# The fields a privacy=minimal row leaves out.
_STANDARD_FIELDS = ("key_hash", "key_alias", "user_id", "end_user_hash", "session_id", "tags")
_EMPTY: dict[str, Any] = {}  # a missing sub-dict, read as empty (never written to)


if orjson is not None:
    _OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_STRICT_INTEGER
    _dumps = orjson.dumps


def raw_line(
    kwargs: Mapping[str, Any],
    response: object,
    status: str,
    privacy: str,
    hash_id: Callable[[object], str | None],
    count_here: bool = True,
) -> tuple[Row, bytes] | None:
    """(row, spool line) for a successful call whose payload has the usual shape, or None:
    then `extract_event` must build the row (see the module doc). `count_here=False`
    leaves a chat or responses call's tool calls and a speech call's input tokens to the
    segmenter thread (the row then has no `tool_call_count`, or `input_tokens` None: the
    caller hands `row_extras.left_for_later` over with the line). The callback
    passes its arguments by position: on a cold call, matching six keywords cost ~1 µs."""
    if orjson is None or status != "success" or privacy == "full":
        return None
    payload, api_start, params, request_stream, fallback_depth, user = map(
        kwargs.get, _KWARGS_FIELDS
    )
    if type(payload) is not dict:
        return None
    try:
        values = _PAYLOAD_ITEMS(payload)
    except KeyError:
        values = tuple(map(payload.get, PAYLOAD_FIELDS))
    (
        call_id, response_id, start, end, first_token, stream, meta, hidden, provider,
        raw_type, model_map, cost_breakdown, prompt_tokens, completion_tokens, total_tokens,
        cost, deployment, trace_id, model, model_group, api_base, cache_hit, end_user, tags,
        session_id,
    ) = values
    if (
        type(call_id) is not str
        or not call_id
        or type(start) is not float
        or not 0.0 <= start < YEAR_3000
        or type(end) is not float
        or not 0.0 <= end < YEAR_3000
        or type(meta) is not dict
        or type(hidden) is not dict
        or type(raw_type) is not str
    ):
        return None  # the times (or ids) must come from elsewhere: attempt_times.py
    if api_start is not None:
        # LiteLLM's naive local datetime, read inline (`epoch_seconds` for anything else).
        if type(api_start) is _DATETIME:
            try:
                api = api_start.timestamp()
            except (OverflowError, OSError, ValueError):
                api = None
        else:
            api = epoch_seconds(api_start)
        if api is not None and start > api >= 0.0:
            # The payload's start was reset after the provider call began (a /v1/messages
            # stream): the attempt's own start, as extract_event takes it.
            start = attempt_start(start, kwargs, None)
            if start is None:
                return None
    try:
        values = _METADATA_ITEMS(meta)
    except KeyError:
        values = tuple(map(meta.get, METADATA_FIELDS))
    (
        usage, team_id, team_alias, other_team_alias, org_id, route, key_end_user, key_hash,
        key_alias, user_id, custom_headers,
    ) = values
    if type(custom_headers) is dict:
        retry_header = custom_headers.get(RETRY_HEADER)
    elif custom_headers is None:
        retry_header = None
    else:
        return None
    try:
        values = _HIDDEN_ITEMS(hidden)
    except KeyError:
        values = tuple(map(hidden.get, _HIDDEN_FIELDS))
    hidden_usage, model_id, hidden_api_base, overhead = values
    # A call without usage (speech, moderation, rerank report `{}`) reads the response's,
    # as extract_event does: nothing there is a call without token counts.
    usage = usage or hidden_usage or (None if response is None else field_of(response, "usage"))
    if usage is None:
        usage = _NO_USAGE
    elif type(usage) is not dict:
        return None  # a pydantic Usage: extract_event reads it
    (
        prompt_details, completion_details, cache_read_a, cache_write_a, usage_creation, geo,
        speed,
    ) = map(usage.get, _USAGE_FIELDS)
    prompt_details = prompt_details or _EMPTY
    completion_details = completion_details or _EMPTY
    params = params or _EMPTY
    if (
        type(prompt_details) is not dict
        or type(completion_details) is not dict
        or type(params) is not dict
        or (model_map is not None and type(model_map) is not dict)
        or (cost_breakdown is not None and type(cost_breakdown) is not dict)
    ):
        return None
    model_info = (model_map or _EMPTY).get("model_map_value") or _EMPTY
    request_meta = params.get("metadata") or _EMPTY
    cache_read_b, cache_write_b, cache_write_c, audio_in, creation = map(
        prompt_details.get, _PROMPT_DETAIL_FIELDS
    )
    creation = creation or usage_creation or _EMPTY
    if type(model_info) is not dict or type(request_meta) is not dict or type(creation) is not dict:
        return None
    reasoning, audio_out, image_tokens = map(completion_details.get, _COMPLETION_DETAIL_FIELDS)
    service_tier, residency, location = (
        map(cost_breakdown.get, _BREAKDOWN_FIELDS) if cost_breakdown else _NO_BREAKDOWN
    )
    if type(provider) is not str or not provider:
        provider = as_str(provider)
    if type(deployment) is not str or not deployment:
        deployment = as_str(deployment) or as_str(model_id)
    ts = int(start * 1_000_000)
    call_type = CALL_TYPES.get(raw_type, "other")
    # LiteLLM marks only a completed stream in the payload; the request says it for all.
    stream = bool(stream) or request_stream is True
    model, api_base_host = cached_model_and_host(model, provider, api_base or hidden_api_base)
    first_token = first_token if stream else None
    team_alias = team_alias or other_team_alias
    write_1h = creation.get("ephemeral_1h_input_tokens")
    retries = request_meta.get("attempted_retries")
    fallbacks = request_meta.get("attempted_fallbacks")
    max_input = model_info.get("max_input_tokens")
    if privacy == "minimal":
        key_hash = key_alias = user_id = session_id = end_user_hash = kept_tags = None
    else:
        # The proxy resolves the end user into the payload; the SDK leaves it in the
        # OpenAI `user` parameter.
        end_user = end_user or key_end_user or user
        end_user_hash = hash_id(end_user) if end_user else None
        kept_tags = request_tags(tags) if tags else None
    row: Row = {
        "event_id": f"{call_id}@{ts}",
        "trace_id": trace_id,
        "call_id": call_id,
        "response_id": response_id,
        "ts": ts,
        "end_s": end,
        "first_token_s": first_token,
        "call_type": call_type,
        "stream": stream,
        "status": status,
        "provider": provider,
        "model": model,
        "model_group": model_group,
        "deployment_id": deployment,
        "api_base_host": api_base_host,
        "input_tokens": prompt_tokens,
        "output_tokens": completion_tokens,
        "total_tokens": total_tokens,
        "cache_read_a": cache_read_a,
        "cache_read_b": cache_read_b,
        "cache_write_a": cache_write_a,
        "cache_write_b": cache_write_b,
        "cache_write_c": cache_write_c,
        "cache_write_1h_tokens": write_1h,
        "reasoning_tokens": reasoning,
        "audio_input_tokens": audio_in,
        "audio_output_tokens": audio_out,
        "reported_cost_usd": cost,
        "proxy_cache_hit": bool(cache_hit),
        "team_id": team_id,
        "team_alias": team_alias,
        "org_id": org_id,
        "route": route,
        "retries_a": retries,
        "fallbacks_a": fallbacks,
        "fallback_depth": fallback_depth,
        "max_input_tokens": max_input,
        "service_tier": service_tier,
        "litellm_overhead_ms": overhead,
        "client_retry_s": retry_header,
        # privacy standard
        "key_hash": key_hash,
        "key_alias": key_alias,
        "user_id": user_id,
        "end_user_hash": end_user_hash,
        "session_id": session_id,
        "tags": kept_tags,
    }
    if privacy == "minimal":
        # Built as the standard row (one literal, the common case, with these fields
        # None), then cut to minimal: nothing of them is hashed or kept.
        for key in _STANDARD_FIELDS:
            del row[key]
    # The types of the values as read (the row's other values are of their column's type
    # by construction: checked above, or made here): a shape already proven to fit is
    # known by them; a new one is checked whole (`_fits`).
    signature = tuple(map(type, (
        trace_id, response_id, first_token, status, model_group, prompt_tokens,
        completion_tokens, total_tokens, cache_read_a, cache_read_b, cache_write_a,
        cache_write_b, cache_write_c, write_1h, reasoning, audio_in, audio_out, cost, team_id,
        team_alias, org_id, route, retries, fallbacks, fallback_depth, max_input, service_tier,
        overhead, retry_header, key_hash, key_alias, user_id, end_user_hash, session_id,
    )))  # fmt: skip
    if signature not in _good_signatures and not _fits(row, signature):
        return None
    if call_type == "batch":
        row["batch"] = True
    # add_pricing_fields sets a field only where one of these is there: most calls have
    # none, and testing them here spares the call and its reads.
    if (
        image_tokens
        or geo is not None
        or speed is not None
        or residency is not None
        or location is not None
        or call_type in PRICED_BY_REQUEST
    ):
        add_pricing_fields(
            row, call_type, kwargs, usage if usage is not _NO_USAGE else None,
            completion_details, cost_breakdown, count_here,
        )  # fmt: skip
    if (
        response is not None
        and call_type in COUNTED_FROM_RESPONSE
        and (count_here or call_type not in TOOL_CALL_TYPES)
    ):
        try:
            add_response_counts(row, call_type, response, privacy)
        except (TypeError, ValueError):
            pass  # as in extract_event: a malformed response loses its counts only
    try:
        return row, _dumps(row, option=_OPTIONS)
    except TypeError:  # an integer past 53 bits, a string orjson refuses
        return None


def event_line(
    kwargs: Mapping[str, Any],
    response: object,
    *,
    status: str,
    privacy: str,
    hash_id: Callable[[object], str | None],
    start_time: object = None,
    end_time: object = None,
    count_here: bool = True,
) -> tuple[Row, bytes] | None:
    """(row, spool line) for one callback: the fast row when it takes the payload, else
    `extract_event`'s; None when the kwargs carry no event at all. `start_time` and
    `end_time` are the callback's own arguments (the fast row needs them only when the
    payload has no times of its own, and then leaves the row to `extract_event`). For
    `count_here`, see `raw_line`; `extract_event` always counts them itself."""
    fast = raw_line(
        kwargs, response, status=status, privacy=privacy, hash_id=hash_id, count_here=count_here
    )
    if fast is not None:
        return fast
    row = extract_event(
        kwargs, response, status=status, privacy=privacy, hash_id=hash_id,
        start_time=start_time, end_time=end_time,
    )  # fmt: skip
    return None if row is None else (row, encode_line(row))
