"""Reading LiteLLM's payload, one allow-listed value at a time: what every row builder shares.

The fast row (raw_row.py), the reference row (extract.py) and the response marker
(response_marker.py) read the same fields with the same rules, and the converter's column
rules (raw_columns.py) apply those rules to whole columns: the names of the fields read,
the readers that turn one value into what a column takes (a count, a number, a string, a
host), and the small caches of values that repeat on nearly every call.

These run on LiteLLM's event loop for every call: each reader tests `type(x) is ...`
before anything general, since the exact type is the common, cheapest case, and the
field-name tuples let a builder read them all with one `map(payload.get, ...)` call,
without a bytecode per field. Anything not named here is never read, which is how
prompts, responses, tool arguments, error bodies, e-mails and IPs stay out: there is no
deny-list to forget a field in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

Row = dict[str, Any]

# What a row builder reads from the standard logging payload and its metadata, in the
# order it unpacks them.
PAYLOAD_FIELDS = (
    "litellm_call_id", "id", "startTime", "endTime", "completionStartTime", "stream",
    "metadata", "hidden_params", "custom_llm_provider", "call_type", "model_map_information",
    "cost_breakdown", "prompt_tokens", "completion_tokens", "total_tokens", "response_cost",
    "model_id", "trace_id", "model", "model_group", "api_base", "cache_hit", "end_user",
    "request_tags", "session_id",
)  # fmt: skip
METADATA_FIELDS = (
    "usage_object", "user_api_key_team_id", "user_api_key_team_alias", "team_alias",
    "user_api_key_org_id", "user_api_key_request_route", "user_api_key_end_user_id",
    "user_api_key_hash", "user_api_key_alias", "user_api_key_user_id",
    "requester_custom_headers",
)  # fmt: skip

# LiteLLM's call_type values (sync and async spellings) → the schema's small vocabulary.
CALL_TYPES: dict[str, str] = {}
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
        CALL_TYPES[_name] = _kind
        CALL_TYPES["a" + _name] = _kind


def call_type_of(raw: object) -> str:
    if not isinstance(raw, str):
        return "other"
    return CALL_TYPES.get(raw, "other")


INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1

_EMPTY: Mapping[str, Any] = {}


def as_int(value: object) -> int | None:
    """A count that fits int64, or None: a malformed payload must not poison a spool file."""
    if type(value) is int:
        return value if -INT64_MAX <= value <= INT64_MAX else None
    if type(value) is float and math.isfinite(value):
        return as_int(int(value))
    return None


def as_int32(value: object) -> int | None:
    """A count for an int32 column (retries, an HTTP status): beyond it, malformed."""
    number = as_int(value)
    return number if number is None or -INT32_MAX <= number <= INT32_MAX else None


def as_number(value: object) -> float | None:
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None  # type: ignore[arg-type,return-value]
    if kind is int:
        return float(value) if abs(value) < 1e300 else None  # type: ignore[arg-type]
    return None


def as_str(value: object) -> str | None:
    """A non-empty string (a str subclass, such as an enum's value, as a plain str), or None."""
    if type(value) is str and value:
        return value
    if isinstance(value, str) and value:
        return str(value)
    return None


def as_mapping(value: object) -> Mapping[str, Any]:
    if type(value) is dict or isinstance(value, Mapping):
        return value
    return _EMPTY


def field_of(obj: object, key: str) -> Any:
    """Field of a dict or of a pydantic/usage object; None when absent."""
    if type(obj) is dict:
        return obj.get(key)
    if obj is None:
        return None
    fields = getattr(obj, "__dict__", None)
    if fields is not None:
        if type(fields) is dict and key in fields:
            return fields[key]  # a pydantic model's field values live here
        if _stored_by_pydantic(type(obj), key):
            return _pydantic_stored(obj, key)
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


# Bound for every cache here: a payload full of distinct values only costs the work it
# would have cost anyway.
_CACHE_LIMIT = 4096

# (class, name) → whether getattr would end in pydantic's own `__getattr__` for that name.
_pydantic_names: dict[tuple[type, str], bool] = {}


def _stored_by_pydantic(cls: type, key: str) -> bool:
    """Whether `key`, not among a pydantic model's field values, can only be an extra
    (`model_config extra="allow"`: LiteLLM's TranscriptionResponse keeps `duration` there),
    a private attribute (`_hidden_params`) or nothing at all: nothing of that name in the
    class or its bases, and pydantic's `__getattr__` the one that answers. Then its value
    is read where pydantic keeps it; getattr would cost ~4 µs to find an extra and ~9 µs to
    say no (pydantic builds an AttributeError to say so)."""
    known = _pydantic_names.get((cls, key))
    if known is None:
        # Through the MRO's own dicts: hasattr on the class would ask pydantic's metaclass,
        # which is as slow to say no. A class without pydantic's own __getattr__ (one that
        # overrides it) is asked through getattr, as before.
        answers = getattr(cls, "__getattr__", None)
        known = (
            getattr(cls, "__pydantic_fields__", None) is not None
            and getattr(answers, "__module__", None) == "pydantic.main"
            and getattr(answers, "__qualname__", None) == "BaseModel.__getattr__"
            and not any(key in vars(base) for base in cls.__mro__)
            # A private attribute that is a descriptor is answered by it, not stored.
            and not hasattr((getattr(cls, "__private_attributes__", None) or {}).get(key), "__get__")
        )
        if len(_pydantic_names) >= _CACHE_LIMIT:
            _pydantic_names.clear()
        _pydantic_names[(cls, key)] = known
    return known


def _pydantic_stored(obj: object, key: str) -> Any:
    """What pydantic's `__getattr__` would return for `key` (see `_stored_by_pydantic`), or
    None where it would raise."""
    # Private attributes first, then extras: the order pydantic looks in.
    for stored in ("__pydantic_private__", "__pydantic_extra__"):
        values = getattr(obj, stored, None)
        if values and key in values:
            return values[key]
    return None


def first_count(first: object, second: object, third: object = None) -> int | None:
    """The first positive count; 0 if a field said 0; None if none was reported. The same
    number can sit in two or three places depending on the provider, some left at 0."""
    if type(first) is int and 0 < first <= INT64_MAX:
        return first
    if first is None and second is None and third is None:
        return None
    counts = (as_int(first), as_int(second), as_int(third))
    for count in counts:
        if count is not None and count > 0:
            return count
    return None if counts == (None, None, None) else 0


def first_count32(first: object, second: object) -> int | None:
    """`first_count` for an int32 column: a count beyond it is malformed (None)."""
    return first_count(as_int32(first), as_int32(second))


def cache_tokens(usage: object, details: object) -> tuple[int | None, int | None, int | None]:
    """(cache_read, cache_write, cache_write_1h) from LiteLLM's normalised usage and its
    `prompt_tokens_details`: every spelling docs/events.md lists, in its order."""
    # The standard logging payload's usage is a plain dict: read it with its own `get`;
    # usage objects (the response marker's) through `field_of`.
    if type(usage) is dict and (details is None or type(details) is dict):
        from_usage, from_details = usage.get, (details or _EMPTY).get
    else:
        from_usage, from_details = partial(field_of, usage), partial(field_of, details)
    read = first_count(from_usage("cache_read_input_tokens"), from_details("cached_tokens"))
    write = first_count(
        from_usage("cache_creation_input_tokens"),
        from_details("cache_creation_tokens"),
        from_details("cache_write_tokens"),
    )
    creation = from_details("cache_creation_token_details") or from_usage(
        "cache_creation_token_details"
    )
    write_1h = None
    if creation is not None:
        write_1h = as_int(field_of(creation, "ephemeral_1h_input_tokens"))
    return read, write, write_1h


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
    model = as_str(raw)
    if model and provider and model.startswith(provider + "/"):
        return model[len(provider) + 1 :]
    return model


def host_of(url: object) -> str | None:
    """Host only: a URL's path or query can carry deployment names or keys."""
    if not isinstance(url, str) or not url:
        return None
    rest = url.split("://", 1)[-1]
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0] or None


# Values that repeat on nearly every call (a proxy has a handful of deployments and
# models): the string work is done once per distinct value.
_hosts: dict[str, str | None] = {}
_models: dict[tuple[str, str | None], str | None] = {}


def cached_host(url: object) -> str | None:
    """`host_of`, remembered per URL."""
    if type(url) is str:
        host = _hosts.get(url, _EMPTY)
        if host is not _EMPTY:
            return host  # type: ignore[return-value]
        if len(_hosts) >= _CACHE_LIMIT:
            _hosts.clear()
        host = _hosts[url] = host_of(url)
        return host
    return host_of(url)


def cached_model(raw: object, provider: str | None) -> str | None:
    """`model_name`, remembered per (model, provider)."""
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


_deployments: dict[tuple[str, str | None, str], tuple[str | None, str | None]] = {}


def cached_model_and_host(
    raw: object, provider: str | None, url: object
) -> tuple[str | None, str | None]:
    """(`model_name`, `host_of`) at once, remembered per (model, provider, URL): the fast
    row's one call for both, since each call on a cold loop costs as much as the look-up."""
    if type(raw) is str and type(url) is str:
        key = (raw, provider, url)
        names = _deployments.get(key)
        if names is None:
            if len(_deployments) >= _CACHE_LIMIT:
                _deployments.clear()
            names = _deployments[key] = (model_name(raw, provider), host_of(url))
        return names
    return cached_model(raw, provider), cached_host(url)


# The one request header read: the OpenAI and Anthropic SDKs (Stainless) send it on every
# attempt, "0" on the first and n on the client's n-th retry. It carries no content; the
# other headers are never read.
RETRY_HEADER = "x-stainless-retry-count"
_RETRY_COUNT = re.compile(r"[0-9]{1,9}")


def client_retry_count(headers: object) -> int | None:
    """The client's retry number from the proxy's copy of the request's `x-` headers."""
    value = as_mapping(headers).get(RETRY_HEADER)
    if type(value) is str and _RETRY_COUNT.fullmatch(value):
        return int(value)
    return None
