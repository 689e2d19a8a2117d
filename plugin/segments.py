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
from array import array
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

_MARKDOWN = re.compile(r"(#{1,6} |\s*[-*+] |\s*\d+\. |\|.*\||> )")  # at a line's start
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
    # The ends are looked at without stripping a copy of the whole text; json.loads takes
    # surrounding whitespace as it is.
    head, tail = text[:64].lstrip()[:1], text[-64:].rstrip()[-1:]
    if not head or head not in "[{" or tail not in "]}":
        return False
    if len(text) > JSON_PARSE_LIMIT:
        return True  # bracketed at both ends and too long to parse cheaply
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _looks_like_code(lines: list[str]) -> bool:
    if len(lines) < 3:
        return False
    return sum(1 for line in lines if _CODE_LINE.match(line)) >= 0.4 * len(lines)


def text_kind(text: str) -> str:
    if _looks_like_json(text):
        return "json"
    # Line by line, anchored: a MULTILINE search would try every position of the sample.
    lines = [line for line in text[:SAMPLE_CHARS].splitlines() if line.strip()]
    if _looks_like_code(lines):
        return "code"
    if sum(1 for line in lines if _MARKDOWN.match(line)) >= 2:
        return "markdown"
    return "text"


def _fences(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each fenced code block: an opening ``` line, up to the next ``` or
    the end of the text (the matches of r"```[^\\n]*\\n.*?(?:```|\\Z)", DOTALL). By
    str.find, not that regex: its lazy `.*?` steps through the text one character at a
    time, holding the GIL, several times slower on a long prompt."""
    position = 0
    while (start := _find_fence(text, position)) >= 0:
        newline = text.find("\n", start + 3)
        if newline < 0:
            return  # no line after any later ``` either
        close = _find_fence(text, newline + 1)
        end = len(text) if close < 0 else close + 3
        yield start, end
        position = end


def _find_fence(text: str, position: int) -> int:
    """text.find("```", position), by way of single backticks: CPython finds one character
    with memchr, many times faster than three through a long text without any."""
    while (tick := text.find("`", position)) >= 0:
        if text.startswith("```", tick):
            return tick
        position = tick + 1
    return -1


# Unfenced JSON or code inside prose is looked for in texts up to this long (a line scan
# holds the GIL); a longer one is classified as a whole, from its sample, as before.
EMBEDDED_SCAN_CHARS = 16_000
MIN_CODE_RUN_LINES = 3
MAX_JSON_TRIES = 32  # json.loads attempts per candidate start, at most


def _json_run(lines: list[str], start: int) -> int:
    """The end (exclusive) of the shortest run of lines from `start` that parses as a JSON
    object or array, or -1. Candidates end on a line ending in } or ]."""
    tries = 0
    size = 0
    for end in range(start, len(lines)):
        size += len(lines[end])
        if size > JSON_PARSE_LIMIT:
            return -1
        if lines[end].rstrip()[-1:] not in ("}", "]"):
            continue
        tries += 1
        if tries > MAX_JSON_TRIES:
            return -1
        try:
            value = json.loads("".join(lines[start : end + 1]))
        except ValueError:
            continue
        return end + 1 if isinstance(value, dict | list) else -1
    return -1


_COMMENT_STARTS = ("#", "//", "/*", "*", "--", "@")
_CODE_PUNCTUATION = re.compile(r"[=(){}\[\];]")


def _code_member(line: str) -> bool:
    """Whether a line can belong to a run of code: code-like (`_CODE_LINE`), indented, a
    comment or decorator, or a line with code punctuation that does not end a sentence."""
    if line[:1] in (" ", "\t") or _CODE_LINE.match(line):
        return True
    stripped = line.strip()
    if stripped.startswith(_COMMENT_STARTS):
        return True
    return stripped[-1:] not in (".", "?", "!", ",") and bool(_CODE_PUNCTUATION.search(stripped))


def _code_run(lines: list[str], start: int) -> tuple[int, bool]:
    """(end, reads as code) of the run of member lines from `start` (blank lines between
    members belong to it): code when it has MIN_CODE_RUN_LINES lines or more, 40 % of them
    code-like, as `_looks_like_code` reads a whole text."""
    members = code_like = 0
    end = start
    for index in range(start, len(lines)):
        line = lines[index]
        if not line.strip():
            continue  # belongs to the run only if a member follows
        if not _code_member(line):
            break
        members += 1
        code_like += _CODE_LINE.match(line) is not None
        end = index + 1
    return end, members >= MIN_CODE_RUN_LINES and code_like >= 0.4 * members


def _embedded_pieces(role: str, text: str) -> Iterator[Piece]:
    """An unfenced text: a run of lines that parses as JSON, or that reads as code, is a
    piece of that kind ("The payload was:\n{...}\n\nThanks"); the prose around it is
    classified on its own. The pieces are the text cut at line ends, nothing left out."""
    kind = text_kind(text)
    if kind == "json" or len(text) > EMBEDDED_SCAN_CHARS or "\n" not in text:
        yield (role, kind, text)
        return
    lines = text.splitlines(keepends=True)
    cuts: list[tuple[int, int, str]] = []  # (first line, end line, kind) of each run
    index = 0
    while index < len(lines):  # each line is looked at a bounded number of times
        line = lines[index]
        end = _json_run(lines, index) if line.lstrip()[:1] in ("{", "[") else -1
        if end > index:
            cuts.append((index, end, "json"))
            index = end
        elif line.strip() and _code_member(line):
            end, is_code = _code_run(lines, index)
            if is_code:
                cuts.append((index, end, "code"))
            index = max(end, index + 1)
        else:
            index += 1
    if not cuts or (len(cuts) == 1 and cuts[0][:2] == (0, len(lines))):
        yield (role, kind, text)
        return
    if not cuts:
        yield (role, kind, text)
        return
    position = 0
    for first, end, found in cuts:
        prose = "".join(lines[position:first])
        if prose and not prose.isspace():
            yield (role, text_kind(prose), prose)
        yield (role, found, "".join(lines[first:end]))
        position = end
    rest = "".join(lines[position:])
    if rest and not rest.isspace():
        yield (role, text_kind(rest), rest)


def split_text(role: str, text: str) -> Iterator[Piece]:
    """Fenced code blocks are code (blocks with only whitespace between them one piece);
    what lies between them is cut into its unfenced JSON, code and prose."""
    position = 0
    code_from = -1  # where the run of fenced blocks that ends at `position` starts
    for start, end in _fences(text):
        before = text[position:start]
        if before and not before.isspace():
            if code_from >= 0:
                yield (role, "code", text[code_from:position])
            yield from _embedded_pieces(role, before)
            code_from = start
        elif code_from < 0:
            code_from = start
        position = end
    if code_from >= 0:
        yield (role, "code", text[code_from:position])
    rest = text[position:] if position else text
    if rest and not rest.isspace():
        yield from _embedded_pieces(role, rest)


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
    to_buffer = _buffer_encoder()
    if to_buffer is not None:
        nothing_special: set[str] = set()
        return lambda text: memoryview(to_buffer(text, nothing_special)).nbytes // 4
    return lambda text: len(encoding.encode_ordinary(text))


def _buffer_encoder() -> Callable[[str, set[str]], Any] | None:
    """tiktoken's `encode_to_tiktoken_buffer` (token ids as packed uint32), if there."""
    encoding = _encoding()
    if callable(getattr(encoding, "count", None)):
        return None  # LiteLLM's native encoding counts without ids: no batching there
    return getattr(getattr(encoding, "_core_bpe", None), "encode_to_tiktoken_buffer", None)


_counter: Callable[[str], int] | None = None

# Texts up to this long are counted whole; longer ones from up to SAMPLES evenly spaced
# windows that add up to this many characters, scaled by length (LiteLLM's own token
# counter does the same beyond 4 M characters). A prompt with several long texts (a pasted
# document, code, data) shares one such budget among them, by length, each getting at
# least MIN_SAMPLE_CHARS: a prompt costs the tokenizer about what one long text does. The
# counts only decide shares of the provider's total: on the benchmarks' prompts, shares
# moved by at most 0.3 percentage points against whole counts (a character estimate moves
# them by 21), for a fifteenth of the tokenizer's work on a 20,000-token prompt
# (benchmarks/bench_segments.py, RESULTS.md).
WHOLE_CHARS = 2_000
SAMPLES = 8
MIN_SAMPLE_CHARS = 400
# System prompts and tool definitions come back on nearly every call: their counts are
# kept, by length and hash of the text (never the text), for texts this long or longer.
KNOWN_MIN_CHARS = 1_000
KNOWN_LIMIT = 4_096
_known: dict[tuple[int, int], int] = {}
# Between the texts of one batch (see count_prompts): a special token, which the tokenizer
# never merges with its neighbours, so each text's tokens are exactly its own.
SEPARATOR = "<|endoftext|>"


def exact_tokens(text: str) -> int:
    """Tokens of the whole `text` with LiteLLM's default encoding."""
    global _counter
    if _counter is None:
        _counter = _token_counter()
    return _counter(text)


def measured_tokens(text: str) -> int:
    """Tokens of `text`: counted whole up to WHOLE_CHARS, from samples beyond; a long text
    seen lately is not counted again."""
    return count_texts([text])[0]


def count_texts(texts: list[str]) -> list[int]:
    """measured_tokens of each text, with one tokenizer call for all that need counting."""
    return count_prompts([texts])[0]


def count_prompts(prompts: list[list[str]]) -> list[list[int]]:
    """count_texts of each prompt's texts, with one tokenizer call for every prompt.

    Why one call: each call leaves the GIL and must take it back, and while LiteLLM's event
    loop is busy that waits up to the switch interval (5 ms) and makes the loop hand the
    GIL over: in a loaded proxy the segmenter waited for the GIL longer than it counted
    (py-spy samples, benchmarks/profile_proxy.py). So the segmenter counts the prompts
    that came in since it last looked together. Each prompt keeps its own sample budget,
    and a long text that comes twice in one call (the system prompt of several requests)
    is counted once."""
    counts = [[0] * len(texts) for texts in prompts]
    parts: list[str] = []
    # Per part: its text's length, its known key, and where its count goes.
    owners: list[tuple[int, tuple[int, int] | None, list[tuple[int, int]]]] = []
    pending: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for prompt, texts in enumerate(prompts):
        todo: list[tuple[int, int, tuple[int, int] | None]] = []  # (index, length, key)
        for index, text in enumerate(texts):
            key = None
            if len(text) >= KNOWN_MIN_CHARS:
                key = (len(text), hash(text))
                known = _known.get(key)
                if known is not None:
                    counts[prompt][index] = known
                    continue
                if key in pending:
                    pending[key].append((prompt, index))
                    continue
            todo.append((index, len(text), key))
        long_chars = sum(length for _, length, _ in todo if length > WHOLE_CHARS)
        for index, length, key in todo:
            text = texts[index]
            if length > WHOLE_CHARS:
                text = _samples(text, max(MIN_SAMPLE_CHARS, WHOLE_CHARS * length // long_chars))
            parts.append(text)
            targets = [(prompt, index)]
            owners.append((length, key, targets))
            if key is not None:
                pending[key] = targets
    for (length, key, targets), part, tokens in zip(owners, parts, _count_parts(parts), strict=True):
        # A sample stands for its whole text by length (a whole text: scaled by 1).
        count = round(tokens * length / len(part)) if part else tokens
        for prompt, index in targets:
            counts[prompt][index] = count
        if key is not None:
            if len(_known) >= KNOWN_LIMIT:
                _known.clear()
            _known[key] = count
    return counts


def _count_parts(parts: list[str]) -> list[int]:
    """Exact tokens of each part: one tokenizer call over the parts joined by SEPARATOR,
    split again where the separator's token id falls (tiktoken's buffer encoder only). A
    part holding the separator's text itself is counted alone, as ordinary text."""
    to_buffer = _buffer_encoder() if len(parts) > 1 else None
    if to_buffer is None:
        return [exact_tokens(part) for part in parts]
    counts = [-1] * len(parts)
    clean = []
    for index, part in enumerate(parts):
        if SEPARATOR in part:
            counts[index] = exact_tokens(part)
        else:
            clean.append(index)
    # The ids are packed uint32s: the separator is found by bytes.find (C speed), at a
    # position that is a whole id (a match across two ids is skipped).
    if not clean:
        return counts
    separator = array("I", [_encoding().eot_token]).tobytes()
    packed = bytes(memoryview(to_buffer(SEPARATOR.join(parts[i] for i in clean), {SEPARATOR})))
    start = 0
    for index in clean[:-1]:
        end = packed.find(separator, start)
        while end % 4:
            end = packed.find(separator, end + 1)
        counts[index] = (end - start) // 4
        start = end + 4
    counts[clean[-1]] = (len(packed) - start) // 4
    return counts


def _samples(text: str, chars: int = WHOLE_CHARS) -> str:
    """Up to SAMPLES evenly spaced windows of `text`, about `chars` characters in all,
    joined; windows of at least 125 characters (each window's two cut ends count a token
    or so too many, which in smaller windows starts to show)."""
    windows = max(2, min(SAMPLES, chars // 125))
    size = chars // windows
    last = len(text) - size
    samples = []
    for index in range(windows):
        start = last * index // (windows - 1)
        end = start + size
        # Widened to whole words: a word cut in two counts as two tokens or more.
        space = text.find(" ", start, start + 64)
        start = space + 1 if space >= 0 else start
        space = text.find(" ", end, end + 64)
        end = space if space >= 0 else end
        samples.append(text[start:end])
    return " ".join(samples)


Merged = tuple[str, str, int, bool]
"""(role, kind, media weight, whether the segment has text to count)"""


def merge_pieces(pieces: list[Piece]) -> tuple[list[Merged], list[str]]:
    """Adjacent pieces of the same role and kind are one segment: the segments, and the
    text of each segment that has any (its pieces' texts joined), in order."""
    merged: list[tuple[str, str, list[str], int]] = []
    for role, kind, body in pieces:
        if not merged or merged[-1][0] != role or merged[-1][1] != kind:
            merged.append((role, kind, [], 0))
        texts = merged[-1][2]
        if isinstance(body, int):
            merged[-1] = (role, kind, texts, merged[-1][3] + body)
        else:
            texts.append(body)
    segments = [(role, kind, weight, bool(texts)) for role, kind, texts, weight in merged]
    return segments, ["\n".join(texts) for _, _, texts, _ in merged if texts]


def with_counts(merged: list[Merged], counts: list[int]) -> list[Segment]:
    """The segments' token counts: media weights plus their texts' counts, in order."""
    counted = iter(counts)
    return [
        (role, kind, weight + (next(counted) if has_text else 0))
        for role, kind, weight, has_text in merged
    ]


def count_segments(
    pieces: list[Piece], counter: Callable[[str], int] | None = None
) -> list[Segment]:
    """Token counts of the segments (merge_pieces). With no `counter`, every segment's text
    is measured (measured_tokens) in one tokenizer call (count_texts)."""
    merged, texts = merge_pieces(pieces)
    return with_counts(merged, count_texts(texts) if counter is None else [counter(t) for t in texts])


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
