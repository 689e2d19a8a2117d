"""Prompt segments: kinds detected on crafted prompts, exact apportioning, the budget."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from llmstats.plugin.segmenter import Segmenter
from llmstats.plugin.segments import (
    IMAGE_WEIGHT,
    apportion,
    count_segments,
    estimate_tokens,
    exact_tokens,
    split_prompt,
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


def test_adjacent_pieces_of_one_role_and_kind_merge() -> None:
    pieces = [("user", "text", "aaaa"), ("user", "text", "bbbbbbbb"), ("user", "code", "cc")]
    assert count_segments(pieces, estimate_tokens) == [("user", "text", 3), ("user", "code", 1)]


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


def test_segmenter_counts_exactly_within_budget_and_forgets_after_take() -> None:
    segmenter = Segmenter()
    segmenter.offer("e1", CRAFTED, TOOLS, 500)
    segmenter.drain(estimate=False)
    ((segments, estimated),) = segmenter.take(["e1"])  # type: ignore[misc]
    assert not estimated and sum(t for _, _, t in segments) == 500
    assert segmenter.take(["e1"]) == [None]
    assert segmenter.stats.counted == 1 and segmenter.stats.tokens_counted > 0


def test_segmenter_estimates_past_its_cpu_share_and_skips_past_its_backlog() -> None:
    starved = Segmenter(cpu_share=0.0)
    starved.offer("e1", CRAFTED, TOOLS, 500)
    starved.drain(estimate=False)
    assert starved.stats.estimated == 1
    ((_, estimated),) = starved.take(["e1"])  # type: ignore[misc]
    assert estimated is True

    small = Segmenter(max_queued_chars=100)
    small.offer("big", [{"role": "user", "content": "x" * 1000}], None, 250)
    small.offer("ok", [{"role": "user", "content": "tiny"}], None, 1)
    assert small.stats.skipped == 1
    assert small.take(["big", "ok"])[0] is None


def test_embedding_input_is_one_segment() -> None:
    segmenter = Segmenter()
    segmenter.offer(
        "e",
        [{"role": "user", "content": "a b"}, {"role": "user", "content": "c"}],
        None,
        7,
        whole=True,
    )
    assert segmenter.take(["e"]) == [([("user", "text", 7)], True)]
