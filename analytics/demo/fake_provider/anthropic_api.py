"""Anthropic Messages wire format, with explicit prompt caching (cache_control).

Anthropic's `input_tokens` excludes cache reads and writes; that is the shape LiteLLM
normalises and the one most often double-counted downstream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .reply import Context, Reply, json_reply, new_id, sse
from .tokens import CacheUse, answer_text, count_tokens, last_user_text, output_tokens_for, text_of


def prompt_blocks(request: dict[str, Any]) -> list[Any]:
    """The prompt in cache order (tools, system, messages), one entry per block."""
    blocks: list[Any] = list(request.get("tools") or [])
    system = request.get("system")
    blocks.extend(system if isinstance(system, list) else [system] if system else [])
    for message in request.get("messages") or []:
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        blocks.extend({"role": message.get("role"), "part": part} for part in parts)
    return blocks


def _cache_marker(block: Any) -> dict[str, Any] | None:
    if isinstance(block, dict):
        part = block.get("part", block)
        if isinstance(part, dict) and isinstance(part.get("cache_control"), dict):
            return part["cache_control"]
    return None


def cache_use(ctx: Context, model: str, blocks: list[Any], counts: list[int]) -> CacheUse:
    marked = [i for i, block in enumerate(blocks) if _cache_marker(block) is not None]
    if not marked:
        return CacheUse()
    last = marked[-1]
    marker = _cache_marker(blocks[last]) or {}
    return ctx.cache.explicit(
        (model, blocks[: last + 1]), sum(counts[: last + 1]), marker.get("ttl")
    )


def messages(ctx: Context, request: dict[str, Any]) -> Reply:
    model = str(request.get("model") or "")
    blocks = prompt_blocks(request)
    counts = [count_tokens(text_of(block)) for block in blocks]
    use = cache_use(ctx, model, blocks, counts)
    output = output_tokens_for(request, request.get("max_tokens"))
    usage = {
        "input_tokens": sum(counts) - use.read - use.write,
        "output_tokens": output,
        "cache_creation_input_tokens": use.write,
        "cache_read_input_tokens": use.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": use.write - use.write_1h,
            "ephemeral_1h_input_tokens": use.write_1h,
        },
    }
    tools = request.get("tools") or []
    question = last_user_text(request.get("messages"))
    last = (request.get("messages") or [{}])[-1]
    content: list[dict[str, Any]]
    if tools and last.get("role") == "user":
        content = [
            {
                "type": "tool_use",
                "id": new_id("toolu_"),
                "name": str(tools[0].get("name") or "tool"),
                "input": {"echo": question[:200]},
            }
        ]
        stop = "tool_use"
    else:
        text = f"You said: {question[:120]}. {answer_text(output)}"
        content = [{"type": "text", "text": text}]
        stop = "end_turn"
    message_id = new_id("msg_")
    body = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
    }
    ledger = {"id": message_id, "route": "anthropic.messages", "model": model, "usage": usage}
    if ctx.stream:
        return Reply(content_type="text/event-stream", chunks=_events(body), ledger=ledger)
    return json_reply(body, ledger)


def _events(body: dict[str, Any]) -> Iterator[bytes]:
    usage = body["usage"]
    start_usage = {**usage, "output_tokens": 1}
    start = {**body, "content": [], "stop_reason": None, "usage": start_usage}
    yield sse({"type": "message_start", "message": start}, "message_start")
    for index, block in enumerate(body["content"]):
        if block["type"] == "text":
            yield sse(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
                "content_block_start",
            )
            yield sse(
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": block["text"]},
                },
                "content_block_delta",
            )
        else:
            yield sse(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {**block, "input": {}},
                },
                "content_block_start",
            )
            yield sse(
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {
                        "type": "input_json_delta",
                        "partial_json": json.dumps(block["input"]),
                    },
                },
                "content_block_delta",
            )
        yield sse({"type": "content_block_stop", "index": index}, "content_block_stop")
    yield sse(
        {
            "type": "message_delta",
            "delta": {"stop_reason": body["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        },
        "message_delta",
    )
    yield sse({"type": "message_stop"}, "message_stop")
