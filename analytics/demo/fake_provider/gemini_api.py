"""Gemini generateContent / streamGenerateContent (SSE), with implicit caching and thoughts.

Gemini's `promptTokenCount` includes cached tokens (`cachedContentTokenCount`), and
thinking tokens (`thoughtsTokenCount`) are billed as output but not counted in
`candidatesTokenCount`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .reply import Context, Reply, json_reply, new_id, sse
from .tokens import answer_text, count_tokens, output_tokens_for, text_of


def generate(ctx: Context, request: dict[str, Any]) -> Reply:
    model = ctx.model or ""
    contents = request.get("contents") or []
    system = request.get("systemInstruction") or request.get("system_instruction") or {}
    tools = request.get("tools") or []
    prompt = (
        count_tokens(text_of(contents))
        + count_tokens(text_of(system))
        + count_tokens(text_of(tools))
    )
    prefix_tokens = count_tokens(text_of(system)) + count_tokens(text_of(tools))
    cached = ctx.cache.implicit((model, system, tools), prefix_tokens, prompt)
    config = request.get("generationConfig") or {}
    output = output_tokens_for(request, config.get("maxOutputTokens"))
    thoughts = output // 2 if "2.5" in model or "thinking" in model else 0
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output - thoughts,
        "totalTokenCount": prompt + output,
    }
    if cached:
        usage["cachedContentTokenCount"] = cached
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    last_user = text_of(contents[-1]) if contents else ""
    text = f"You said: {last_user[:120]}. {answer_text(output - thoughts)}"
    response_id = new_id("")
    body = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": response_id,
    }
    ledger = {"id": response_id, "route": "gemini.generate", "model": model, "usage": usage}
    if ctx.stream:
        return Reply(content_type="text/event-stream", chunks=_chunks(body, text), ledger=ledger)
    return json_reply(body, ledger)


def _chunks(body: dict[str, Any], text: str) -> Iterator[bytes]:
    half = max(1, len(text) // 2)
    first = {
        **body,
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text[:half]}]}, "index": 0}
        ],
    }
    first.pop("usageMetadata")
    yield sse(first)
    last = {
        **body,
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text[half:]}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
    }
    yield sse(last)
