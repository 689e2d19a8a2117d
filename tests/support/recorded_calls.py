"""The objects the real LiteLLM proxy handed a callback, pickled: load them, replay them.

`tests/fixtures/objects/litellm-<version>.pickle.gz` is written by `tests/support/record_objects.py`
(the real proxy in front of the fake provider, every call shape of tests/test_proxy_capture
.py and tests/test_proxy_payloads.py). A record is what one callback got: `kind`
(success / failure), `kwargs` (every value that pickles: the standard logging payload,
LiteLLM's params, datetimes), `response` (a ModelResponse, EmbeddingResponse, … with Usage
objects), `start_time` and `end_time` (the callback's own datetimes), and `skipped` (the
kwargs keys that did not pickle). Pickles tie the fixture to the LiteLLM that made it: the
file name says which, and `load` refuses another (re-record with record_objects.py).
"""

from __future__ import annotations

import gzip
import importlib
import pickle
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "objects"


def litellm_version() -> str:
    return metadata.version("litellm")


def fixture_path(version: str | None = None) -> Path:
    return FIXTURES / f"litellm-{version or litellm_version()}.pickle.gz"


def recorded_versions() -> list[str]:
    return sorted(p.name.removeprefix("litellm-").removesuffix(".pickle.gz")
                  for p in FIXTURES.glob("litellm-*.pickle.gz"))  # fmt: skip


def blobs(kind: str | None = None, version: str | None = None) -> list[bytes]:
    """Each record pickled on its own: `fresh(blob)` rebuilds new objects for every call,
    as LiteLLM builds them for every call (a shared, warm copy would flatter the hot path)."""
    path = fixture_path(version)
    if not path.exists():
        raise FileNotFoundError(
            f"no recorded objects for litellm {litellm_version()} (recorded: "
            f"{', '.join(recorded_versions()) or 'none'}); run tests/support/record_objects.py"
        )
    with gzip.open(path, "rb") as handle:
        records = pickle.load(handle)
    return [
        pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        for record in records
        if kind is None or record["kind"] == kind
    ]


def fresh(blob: bytes, new_ids: bool = False) -> dict[str, Any]:
    """A record as new objects; `new_ids`: with its own call and response ids (so that
    the writer never takes two replays for one event)."""
    record: dict[str, Any] = pickle.loads(blob)
    kwargs = record["kwargs"]
    for key, value in kwargs.items():
        if isinstance(value, tuple) and value[:1] == ("exception",):
            kwargs[key] = rebuilt_exception(value)
    if new_ids:
        payload = kwargs["standard_logging_object"]
        payload["id"] = str(uuid.uuid4())
        payload["litellm_call_id"] = kwargs["litellm_call_id"] = str(uuid.uuid4())
    return record


def records(kind: str | None = None) -> Iterator[dict[str, Any]]:
    for blob in blobs(kind):
        yield fresh(blob)


def rebuilt_exception(recorded: tuple[Any, ...]) -> BaseException:
    """LiteLLM's exception of the recorded class with its recorded attributes (their
    constructors want arguments a pickle does not keep)."""
    _, module, qualname, state, args = recorded
    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    exc = cls.__new__(cls)
    exc.__dict__.update(state)
    exc.args = tuple(args)
    return exc  # type: ignore[no-any-return]


def call(record: dict[str, Any]) -> tuple[dict[str, Any], Any, Any, Any]:
    """(kwargs, response, start_time, end_time): what the callback is called with."""
    return record["kwargs"], record["response"], record["start_time"], record["end_time"]
