"""What a row holds beyond tokens and times, by call type: shared by both row builders.

The fast row (raw_row.py) and the reference row (extract.py) add the same extras with the
same rules: the tool calls of a chat or responses call, an image call's image count, a
rerank's search units, a transcription's seconds, and what LiteLLM's cost functions price
by besides tokens (a region, a speed, an image's size and quality, a speech call's length).
Only counts and short enumerations are kept: never a tool's arguments, never the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .payload_fields import INT64_MAX, Row, as_int, as_mapping, as_number, field_of

TOOL_CALL_TYPES = frozenset({"chat", "responses"})
# The call types `add_response_counts` reads the response of, and those `add_pricing_fields`
# reads the request of: the fast row calls either only for these (or when a field the
# other reads is there).
COUNTED_FROM_RESPONSE = TOOL_CALL_TYPES | {"image", "rerank", "transcription"}
PRICED_BY_REQUEST = frozenset({"image", "batch", "speech"})


def tool_names(response: object) -> list[str]:
    names: list[str] = []
    for choice in field_of(response, "choices") or ():
        message = field_of(choice, "message")
        for call in field_of(message, "tool_calls") or ():
            name = field_of(field_of(call, "function"), "name")
            names.append(name if isinstance(name, str) else "")
    for item in field_of(response, "output") or ():  # Responses API
        if field_of(item, "type") == "function_call":
            name = field_of(item, "name")
            names.append(name if isinstance(name, str) else "")
    return names


def tool_call_count(response: object) -> int | None:
    """How many tool calls a chat or responses call's response made, or None when it is
    malformed: what `extract_event` stores, for the segmenter thread to count off the loop
    (reading a pydantic ModelResponse costs ~5 µs)."""
    try:
        return len(tool_names(response))
    except (TypeError, ValueError):
        return None


def add_response_counts(row: Row, call_type: str, response: object, privacy: str) -> None:
    """The counts read off the response object (may raise on a malformed one: the caller
    keeps the row without them)."""
    if call_type in TOOL_CALL_TYPES:
        names = tool_names(response)
        row["tool_call_count"] = len(names)
        if privacy == "full" and names:
            row["tool_names"] = names
    elif call_type == "image":
        data = field_of(response, "data")
        if isinstance(data, list):
            row["image_count"] = len(data)
    elif call_type == "rerank":
        # What a rerank is billed by (LiteLLM: input_cost_per_query x search_units).
        billed = field_of(field_of(response, "meta"), "billed_units")
        row["search_units"] = as_int(field_of(billed, "search_units"))
    elif call_type == "transcription":
        row["audio_seconds"] = as_number(field_of(response, "duration")) or as_number(
            as_mapping(field_of(response, "_hidden_params")).get("audio_transcription_duration")
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
    width, height = field_of(value, "width"), field_of(value, "height")
    if type(width) is int and type(height) is int and 0 < width < 100_000 and 0 < height < 100_000:
        return f"{width}x{height}"
    return None


def add_pricing_fields(
    row: Row, call_type: str, kwargs: Mapping[str, Any], usage: object,
    completion_details: object, cost_breakdown: object, count_here: bool = True,
) -> None:
    """What LiteLLM's cost functions price by besides tokens, set only where present: the
    image tokens of the output, the region and speed LiteLLM's usage and cost breakdown
    report, an image call's requested size and quality, the requests a finished batch
    priced, a speech call's input length in non-whitespace characters (LiteLLM bills
    text-to-speech per such character; the count is kept, never the text). A token-priced
    speech call's input tokens are counted with LiteLLM's tokenizer: `count_here=False`
    leaves them to the segmenter thread (None in the row until then, see `left_for_later`),
    since the tokenizer costs ~200 µs on the loop and loads its encoding (half a second) on
    the first call."""
    image_tokens = field_of(completion_details, "image_tokens")
    if image_tokens:
        row["image_output_tokens"] = as_int(image_tokens)
    if usage is not None:
        geo, speed = field_of(usage, "inference_geo"), field_of(usage, "speed")
        if geo is not None:
            row["inference_geo"] = _parameter(geo)
        if speed is not None:
            row["speed"] = _parameter(speed)
    if cost_breakdown:
        breakdown = as_mapping(cost_breakdown)
        residency, location = breakdown.get("data_residency"), breakdown.get("vertex_location")
        if residency is not None:
            row["data_residency"] = _parameter(residency)
        if location is not None:
            row["vertex_location"] = _parameter(location)
    if call_type == "image":
        params = as_mapping(kwargs.get("optional_params"))
        row["image_size"] = _parameter(params.get("size")) or _image_size(params.get("image_size"))
        row["image_quality"] = _parameter(params.get("quality"))
    elif call_type == "batch":
        # The requests the batch's output file priced: LiteLLM decides each request's
        # long-context band on its own prompt, so the mean prompt decides the band here.
        hidden = as_mapping(as_mapping(kwargs.get("standard_logging_object")).get("hidden_params"))
        requests = hidden.get("batch_successful_requests")
        if type(requests) is int and 0 < requests <= INT64_MAX:
            row["batch_requests"] = requests
    elif call_type == "speech":
        text = kwargs.get("input")
        if type(text) is str:
            row["input_characters"] = len("".join(text.split()))
            if not row.get("input_tokens"):
                row["input_tokens"] = speech_input_tokens(row.get("model"), text) if count_here else None


def speech_input_tokens(model: object, text: str) -> int | None:
    """The input tokens LiteLLM bills a token-priced text-to-speech call by: it counts
    them itself (`token_counter`) and reports none. Speech calls are rare and their input
    is short; the text is counted here and not kept."""
    try:
        from litellm import token_counter

        return int(token_counter(model=model if isinstance(model, str) else "", text=text))
    except Exception:  # a tokenizer that cannot load: the count is lost, not the event
        return None


class SpeechInput(NamedTuple):
    """A speech call's input, for the segmenter thread to count its tokens (never kept)."""

    model: str | None
    text: str


def left_for_later(row: Row, kwargs: Mapping[str, Any], response: object) -> object | None:
    """What a fast row built with `count_here=False` left to the segmenter thread: the
    response whose tool calls are to be counted, a speech input whose tokens are, or None."""
    call_type = row["call_type"]
    if call_type in TOOL_CALL_TYPES:
        return response if response is not None and "tool_call_count" not in row else None
    if call_type == "speech" and row.get("input_tokens") is None:
        text = kwargs.get("input")
        if type(text) is str:
            return SpeechInput(row.get("model"), text)
    return None


def counts_off_the_loop(later: object) -> dict[str, int]:
    """The segmenter thread's half of `left_for_later`: the columns its counts line fills
    (the converter joins them to the row: spool_to_parquet._with_counts)."""
    if type(later) is SpeechInput:
        tokens = speech_input_tokens(later.model, later.text)
        return {} if tokens is None else {"input_tokens": tokens}
    count = tool_call_count(later)
    return {} if count is None else {"tool_call_count": count}
