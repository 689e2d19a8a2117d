"""Prompt segments: kinds detected on crafted prompts, exact apportioning, the budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from llmstats.plugin.config import load_settings
from llmstats.plugin.litellm_logger import LLMStatsLogger
from llmstats.plugin.segmenter import MAX_INCOMING, Segmenter
from llmstats.plugin.segments import (
    IMAGE_WEIGHT,
    apportion,
    count_segments,
    estimate_tokens,
    exact_tokens,
    measured_tokens,
    split_prompt,
    split_text,
    text_kind,
)

CODE = "def area(r):\n    import math\n    return math.pi * r * r\n\nclass Circle:\n    pass\n"
MARKDOWN = "# Plan\n\n- first step\n- second step\n\n## Notes\n> quoted\n"
JSON_TEXT = json.dumps({"order": 17, "items": [{"sku": "a", "qty": 2}]})

CRAFTED: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse. Answer in one line."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": f"Review this:\n```python\n{CODE}```\nand this data:"},
            {"type": "text", "text": JSON_TEXT},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
            {"type": "file", "file": {"file_id": "file-1"}},
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"q": 1}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "42 rows"},
    {"role": "user", "content": MARKDOWN},
    {"role": "user", "content": CODE},
]
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


def test_every_kind_is_detected_in_prompt_order() -> None:
    pieces = split_prompt(CRAFTED, TOOLS)
    assert [(role, kind) for role, kind, _ in pieces] == [
        ("system", "tool_definitions"),
        ("system", "text"),
        ("user", "text"),
        ("user", "code"),
        ("user", "text"),
        ("user", "json"),
        ("user", "image"),
        ("user", "audio"),
        ("user", "file"),
        ("assistant", "tool_call"),
        ("tool", "tool_result"),
        ("user", "markdown"),
        ("user", "code"),
    ]
    assert pieces[6][2] == IMAGE_WEIGHT


def test_text_kinds() -> None:
    assert text_kind(JSON_TEXT) == "json"
    assert text_kind(CODE) == "code"
    assert text_kind(MARKDOWN) == "markdown"
    assert text_kind("Please summarise the meeting notes; keep it short.") == "text"
    assert text_kind("{not json") == "text"
    assert text_kind(f"  \n{JSON_TEXT}\n\n") == "json"
    assert text_kind("Totals: 3 rows | 2 columns | done") == "text"  # one table-like line


def test_fenced_blocks_with_only_whitespace_between_are_one_code_piece() -> None:
    first, second, third = "```py\na = 1\n```", "```js\nlet b = `x`\n```", "```\nc\n```"
    text = f"{first}\n\n{second}\nThen some words.\n{third}\n"
    assert list(split_text("user", text)) == [
        ("user", "code", f"{first}\n\n{second}"),
        ("user", "text", "\nThen some words.\n"),
        ("user", "code", third),
    ]
    assert list(split_text("user", "no fence, one `tick` and ``two``")) == [
        ("user", "text", "no fence, one `tick` and ``two``")
    ]


def test_adjacent_pieces_of_one_role_and_kind_are_counted_as_one_text() -> None:
    pieces = [("user", "text", "aaaa"), ("user", "text", "bbbbbbbb"), ("user", "code", "cc")]
    seen: list[str] = []

    def counter(text: str) -> int:
        seen.append(text)
        return estimate_tokens(text)

    assert count_segments(pieces, counter) == [("user", "text", 4), ("user", "code", 1)]
    assert seen == ["aaaa\nbbbbbbbb", "cc"]
    images = [("user", "image", IMAGE_WEIGHT), ("user", "image", IMAGE_WEIGHT)]
    assert count_segments(images, counter) == [("user", "image", 2 * IMAGE_WEIGHT)]


def test_long_texts_are_measured_from_samples_within_a_share_point_of_whole_counts() -> None:
    prose = "The quarterly review covers revenue, churn and the roadmap for the next release. "
    code = "def handler(event):\n    total = sum(x['qty'] for x in event['items'])\n    return total\n"
    data = json.dumps([{"sku": f"sku-{i}", "qty": i, "price": i * 1.5} for i in range(400)])
    pieces = [
        ("system", "text", prose * 300),
        ("user", "code", code * 200),
        ("user", "json", data),
        ("user", "text", "Summarise the above in three bullet points."),
    ]
    whole = apportion(count_segments(pieces, exact_tokens), 100_000)
    sampled = apportion(count_segments(pieces, measured_tokens), 100_000)
    assert all(abs(a[2] - b[2]) <= 1_000 for a, b in zip(whole, sampled, strict=True))
    # As the segmenter counts: the three long texts share one prompt's sample budget.
    import llmstats.plugin.segments as segments

    segments._known.clear()
    shared = apportion(count_segments(pieces), 100_000)
    assert all(abs(a[2] - b[2]) <= 1_000 for a, b in zip(whole, shared, strict=True))
    # A character estimate misses code and JSON by far more: this is what sampling buys.
    guessed = apportion(count_segments(pieces, estimate_tokens), 100_000)
    assert max(abs(a[2] - b[2]) for a, b in zip(whole, guessed, strict=True)) > 3_000
    assert measured_tokens("short text") == exact_tokens("short text")


def test_the_local_tokenizer_counts_offline() -> None:
    assert exact_tokens("hello world") == 2
    assert exact_tokens(CODE) > 10


def test_apportioning_is_exact_with_largest_remainders() -> None:
    segments = [("system", "text", 1), ("user", "text", 1), ("user", "code", 1)]
    assert apportion(segments, 100) == [
        ("system", "text", 34),
        ("user", "text", 33),
        ("user", "code", 33),
    ]
    assert apportion([("user", "text", 0), ("user", "code", 0)], 3) == [
        ("user", "text", 2),
        ("user", "code", 1),
    ]
    assert apportion(segments, None) == segments


@given(
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12),
    total=st.integers(min_value=0, max_value=10**7),
)
def test_apportioned_segments_always_sum_to_the_providers_count(
    weights: list[int], total: int
) -> None:
    segments = [("user", f"k{i}", w) for i, w in enumerate(weights)]
    shares = apportion(segments, total)
    assert sum(tokens for _, _, tokens in shares) == total
    assert all(tokens >= 0 for _, _, tokens in shares)


def counted(segmenter: Segmenter, seq: int = 1) -> list[dict[str, Any]]:
    """The counts lines the segmenter wrote for segment `seq`."""
    path = segmenter.folder / f"{seq:08d}.counts"
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def hand_over(segmenter: Segmenter, event_id: str, messages: Any, tools: Any, total: int | None,
              whole: bool = False, seq: int = 1, offset: int = 0, response: Any = None) -> None:
    """What the spool does under its lock when the callback appends an event's line."""
    payload = {"messages": messages, "model_parameters": {"tools": tools}}
    segmenter.incoming.append((seq, offset, (event_id, payload, total, whole, response)))


def test_segmenter_counts_exactly_within_budget_and_writes_only_counts(tmp_path: Path) -> None:
    segmenter = Segmenter(tmp_path)
    hand_over(segmenter, "e1", CRAFTED, TOOLS, 500, offset=17)
    segmenter.drain()
    (line,) = counted(segmenter)
    assert line["at"] == 17 and line["event_id"] == "e1" and line["segments_estimated"] is False
    assert sum(s["tokens"] for s in line["segments"]) == 500
    assert set(line) == {"at", "event_id", "segments", "segments_estimated"}
    assert all(set(s) == {"role", "kind", "tokens"} for s in line["segments"])
    assert not segmenter.incoming and segmenter.stats.counted == 1
    assert segmenter.stats.tokens_counted > 0


def test_segmenter_waits_only_for_the_segments_asked_for(tmp_path: Path) -> None:
    segmenter = Segmenter(tmp_path)
    hand_over(segmenter, "old", CRAFTED, None, 10, seq=1)
    hand_over(segmenter, "new", CRAFTED, None, 10, seq=2)
    segmenter.drain(through_seq=1)
    assert [c["event_id"] for c in counted(segmenter, 1)] == ["old"]
    assert counted(segmenter, 2) == []
    segmenter.drain()
    assert [c["event_id"] for c in counted(segmenter, 2)] == ["new"]


def test_segmenter_estimates_past_its_cpu_share_and_skips_past_its_backlog(
    tmp_path: Path,
) -> None:
    starved = Segmenter(tmp_path / "a", cpu_share=0.0)
    starved.folder.mkdir()
    hand_over(starved, "e1", CRAFTED, TOOLS, 500)
    starved.drain()
    assert starved.stats.estimated == 1
    assert counted(starved)[0]["segments_estimated"] is True

    small = Segmenter(tmp_path, max_queued_chars=100)
    hand_over(small, "big", [{"role": "user", "content": "x" * 1000}], None, 250)
    hand_over(small, "ok", [{"role": "user", "content": "tiny"}], None, 1)
    small.drain()
    assert small.stats.skipped == 1
    assert [c["event_id"] for c in counted(small)] == ["ok"]


def test_a_full_hand_over_queue_skips_and_counts(isolated_data_dir: Path) -> None:
    logger = LLMStatsLogger(load_settings(flush_seconds=3600))
    writer = logger.writer
    assert writer is not None and writer.segmenter is not None
    writer.segmenter.stop()  # nobody takes prompts off the queue
    for index in range(MAX_INCOMING + 3):
        payload = {
            "litellm_call_id": f"c{index}",
            "startTime": 1_795_000_000.0,
            "call_type": "acompletion",
            "messages": [{"role": "user", "content": "hi"}],
        }
        logger.log_success_event({"standard_logging_object": payload}, {}, None, None)
    assert len(writer.segmenter.incoming) == MAX_INCOMING
    assert writer.segmenter.stats.skipped == 3
    assert writer.stats.spooled == MAX_INCOMING + 3  # the events themselves are all kept


def test_embedding_input_is_one_segment(tmp_path: Path) -> None:
    segmenter = Segmenter(tmp_path)
    hand_over(
        segmenter,
        "e",
        [{"role": "user", "content": "a b"}, {"role": "user", "content": "c"}],
        None,
        7,
        whole=True,
    )
    segmenter.drain(estimate=True)
    assert counted(segmenter)[0]["segments"] == [{"role": "user", "kind": "text", "tokens": 7}]


def test_a_long_text_seen_again_is_not_counted_again(monkeypatch: Any) -> None:
    import llmstats.plugin.segments as segments

    system = "You are a support assistant for an online bookshop. " * 100
    calls: list[int] = []
    measured_tokens(system + " warm")
    counter = segments._counter
    assert counter is not None
    monkeypatch.setattr(segments, "_counter", lambda text: calls.append(len(text)) or counter(text))
    first = measured_tokens(system)
    assert measured_tokens(system[:-1] + ".") != 0
    assert measured_tokens(system) == first
    assert len(calls) == 2  # the text, and the one-character different text



@given(st.text(alphabet="`\na ", max_size=60))
def test_fenced_blocks_are_found_where_the_fence_pattern_finds_them(text: str) -> None:
    import re

    from llmstats.plugin.segments import _fences

    pattern = re.compile(r"```[^\n]*\n.*?(?:```|\Z)", re.DOTALL)
    assert list(_fences(text)) == [match.span() for match in pattern.finditer(text)]


def tokenizer_calls(monkeypatch: Any) -> list[int]:
    """The length of each text the batched tokenizer call is handed from now on."""
    import llmstats.plugin.segments as segments

    calls: list[int] = []
    to_buffer = segments._buffer_encoder()
    assert to_buffer is not None  # the bundled tiktoken encoding
    monkeypatch.setattr(
        segments,
        "_buffer_encoder",
        lambda: lambda text, special: calls.append(len(text)) or to_buffer(text, special),
    )
    return calls


def test_one_tokenizer_call_counts_every_text_as_if_alone(monkeypatch: Any) -> None:
    import llmstats.plugin.segments as segments

    prose = "The quarterly review covers revenue, churn and the roadmap. "
    texts = [
        "short text",
        "",
        CODE * 20,  # whole (under WHOLE_CHARS, over KNOWN_MIN_CHARS)
        prose * 400,  # sampled (the prompt's only long text: the whole budget, as alone)
        JSON_TEXT * 30,  # whole
        "ends in a space ",
    ]
    alone = []
    for text in texts:
        segments._known.clear()
        alone.append(measured_tokens(text))
    segments._known.clear()
    calls = tokenizer_calls(monkeypatch)
    assert segments.count_texts(texts) == alone
    assert len(calls) == 1
    # A text holding the separator itself is counted as ordinary text, text by text.
    segments._known.clear()
    tricky = [f"a {segments.SEPARATOR} b", "c d"]
    assert segments.count_texts(tricky) == [exact_tokens(tricky[0]), exact_tokens("c d")]


def test_the_long_texts_of_one_prompt_share_one_sample_budget(monkeypatch: Any) -> None:
    import llmstats.plugin.segments as segments

    prose = "The quarterly review covers revenue, churn and the roadmap. "
    texts = [prose * 300, prose * 100, "a question"]  # 18,000 and 6,000 characters
    segments._known.clear()
    sampled: list[int] = []
    samples = segments._samples
    monkeypatch.setattr(
        segments, "_samples", lambda text, chars: sampled.append(chars) or samples(text, chars)
    )
    counts = segments.count_texts(texts)
    assert sampled == [segments.WHOLE_CHARS * 3 // 4, segments.WHOLE_CHARS // 4]
    assert counts[2] == exact_tokens("a question")
    for text, count in zip(texts[:2], counts, strict=False):
        assert abs(count - exact_tokens(text)) <= exact_tokens(text) * 3 // 100  # within 3 %


def test_the_prompts_waiting_are_counted_in_one_call_as_if_they_came_one_by_one(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import llmstats.plugin.segments as segments

    prose = "The quarterly review covers revenue, churn and the roadmap. "
    system = {"role": "system", "content": "You answer questions about orders. " * 60}
    prompts = [
        [system, {"role": "user", "content": prose * 200}],
        [system, {"role": "user", "content": f"{prose}\n```python\n{CODE}```\n{JSON_TEXT}"}],
        CRAFTED,
        [system, {"role": "user", "content": "Where is order 17?"}],
    ]
    alone = Segmenter(tmp_path / "alone")
    alone.folder.mkdir()
    segments._known.clear()
    for index, messages in enumerate(prompts):
        hand_over(alone, f"e{index}", messages, TOOLS, 1_000 + index, offset=index)
        alone.drain()
    segments._known.clear()
    calls = tokenizer_calls(monkeypatch)
    together = Segmenter(tmp_path)
    for index, messages in enumerate(prompts):
        hand_over(together, f"e{index}", messages, TOOLS, 1_000 + index, offset=index)
    unreadable = [{"role": "assistant", "content": "x", "tool_calls": 5}]
    hand_over(together, "unreadable", unreadable, None, 5, offset=9)
    together.drain()
    assert len(calls) == 1
    assert counted(together)[:4] == counted(alone)
    # The shared system prompt went to the tokenizer once, not once a prompt.
    assert sum(calls) < sum(len(m["content"]) for m in prompts[0]) + 2_000 * 4
    assert together.stats.counted == 4 and together.stats.skipped == 1  # the others are kept


PASTED_JSON = 'The payload was:\n{\n  "order": 17,\n  "items": [{"sku": "a", "qty": 2}]\n}\n\nThanks'
PASTED_CODE = "My function fails:\ndef area(r):\n    import math\n    return math.pi * r * r\n\nWhy?"


def test_json_or_code_pasted_into_prose_without_a_fence_is_its_own_piece() -> None:
    assert list(split_text("user", PASTED_JSON)) == [
        ("user", "text", "The payload was:\n"),
        ("user", "json", '{\n  "order": 17,\n  "items": [{"sku": "a", "qty": 2}]\n}\n'),
        ("user", "text", "\nThanks"),
    ]
    assert [(kind, text) for _, kind, text in split_text("user", PASTED_CODE)] == [
        ("text", "My function fails:\n"),
        ("code", "def area(r):\n    import math\n    return math.pi * r * r\n"),
        ("text", "\nWhy?"),
    ]
    # Whole texts keep their one kind; prose with brackets or a stray code-like line stays text.
    assert [k for _, k, _ in split_text("user", CODE)] == ["code"]
    assert [k for _, k, _ in split_text("user", MARKDOWN)] == ["markdown"]
    for prose in ("See [1] and [2].\nAlso {this} is prose.\nThanks.",
                  "Please compute f(x) for me.\nAnd g(y) too.\nreturn it soon."):
        assert [k for _, k, _ in split_text("user", prose)] == ["text"]


@given(
    parts=st.lists(
        st.sampled_from(["Some words here.\n", PASTED_JSON + "\n", CODE, "\n", "x = 1\n",
                         "[not json\n", "{\n", "}\n", MARKDOWN, "```\nfenced\n```\n"]),
        max_size=8,
    )
)
def test_the_pieces_of_a_text_are_the_text_cut_at_line_ends(parts: list[str]) -> None:
    """Nothing is counted twice or left out: the pieces put back together are the text
    (whitespace-only stretches between pieces aside, as before)."""
    text = "".join(parts)
    pieces = [piece for _, _, piece in split_text("user", text)]
    assert " ".join(pieces).split() == text.split()
    position = 0
    for piece in pieces:
        found = text.find(piece, position)
        assert found == position or (found > position and text[position:found].isspace())
        position = found + len(piece)


def test_pasted_json_and_code_reach_the_row_and_the_segments_sum_to_input_tokens(
    isolated_data_dir: Path,
) -> None:
    """Through the real path: the callback, the segmenter thread, the converter, Parquet."""
    import pyarrow.dataset as ds

    logger = LLMStatsLogger(load_settings())
    messages = [{"role": "user", "content": PASTED_JSON}, {"role": "user", "content": PASTED_CODE}]
    payload = {
        "litellm_call_id": "pasted", "startTime": 1_795_000_000.0, "endTime": 1_795_000_001.0,
        "call_type": "acompletion", "messages": messages, "prompt_tokens": 321,
        "metadata": {"usage_object": {"prompt_tokens": 321}}, "hidden_params": {},
    }  # fmt: skip
    logger.log_success_event({"standard_logging_object": payload}, None, None, None)
    assert logger.flush()
    (row,) = ds.dataset(isolated_data_dir / "events", partitioning="hive").to_table().to_pylist()
    kinds = [(s["role"], s["kind"]) for s in row["segments"]]
    assert kinds == [("user", "text"), ("user", "json"), ("user", "text"), ("user", "code"),
                     ("user", "text")]  # fmt: skip
    assert sum(s["tokens"] for s in row["segments"]) == row["input_tokens"] == 321
