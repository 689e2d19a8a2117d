"""Realistic callback inputs for the benchmarks: the objects the real proxy handed a callback.

`tests/fixtures/objects/litellm-<version>.pickle.gz` is written by `tests/support/record_objects.py`
(the real LiteLLM proxy in front of the fake provider, every call shape of the end-to-end
tests) and read by `tests/support/recorded_calls.py`. A call is what LiteLLM passes the callback —
kwargs with the standard logging payload, a pydantic response (`ModelResponse` with
`Usage` objects, not the dict a JSON recording gives back), the start and end datetimes —
rebuilt from its pickle for every call, so no call finds another's objects warm in the
CPU's caches, and given its own call and response ids so de-duplication never
short-cuts the work.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch prices

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import recorded_calls  # noqa: E402

Call = tuple[dict[str, Any], Any, Any, Any]
"""(kwargs, response, start_time, end_time): what the callback is called with."""


def load_calls(kind: str | None = "success") -> list[bytes]:
    """The recorded calls, one pickle each (see `fresh_call`)."""
    return recorded_calls.blobs(kind)


def fresh_call(blob: bytes) -> Call:
    """One call as new objects, with its own call and response ids."""
    return recorded_calls.call(recorded_calls.fresh(blob, new_ids=True))


def fresh_calls(blobs: list[bytes], count: int) -> list[Call]:
    """`count` calls cycling through the recordings, each a distinct event."""
    return [fresh_call(blobs[index % len(blobs)]) for index in range(count)]


def load_records(kind: str | None = "success") -> list[dict[str, Any]]:
    """The recorded calls as records (kind, kwargs, response, start_time, end_time), one
    set of objects each: for benchmarks that read them rather than time the callback."""
    return [recorded_calls.fresh(blob) for blob in load_calls(kind)]


def litellm_version() -> str:
    return recorded_calls.litellm_version()


def wait_for_turn(began: float, index: int, rate: float) -> None:
    """Sleep until call `index` of a run paced at `rate` calls/s that began at `began`
    (`time.perf_counter()`): the loop is idle between calls, as a proxy's is between requests."""
    wait = began + index / rate - time.perf_counter()
    if wait > 0:
        time.sleep(wait)
