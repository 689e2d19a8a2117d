"""No content reaches disk or logs, at any privacy level (SDK path; the proxy path has its
own test with error bodies that echo the prompt)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import litellm
import pyarrow.dataset as ds
import pytest

from llmstats.plugin.config import load_settings
from llmstats.plugin.litellm_logger import LLMStatsLogger
from tests.support.canaries import files_under, leaked_canaries, new_canary


@pytest.mark.parametrize("privacy", ["minimal", "standard", "full"])
def test_no_canary_reaches_disk_or_logs(
    privacy: str, isolated_data_dir: Path, caplog: pytest.LogCaptureFixture, use_callbacks: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="llmstats")
    c = {
        name: new_canary(name)
        for name in (
            "system",
            "user",
            "tool_def",
            "tool_arg",
            "response",
            "end_user",
            "metadata",
            "email",
        )
    }
    logger = LLMStatsLogger(load_settings(privacy=privacy, flush_seconds=3600))
    use_callbacks(logger)

    async def calls() -> None:
        await litellm.acompletion(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": f"You are {c['system']}"},
                {"role": "user", "content": f"Say {c['user']}"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {
                                "name": "lookup",
                                "arguments": f'{{"q": "{c["tool_arg"]}"}}',
                            },
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": c["tool_arg"]},
            ],
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "lookup",
                        "description": c["tool_def"],
                        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                    },
                }
            ],
            user=c["end_user"],
            metadata={"note": c["metadata"], "user_api_key_user_email": c["email"]},
            mock_response=f"Here you go: {c['response']}",
        )
        await litellm.aembedding(
            model="text-embedding-3-small",
            input=[c["user"]],
            mock_response=[0.1, 0.2],  # type: ignore[arg-type]
        )
        await asyncio.sleep(0.3)

    asyncio.run(calls())
    for _ in range(50):
        if logger.writer is not None and logger.writer.stats.spooled >= 2:
            break
        asyncio.run(asyncio.sleep(0.05))
    # Before the flush the spool holds the rows and the prompts' counts: check them too.
    assert logger.writer is not None and logger.writer.segmenter is not None
    logger.writer.segmenter.drain()
    assert any(p.suffix == ".counts" for p in files_under(isolated_data_dir))
    assert leaked_canaries(isolated_data_dir, list(c.values()), caplog.text) == []
    logger.flush()
    assert logger.errors == 0
    rows = ds.dataset(isolated_data_dir / "events", partitioning="hive").to_table().to_pylist()
    assert {r["call_type"] for r in rows} == {"chat", "embedding"}
    assert any(p.suffix == ".parquet" for p in files_under(isolated_data_dir))
    assert leaked_canaries(isolated_data_dir, list(c.values()), caplog.text) == []
    chat = next(r for r in rows if r["call_type"] == "chat")
    if privacy == "minimal":
        assert chat["end_user_hash"] is None and chat["key_hash"] is None
    else:
        assert chat["end_user_hash"] is not None and len(chat["end_user_hash"]) == 64
