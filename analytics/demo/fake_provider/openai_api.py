"""OpenAI wire format: chat completions (plain, SSE with a usage chunk, tool calls),
embeddings, images, audio, moderations and the Responses API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from .reply import Context, Reply, json_reply, new_id, sse
from .tokens import answer_text, count_tokens, last_user_text, output_tokens_for, text_of

REASONING_MARKERS = ("o1", "o3", "o4", "gpt-5", "reasoning")


def _reasoning_share(model: str, output: int) -> int:
    return output // 2 if any(m in model for m in REASONING_MARKERS) else 0


def _wants_tool_call(request: dict[str, Any], messages: list[Any]) -> bool:
    tools = request.get("tools") or []
    last = messages[-1] if messages else {}
    return bool(tools) and request.get("tool_choice") != "none" and last.get("role") == "user"


def _tool_name(tool: dict[str, Any]) -> str:
    return str((tool.get("function") or tool).get("name") or "tool")


def chat(ctx: Context, request: dict[str, Any]) -> Reply:
    model = str(request.get("model") or "")
    messages = request.get("messages") or []
    tools = request.get("tools") or []
    prompt = count_tokens(text_of(messages)) + count_tokens(text_of(tools))
    system = [m for m in messages if m.get("role") in ("system", "developer")]
    prefix_tokens = count_tokens(text_of(system)) + count_tokens(text_of(tools))
    cached = ctx.cache.implicit((model, system, tools), prefix_tokens, prompt)
    output = output_tokens_for(
        request, request.get("max_completion_tokens") or request.get("max_tokens")
    )
    reasoning = _reasoning_share(model, output)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
    }
    # The answer quotes the question: privacy tests then find their canaries in responses too.
    content = f"You said: {last_user_text(messages)[:120]}. {answer_text(output)}"
    tool_calls = None
    if _wants_tool_call(request, messages):
        arguments = json.dumps({"echo": last_user_text(messages)[:200]})
        tool_calls = [
            {
                "id": new_id("call_"),
                "type": "function",
                "function": {"name": _tool_name(tools[0]), "arguments": arguments},
            }
        ]
    response_id = new_id("chatcmpl-")
    ledger: dict[str, Any] = {
        "id": response_id,
        "route": "openai.chat",
        "model": model,
        "usage": usage,
    }
    if ctx.stream:
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        ledger["stream_usage"] = include_usage
        chunks = _chat_chunks(
            response_id, model, content, tool_calls, usage if include_usage else None
        )
        return Reply(content_type="text/event-stream", chunks=chunks, ledger=ledger)
    message: dict[str, Any] = {"role": "assistant", "content": None if tool_calls else content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    body = {
        "id": response_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
        "usage": usage,
    }
    return json_reply(body, ledger)


def _chat_chunks(
    response_id: str,
    model: str,
    content: str,
    tool_calls: list[dict[str, Any]] | None,
    usage: dict[str, Any] | None,
) -> Iterator[bytes]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse(
            {
                "id": response_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    if tool_calls:
        call = tool_calls[0]
        yield chunk({"tool_calls": [{"index": 0, **call}]})
        yield chunk({}, "tool_calls")
    else:
        third = max(1, len(content) // 3)
        for start in range(0, len(content), third):
            yield chunk({"content": content[start : start + third]})
        yield chunk({}, "stop")
    if usage is not None:
        yield sse(
            {
                "id": response_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
        )
    yield b"data: [DONE]\n\n"


def embeddings(ctx: Context, request: dict[str, Any]) -> Reply:
    raw = request.get("input")
    inputs = raw if isinstance(raw, list) else [raw]
    prompt = sum(count_tokens(text_of(item)) for item in inputs)
    usage = {"prompt_tokens": prompt, "total_tokens": prompt}
    model = str(request.get("model") or "")
    body = {
        "object": "list",
        "model": model,
        "data": [
            {"object": "embedding", "index": i, "embedding": [0.01 * (i + 1)] * 8}
            for i in range(len(inputs))
        ],
        "usage": usage,
    }
    return json_reply(body, {"route": "openai.embeddings", "model": model, "usage": usage})


def images(ctx: Context, request: dict[str, Any]) -> Reply:
    count = int(request.get("n") or 1)
    model = str(request.get("model") or "")
    body = {
        "created": int(time.time()),
        "data": [{"url": f"http://127.0.0.1/fake-image-{i}.png"} for i in range(count)],
    }
    return json_reply(body, {"route": "openai.images", "model": model, "images": count})


def transcription(ctx: Context, request: dict[str, Any]) -> Reply:
    seconds = 4.0
    body = {
        "text": "a transcript of the audio",
        "duration": seconds,
        "usage": {"type": "duration", "seconds": int(seconds)},
    }
    return json_reply(body, {"route": "openai.transcription", "seconds": seconds})


def speech(ctx: Context, request: dict[str, Any]) -> Reply:
    characters = len(str(request.get("input") or ""))
    # A few bytes that look like an MP3 frame header: clients only pass the bytes on.
    audio = b"\xff\xfb\x90\x64" + b"\x00" * 1024
    return Reply(
        body=audio,
        content_type="audio/mpeg",
        ledger={"route": "openai.speech", "characters": characters},
    )


def moderation(ctx: Context, request: dict[str, Any]) -> Reply:
    raw = request.get("input")
    inputs = raw if isinstance(raw, list) else [raw]
    response_id = new_id("modr-")
    body = {
        "id": response_id,
        "model": str(request.get("model") or "omni-moderation-latest"),
        "results": [
            {
                "flagged": False,
                "categories": {"violence": False},
                "category_scores": {"violence": 0.001},
            }
            for _ in inputs
        ],
    }
    return json_reply(body, {"id": response_id, "route": "openai.moderation"})


def responses(ctx: Context, request: dict[str, Any]) -> Reply:
    model = str(request.get("model") or "")
    items = request.get("input")
    instructions = request.get("instructions") or ""
    tools = request.get("tools") or []
    prompt = (
        count_tokens(text_of(items)) + count_tokens(instructions) + count_tokens(text_of(tools))
    )
    prefix_tokens = count_tokens(instructions) + count_tokens(text_of(tools))
    cached = ctx.cache.implicit((model, instructions, tools), prefix_tokens, prompt)
    output = output_tokens_for(request, request.get("max_output_tokens"))
    reasoning = _reasoning_share(model, output)
    usage = {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + output,
    }
    response_id = new_id("resp_")
    text = f"You said: {text_of(items)[:120]}. {answer_text(output)}"
    output_items: list[dict[str, Any]] = []
    if tools and isinstance(tools[0], dict) and tools[0].get("type") == "function":
        output_items.append(
            {
                "type": "function_call",
                "id": new_id("fc_"),
                "call_id": new_id("call_"),
                "name": str(tools[0].get("name") or "tool"),
                "arguments": json.dumps({"echo": text_of(items)[:200]}),
                "status": "completed",
            }
        )
    else:
        output_items.append(
            {
                "type": "message",
                "id": new_id("msg_"),
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
    body = {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": model,
        "output": output_items,
        "usage": usage,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    ledger = {"id": response_id, "route": "openai.responses", "model": model, "usage": usage}
    if ctx.stream:
        return Reply(
            content_type="text/event-stream", chunks=_response_events(body, text), ledger=ledger
        )
    return json_reply(body, ledger)


def _response_events(body: dict[str, Any], text: str) -> Iterator[bytes]:
    started = {**body, "status": "in_progress", "output": [], "usage": None}
    yield sse({"type": "response.created", "response": started}, "response.created")
    item = body["output"][0]
    if item["type"] == "message":
        yield sse(
            {
                "type": "response.output_text.delta",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "delta": text,
            },
            "response.output_text.delta",
        )
    yield sse(
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        "response.output_item.done",
    )
    yield sse({"type": "response.completed", "response": body}, "response.completed")
