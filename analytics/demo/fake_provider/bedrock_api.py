"""Bedrock Converse and ConverseStream (AWS event-stream framing), with cache points.

Bedrock's `inputTokens` excludes `cacheReadInputTokens` and `cacheWriteInputTokens`,
like Anthropic's.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any

from .reply import Context, Reply, json_reply, new_id
from .tokens import CacheUse, answer_text, count_tokens, output_tokens_for, text_of


def _blocks(request: dict[str, Any]) -> list[Any]:
    blocks: list[Any] = list((request.get("toolConfig") or {}).get("tools") or [])
    blocks.extend(request.get("system") or [])
    for message in request.get("messages") or []:
        blocks.extend(
            {"role": message.get("role"), "part": p} for p in message.get("content") or []
        )
    return blocks


def _is_cache_point(block: Any) -> bool:
    part = block.get("part", block) if isinstance(block, dict) else None
    return isinstance(part, dict) and "cachePoint" in part


def converse(ctx: Context, request: dict[str, Any]) -> Reply:
    model = ctx.model or ""
    blocks = _blocks(request)
    counts = [0 if _is_cache_point(b) else count_tokens(text_of(b)) for b in blocks]
    points = [i for i, block in enumerate(blocks) if _is_cache_point(block)]
    use = CacheUse()
    if points:
        use = ctx.cache.explicit((model, blocks[: points[-1]]), sum(counts[: points[-1]]), None)
    config = request.get("inferenceConfig") or {}
    output = output_tokens_for(request, config.get("maxTokens"))
    usage = {
        "inputTokens": sum(counts) - use.read - use.write,
        "outputTokens": output,
        "totalTokens": sum(counts) + output,
        "cacheReadInputTokens": use.read,
        "cacheWriteInputTokens": use.write,
    }
    messages = request.get("messages") or [{}]
    text = f"You said: {text_of(messages[-1])[:120]}. {answer_text(output)}"
    request_id = new_id("")
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": usage,
        "metrics": {"latencyMs": 12},
    }
    ledger = {"id": request_id, "route": "bedrock.converse", "model": model, "usage": usage}
    if ctx.stream:
        return Reply(
            content_type="application/vnd.amazon.eventstream",
            chunks=_event_stream(text, usage),
            ledger=ledger,
        )
    return json_reply(body, ledger)


def _event(event_type: str, payload: dict[str, Any]) -> bytes:
    """One AWS event-stream message: prelude, prelude CRC, headers, payload, message CRC."""
    headers = b""
    for name, value in (
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ):
        encoded = value.encode()
        headers += (
            bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(encoded)) + encoded
        )
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


def _event_stream(text: str, usage: dict[str, Any]) -> Iterator[bytes]:
    yield _event("messageStart", {"role": "assistant"})
    yield _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}})
    yield _event("contentBlockStop", {"contentBlockIndex": 0})
    yield _event("messageStop", {"stopReason": "end_turn"})
    yield _event("metadata", {"usage": usage, "metrics": {"latencyMs": 12}})
