"""Response markers: written before the proxy answers, settled by the callback's event,
turned into the row only when that event never comes."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, ClassVar

import litellm

from llmstats.plugin.config import load_settings
from llmstats.plugin.identity import Hasher
from llmstats.plugin.litellm_logger import LLMStatsLogger
from llmstats.plugin.response_marker import CAPTURE_MARKER, extract_marker
from llmstats.plugin.writer import EventWriter
from tests.support.rows import BASE_TS, event_row
from tests.test_writer import read_events


def marker_row(call_id: str, **overrides: Any) -> dict[str, Any]:
    row = event_row(call_id=call_id, event_id=f"{call_id}@{BASE_TS}", capture=CAPTURE_MARKER)
    row["end_ts"] = int(time.time() * 1_000_000)
    row.update(overrides)
    return row


def callback_row(call_id: str) -> dict[str, Any]:
    return event_row(call_id=call_id, event_id=f"{call_id}@{BASE_TS}")


def test_marker_and_event_in_one_spool_file_are_one_row(isolated_data_dir: Path) -> None:
    writer = EventWriter(load_settings())
    writer.submit(marker_row("c1"))
    writer.submit(callback_row("c1"))
    writer.flush()
    (row,) = read_events(isolated_data_dir)
    assert row["capture"] == "callback"


def test_a_marker_waits_in_the_spool_for_its_event(isolated_data_dir: Path) -> None:
    writer = EventWriter(load_settings())
    writer.submit(marker_row("c1"))
    writer.submit(callback_row("other"))
    writer.flush()
    assert [r["call_id"] for r in read_events(isolated_data_dir)] == ["other"]
    writer.submit(callback_row("c1"))
    writer.flush()
    rows = read_events(isolated_data_dir)
    assert sorted(r["call_id"] for r in rows) == ["c1", "other"]
    assert {r["capture"] for r in rows} == {"callback"}


def test_a_failed_attempt_does_not_settle_a_marker(isolated_data_dir: Path) -> None:
    writer = EventWriter(load_settings())
    writer.submit(marker_row("c1"))
    writer.submit(event_row(call_id="c1", event_id="c1@1", status="failure"))
    writer.flush()
    assert [r["status"] for r in read_events(isolated_data_dir)] == ["failure"]


def test_a_marker_whose_event_never_comes_becomes_the_row_after_a_while(
    isolated_data_dir: Path,
) -> None:
    writer = EventWriter(load_settings())
    stale = int((time.time() - 3600) * 1_000_000)
    writer.submit(marker_row("lost", end_ts=stale))
    writer.submit(marker_row("fresh"))
    writer.flush()
    (row,) = read_events(isolated_data_dir)
    assert row["call_id"] == "lost" and row["capture"] == CAPTURE_MARKER
    assert writer.stats.extra["marker_rows"] == 1


DYING_WRITER = textwrap.dedent(
    """
    import os, sys, json
    sys.path.insert(0, {tests!r})
    from tests.test_response_marker import marker_row, callback_row
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.writer import EventWriter
    writer = EventWriter(load_settings(flush_seconds=3600))
    writer.submit(marker_row("settled-later"))
    writer.submit(marker_row("never-settled"))
    writer._spool.rotate()  # the event lands in a later spool file than its marker
    writer.submit(callback_row("settled-later"))
    os.kill(os.getpid(), 9)
    """
)


def test_a_dead_writers_unsettled_marker_becomes_its_row_exactly_once(
    isolated_data_dir: Path,
) -> None:
    script = DYING_WRITER.format(tests=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    EventWriter(load_settings()).recover_orphans()
    rows = {r["call_id"]: r["capture"] for r in read_events(isolated_data_dir)}
    assert rows == {"settled-later": "callback", "never-settled": CAPTURE_MARKER}
    assert len(read_events(isolated_data_dir)) == 2


def test_extract_marker_from_a_real_model_response() -> None:
    response = litellm.ModelResponse(
        id="chatcmpl-1",
        model="gpt-4o-mini",
        usage=litellm.Usage(
            prompt_tokens=1200,
            completion_tokens=30,
            total_tokens=1230,
            prompt_tokens_details={"cached_tokens": 1024},
        ),
    )
    response._hidden_params = {
        "custom_llm_provider": "openai",
        "litellm_model_name": "openai/gpt-4o-mini",
        "model_id": "dep-1",
        "api_base": "https://api.example.com/v1?key=secret",
        "response_cost": 0.0002,
    }
    data = {
        "litellm_call_id": "call-1",
        "messages": [{"role": "user", "content": "SECRET PROMPT"}],
        "metadata": {
            "model_group": "gpt-4o-mini",
            "user_api_key_team_id": "team-a",
            "user_api_key_hash": "h" * 64,
            "tags": ["prod", "User-Agent: curl/8"],
            "user_api_key_user_email": "someone@example.com",
        },
    }
    row = extract_marker(data, response, privacy="standard", hash_id=Hasher(b"k"))
    assert row is not None
    assert row["event_id"] == "call-1@response_hook" and row["capture"] == CAPTURE_MARKER
    assert row["model"] == "gpt-4o-mini" and row["provider"] == "openai"
    assert row["input_tokens"] == 1200 and row["cache_read_tokens"] == 1024
    assert row["api_base_host"] == "api.example.com" and row["tags"] == ["prod"]
    assert "SECRET" not in json.dumps(row) and "example.com/v1" not in json.dumps(row)
    assert "someone" not in json.dumps(row)
    assert (
        extract_marker(
            data, litellm.utils.TextCompletionResponse(), privacy="standard", hash_id=Hasher(b"k")
        )
        is None
    )


def test_a_marker_names_the_provider_and_model_as_the_event_does() -> None:
    """Anthropic's responses carry no provider in their hidden params; the marker must
    still say `anthropic` / `claude-haiku-4-5`, or a recovered marker row would count
    under another model than the events next to it."""
    response = litellm.ModelResponse(id="msg-1", model="claude-haiku-4-5")
    response._hidden_params = {"custom_llm_provider": None,
                               "litellm_model_name": "anthropic/claude-haiku-4-5"}

    class LoggingObject:
        model_call_details: ClassVar[dict[str, str]] = {"custom_llm_provider": "anthropic"}

    data = {"litellm_call_id": "call-2", "litellm_logging_obj": LoggingObject(), "metadata": {}}
    row = extract_marker(data, response, privacy="standard", hash_id=Hasher(b"k"))
    assert row is not None
    assert (row["provider"], row["model"]) == ("anthropic", "claude-haiku-4-5")


def test_a_marker_after_its_event_is_settled_across_a_spool_file_cut(
    isolated_data_dir: Path,
) -> None:
    """The callback can run before the response hook; the marker then comes after the
    event, maybe in the next spool file: the carried ids of the spool file before settle it."""
    writer = EventWriter(load_settings())
    writer.submit(callback_row("c1"))
    writer.flush()
    writer.submit(marker_row("c1"))
    writer.submit(callback_row("other"))
    writer.flush()
    rows = read_events(isolated_data_dir)
    assert sorted((r["call_id"], r["capture"]) for r in rows) == [
        ("c1", "callback"), ("other", "callback"),
    ]  # fmt: skip
    writer.close()


def test_the_sdk_marker_after_the_callback_is_one_row(
    isolated_data_dir: Path, use_callbacks: Any
) -> None:
    logger = LLMStatsLogger(load_settings(flush_seconds=3600))
    use_callbacks(logger)
    response = litellm.completion(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], mock_response="y"
    )
    for _ in range(100):
        if logger.writer is not None and logger.writer.stats.spooled:
            break
        time.sleep(0.02)
    call_id = response._hidden_params.get("litellm_call_id")
    assert call_id
    asyncio.run(logger.async_post_call_success_hook({"litellm_call_id": call_id}, None, response))
    assert logger.writer is not None and logger.writer.stats.spooled == 2
    assert logger.flush()
    (row,) = read_events(isolated_data_dir)
    assert row["capture"] == "callback" and logger.errors == 0
