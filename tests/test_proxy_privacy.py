"""Through the real proxy, at every privacy level: no canary planted in content reaches a
file under the data dir (spool and Parquet, raw bytes and decoded) or llmstats' logs.

The fake provider quotes the request back in its answers and in its error bodies, as
real providers do in 400s, so canaries reach LiteLLM's response objects, exception
strings and logging payload: llmstats must take none of them.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.canaries import files_under, leaked_canaries, new_canary
from tests.support.proxy_e2e import proxy_stack, read_events

pytestmark = pytest.mark.slow

PLACES = (
    "system",
    "user",
    "history",
    "tool_def",
    "tool_arg",
    "end_user",
    "metadata",
    "header",
    "embedding",
    "error_prompt",
    "transcript_prompt",
    "rerank",
)


def _send_everything(client: openai.OpenAI, c: dict[str, str]) -> None:
    messages = [
        {"role": "system", "content": f"You are {c['system']}"},
        {"role": "user", "content": f"Say {c['user']}"},
        {"role": "assistant", "content": f"Earlier I said {c['history']}"},
        {"role": "user", "content": "again"},
    ]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": c["tool_def"],
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]
    with_tool_call = [
        *messages,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": f'{{"q": "{c["tool_arg"]}"}}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": c["tool_arg"]},
        {"role": "user", "content": c["user"]},
    ]
    extra = {
        "user": c["end_user"],
        "extra_body": {"metadata": {"note": c["metadata"], "tags": ["privacy-test"]}},
        "extra_headers": {"x-custom-note": c["header"]},
    }
    for model in ("gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"):
        client.chat.completions.create(model=model, messages=messages, tools=tools, **extra)  # type: ignore[arg-type]
        client.chat.completions.create(model=model, messages=with_tool_call, **extra)  # type: ignore[arg-type]
        for _ in client.chat.completions.create(
            model=model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            **extra,  # type: ignore[arg-type]
        ):
            pass
    client.embeddings.create(model="text-embedding-3-small", input=[c["embedding"]], **extra)  # type: ignore[arg-type]
    client.audio.transcriptions.create(
        model="whisper-1",
        file=("a.mp3", io.BytesIO(b"\xff\xfb" + b"\0" * 512)),
        prompt=c["transcript_prompt"],
    )
    client.responses.create(model="gpt-4o-mini", input=f"Say {c['user']}", instructions=c["system"])
    # Rerank: the query and documents are content; only the billed search units are kept.
    httpx.post(
        f"{client.base_url}".rstrip("/") + "/v1/rerank",
        headers={"Authorization": f"Bearer {client.api_key}"},
        json={"model": "rerank-english", "query": c["rerank"], "documents": [c["rerank"], "b"]},
        timeout=30,
    ).raise_for_status()
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="broken-400",
            messages=[{"role": "user", "content": c["error_prompt"]}],
            **extra,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("privacy", ["minimal", "standard", "full"])
def test_no_canary_reaches_disk_or_llmstats_logs(tmp_path: Path, privacy: str) -> None:
    canaries = {place: new_canary(place) for place in PLACES}
    with proxy_stack(
        tmp_path, env={"LLMSTATS_PRIVACY": privacy, "LLMSTATS_FLUSH_SECONDS": "3600"}
    ) as stack:
        _send_everything(stack.client("privacy", "pat"), canaries)
        time.sleep(1.5)  # the callbacks run after the answers
        spooled = [p for p in files_under(stack.data_dir) if p.suffix == ".jsonl"]
        assert spooled and any(p.stat().st_size for p in spooled)
        assert leaked_canaries(stack.data_dir, list(canaries.values())) == []
    rows = read_events(stack.data_dir)
    assert len(rows) >= 13
    assert {r["privacy_level"] for r in rows} == {privacy}
    assert any(r["call_type"] == "rerank" and r["search_units"] for r in rows)
    llmstats_log = "\n".join(
        line
        for line in stack.proxy.log_path.read_text(errors="replace").splitlines()
        if "llmstats" in line
    )
    assert leaked_canaries(stack.data_dir, list(canaries.values()), llmstats_log) == []
    chat = [r for r in rows if r["call_type"] == "chat" and r["status"] == "success"]
    if privacy == "minimal":
        assert all(r["end_user_hash"] is None and r["key_hash"] is None for r in rows)
        assert all(r["tags"] is None and r["user_id"] is None for r in rows)
    else:
        assert all(r["end_user_hash"] and len(r["end_user_hash"]) == 64 for r in chat)
        assert all(r["tags"] == ["privacy-test"] for r in chat)
    if privacy == "full":
        assert any(r["tool_names"] == ["lookup"] for r in chat)
        assert all(r["user_agent"] for r in chat)
    else:
        assert all(r["tool_names"] is None and r["user_agent"] is None for r in rows)
