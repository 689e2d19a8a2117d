"""Realistic callback inputs for the benchmarks: payloads recorded from the real proxy.

`tests/fixtures/payloads/proxy.jsonl` is written by `tests/record_payloads.py` (the real
LiteLLM proxy in front of the fake provider). Each record becomes the kwargs/response pair
a callback receives; the benchmark gives every copy its own event id so de-duplication
never short-cuts the work.
"""

from __future__ import annotations

import copy
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch prices

RECORDINGS = (
    Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "payloads" / "proxy.jsonl"
)


def load_records(kind: str | None = "success") -> list[dict[str, Any]]:
    records = [json.loads(line) for line in RECORDINGS.read_text().splitlines() if line.strip()]
    return [r for r in records if kind is None or r["kind"] == kind]


def fresh_call(record: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """One (kwargs, response) pair from a recording, with its own call and response ids."""
    kwargs = copy.deepcopy(record["kwargs"])
    payload = kwargs["standard_logging_object"]
    payload["id"] = str(uuid.uuid4())
    payload["litellm_call_id"] = kwargs["litellm_call_id"] = str(uuid.uuid4())
    return kwargs, record["response"]


def fresh_calls(records: list[dict[str, Any]], count: int) -> list[tuple[dict[str, Any], Any]]:
    """`count` (kwargs, response) pairs cycling through the recordings, each a distinct event."""
    return [fresh_call(records[index % len(records)]) for index in range(count)]


def wait_for_turn(began: float, index: int, rate: float) -> None:
    """Sleep until call `index` of a run paced at `rate` calls/s that began at `began`
    (`time.perf_counter()`): the loop is idle between calls, as a proxy's is between requests."""
    wait = began + index / rate - time.perf_counter()
    if wait > 0:
        time.sleep(wait)
