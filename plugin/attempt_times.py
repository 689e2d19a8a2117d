"""When an attempt started and ended: LiteLLM keeps those in several places, not all true.

- The standard logging payload's `startTime` / `endTime` (epoch floats) are the attempt's
  own, as a rule. Some integrations leave them out or send strings; then the datetimes
  LiteLLM passes to the callback itself (`start_time`, `end_time` arguments) stand in,
  then the call's kwargs (`start_time`, `end_time`).
- LiteLLM's pass-through streaming iterator (the proxy's Anthropic `/v1/messages` streams)
  resets the payload's start once the upstream has answered: a stream whose first byte
  came after a second was stored with a latency of a few ms. The kwargs still hold the
  truth: `api_call_start_time` is when this attempt's provider call began (LiteLLM
  overwrites it on every retry), `start_time` when the logging object, and so the
  request, began (shared by every retry of the request), `first_api_call_start_time`
  the first attempt's provider call (set once).

A start later than the attempt's own provider call cannot be the attempt's start: it was
reset. Then the request's start is taken if this is the logging object's first provider
call (no retry came before it, so the request's start is this attempt's), else the
provider call's own start. Otherwise the payload's start stands: it is what LiteLLM's own
spend logs and every other logger report, and what the response marker's id is tied to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

YEAR_3000 = 32_503_680_000.0


def epoch_seconds(value: object) -> float | None:
    """A plausible epoch time from a float, an int or a datetime (LiteLLM's naive local
    datetimes included), or None: a wild value must not overflow the µs column."""
    kind = type(value)
    if kind is float:
        number: float = value  # type: ignore[assignment]
    elif kind is int:
        if not 0 <= value < YEAR_3000:  # type: ignore[operator]
            return None  # before float(): an int past 1e308 does not convert
        number = float(value)  # type: ignore[arg-type]
    elif isinstance(value, dt.datetime):
        try:
            number = value.timestamp()
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    return number if 0.0 <= number < YEAR_3000 else None


def provider_call_start(kwargs: Mapping[str, Any]) -> float | None:
    """When this attempt's provider call began (`api_call_start_time`), if LiteLLM says."""
    return epoch_seconds(kwargs.get("api_call_start_time"))


def attempt_start(
    payload_start: object, kwargs: Mapping[str, Any], callback_start: object
) -> float | None:
    """The earliest start of this attempt that can be trusted (see the module doc)."""
    start = epoch_seconds(payload_start)
    if start is None:
        start = epoch_seconds(callback_start)
    if start is None:
        start = epoch_seconds(kwargs.get("start_time"))
    api = provider_call_start(kwargs)
    if api is None or (start is not None and start <= api):
        return start
    request = epoch_seconds(kwargs.get("start_time"))
    first = epoch_seconds(kwargs.get("first_api_call_start_time"))
    if request is not None and request <= api and (first is None or first == api):
        return request
    return api


def attempt_end(payload_end: object, kwargs: Mapping[str, Any], callback_end: object) -> float | None:
    """The payload's end, else the callback's own `end_time`, else the kwargs'."""
    end = epoch_seconds(payload_end)
    if end is None:
        end = epoch_seconds(callback_end)
    if end is None:
        end = epoch_seconds(kwargs.get("end_time"))
    return end
