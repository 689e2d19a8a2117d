"""Where a prompt's input tokens go: role × kind segments, counted, never kept.

`split_prompt` walks a call's messages and tool definitions and yields (role, kind, text
or weight) pieces; `count_segments` turns them into token counts with a local tokenizer
(or a character estimate under load); `apportion` scales the counts so they sum exactly
to the provider's `input_tokens`. Only the counts survive: the text is referenced while
it is counted and dropped with the work item.

Kinds: text, code (fenced, or detected), json, markdown, image, audio, file,
tool_definitions, tool_result, tool_call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None  # type: ignore[assignment]

Segment = tuple[str, str, int]
"""(role, kind, tokens)"""

Piece = tuple[str, str, str | int]
"""(role, kind, text to count — or a fixed weight for media)"""

# What a media part weighs before apportioning: the provider's own count decides the total,
# these only decide the shares (an OpenAI high-detail 1024² image is 765 tokens).
IMAGE_WEIGHT = 765
AUDIO_WEIGHT = 400
FILE_WEIGHT = 1000

_FENCE = re.compile(r"```[^\n]*\n.*?(?:```|\Z)", re.DOTALL)
_MARKDOWN = re.compile(r"^(#{1,6} |\s*[-*+] |\s*\d+\. |\|.*\||> )", re.MULTILINE)
_CODE_LINE = re.compile(
    r"^\s*(def |class |import |from \S+ import |function |const |let |var |public |"
    r"private |#include|package |fn |func |SELECT |INSERT |return\b|if \(|for \(|\}|\{$|.*;\s*$)"
)


# Kind detection looks at a bounded sample: the segmenter shares the GIL with LiteLLM's
# event loop, and regexes over a 100 KB prompt would hold it for milliseconds.
SAMPLE_CHARS = 4_000
JSON_PARSE_LIMIT = 16_000


def _as_text(value: Any) -> str:
    """A structure (tool definitions, tool arguments) as the JSON text a provider is sent.
    orjson where it is installed: several times faster, and this runs holding the GIL."""
    if orjson is not None:
        try:
            return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            pass
    return json.dumps(value, default=str)


def _looks_like_json(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{" or stripped[-1] not in "]}":
        return False
    if len(stripped) > JSON_PARSE_LIMIT:
        return True  # bracketed at both ends and too long to parse cheaply
    try:
        json.loads(stripped)
    except ValueError:
        return False
    return True


def _looks_like_code(sample: str) -> bool:
    lines = [line for line in sample.splitlines() if line.strip()]
    if len(lines) < 3:
        return False
    return sum(1 for line in lines if _CODE_LINE.match(line)) >= 0.4 * len(lines)


def text_kind(text: str) -> str:
    if _looks_like_json(text):
        return "json"
    sample = text[:SAMPLE_CHARS]
    if _looks_like_code(sample):
        return "code"
    if len(_MARKDOWN.findall(sample)) >= 2:
        return "markdown"
    return "text"


def split_text(role: str, text: str) -> Iterator[Piece]:
    """Fenced code blocks are code; what lies between them is classified on its own."""
    position = 0
    for match in _FENCE.finditer(text):
        before = text[position : match.start()]
        if before.strip():
            yield (role, text_kind(before), before)
        yield (role, "code", match.group())
        position = match.end()
    rest = text[position:]
    if rest.strip():
        yield (role, text_kind(rest), rest)


def _part_pieces(role: str, part: Any) -> Iterator[Piece]:
    if isinstance(part, str):
        yield from split_text(role, part)
        return
    if not isinstance(part, dict):
        return
    kind = part.get("type")
    if kind in ("text", "input_text", "output_text"):
        text = part.get("text")
        if isinstance(text, str):
            yield from split_text(role, text)
    elif kind in ("image_url", "image", "input_image"):
        yield (role, "image", IMAGE_WEIGHT)
    elif kind in ("input_audio", "audio"):
        yield (role, "audio", AUDIO_WEIGHT)
    elif kind in ("file", "document", "input_file"):
        yield (role, "file", FILE_WEIGHT)
    elif kind == "tool_result":  # Anthropic-style tool results inside a user message
        yield ("tool", "tool_result", _as_text(part.get("content")))
    elif kind == "tool_use":
        yield (role, "tool_call", _as_text(part.get("input")))


def split_prompt(messages: Any, tools: Any = None) -> list[Piece]:
    """Pieces in prompt order: tool definitions first (where providers put them, and where
    a prompt cache starts), then each message's parts."""
    pieces: list[Piece] = []
    if isinstance(tools, list) and tools:
        pieces.append(("system", "tool_definitions", _as_text(tools)))
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        role = role if role in ("system", "developer", "user", "assistant", "tool") else "user"
        role = "system" if role == "developer" else role
        content = message.get("content")
        if role == "tool":
            pieces.append(
                (
                    "tool",
                    "tool_result",
                    content if isinstance(content, str) else _as_text(content),
                )
            )
        elif isinstance(content, list):
            for part in content:
                pieces.extend(_part_pieces(role, part))
        elif isinstance(content, str):
            pieces.extend(split_text(role, content))
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                pieces.append((role, "tool_call", str(function.get("arguments") or "")))
    return pieces


def estimate_tokens(text: str) -> int:
    """The cheap fallback under load: about four characters a token."""
    return (len(text) + 3) // 4


@cache
def _encoding() -> Any:
    """LiteLLM's own default encoding (cl100k_base, from the copies LiteLLM ships; nothing is
    downloaded): the very object LiteLLM counts with. A proxy loads it anyway as soon as it
    counts a stream's or an Anthropic call's tokens, so segments then cost no tokenizer
    memory at all (a second encoding would be 40-75 MB resident); the counts only decide
    shares of the provider's own total, so the choice of encoding barely moves them."""
    try:
        from litellm._lazy_imports import get_default_encoding
    except ImportError:  # pragma: no cover - older LiteLLM
        from litellm.litellm_core_utils.default_encoding import encoding

        return encoding
    return get_default_encoding()


def _token_counter() -> Callable[[str], int]:
    """The cheapest exact count the encoding offers: a count, or a buffer of token ids.

    Both leave the GIL while they work and hand back one object; `encode_ordinary` builds a
    Python list of every token id while holding the GIL, which LiteLLM's event loop would
    wait behind."""
    encoding = _encoding()
    count = getattr(encoding, "count", None)  # LiteLLM's native (Rust) encoding
    if callable(count):
        return count
    to_buffer = getattr(getattr(encoding, "_core_bpe", None), "encode_to_tiktoken_buffer", None)
    if to_buffer is not None:
        nothing_special: set[str] = set()
        return lambda text: memoryview(to_buffer(text, nothing_special)).nbytes // 4
    return lambda text: len(encoding.encode_ordinary(text))


_counter: Callable[[str], int] | None = None

# Pieces are counted at most this long, cut at whitespace: bounds the tokenizer's work on
# pathological input (a long run with no spaces) and changes a count by a token per cut.
SLICE_CHARS = 32_000


def exact_tokens(text: str) -> int:
    """Tokens of `text` with LiteLLM's default encoding."""
    global _counter
    if _counter is None:
        _counter = _token_counter()
    count = _counter
    if len(text) <= SLICE_CHARS:
        return count(text)
    total, start = 0, 0
    while start < len(text):
        end = start + SLICE_CHARS
        if end < len(text):
            space = text.rfind(" ", start + SLICE_CHARS // 2, end)
            end = space if space > start else end
        total += count(text[start:end])
        start = end
    return total


def count_segments(pieces: list[Piece], counter: Callable[[str], int]) -> list[Segment]:
    """Token counts per piece, adjacent pieces of the same role and kind merged."""
    merged: list[list[Any]] = []
    for role, kind, body in pieces:
        tokens = body if isinstance(body, int) else counter(body)
        if merged and merged[-1][0] == role and merged[-1][1] == kind:
            merged[-1][2] += tokens
        else:
            merged.append([role, kind, tokens])
    return [(role, kind, tokens) for role, kind, tokens in merged]


def apportion(segments: list[Segment], total: int | None) -> list[Segment]:
    """Scale counts so they sum exactly to `total` (largest-remainder rounding).

    The provider's count is the truth (it adds per-message overhead and counts images its
    own way); our counts only decide each segment's share of it."""
    weight = sum(tokens for _, _, tokens in segments)
    if total is None or total < 0 or not segments:
        return segments
    if weight == 0:
        shares = [total // len(segments)] * len(segments)
        for index in range(total - sum(shares)):
            shares[index] += 1
        return [
            (role, kind, share) for (role, kind, _), share in zip(segments, shares, strict=True)
        ]
    exact = [tokens * total / weight for _, _, tokens in segments]
    floors = [int(value) for value in exact]
    leftover = total - sum(floors)
    by_remainder = sorted(
        range(len(segments)), key=lambda i: (exact[i] - floors[i], -i), reverse=True
    )
    for index in by_remainder[:leftover]:
        floors[index] += 1
    return [(role, kind, share) for (role, kind, _), share in zip(segments, floors, strict=True)]
