"""Records what LiteLLM hands a callback, so unit tests and benchmarks replay real payloads:
as JSON (`recorder`) and as the objects themselves, pickled (`object_recorder`).

Loaded by the proxy from the config file's folder (`callbacks: ["payload_recorder.recorder"]`).
The recordings contain the test's fake prompts on purpose: the unit tests feed them to the
extractor and prove none of that content comes out.
"""

from __future__ import annotations

import json
import os
import pickle
from typing import Any

from litellm.integrations.custom_logger import CustomLogger


def json_safe(value: Any, depth: int = 0) -> Any:
    if depth > 12:
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v, depth + 1) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return json_safe(dump(), depth + 1)
        except Exception:
            return None
    return None


class PayloadRecorder(CustomLogger):
    def _record(self, kind: str, kwargs: Any, response: Any) -> None:
        exception = kwargs.get("exception")
        record = {
            "kind": kind,
            "kwargs": {
                "standard_logging_object": json_safe(kwargs.get("standard_logging_object")),
                "litellm_params": {
                    "metadata": json_safe((kwargs.get("litellm_params") or {}).get("metadata"))
                },
                "litellm_call_id": kwargs.get("litellm_call_id"),
                "fallback_depth": kwargs.get("fallback_depth"),
                "call_type": kwargs.get("call_type"),
            },
            "exception": None
            if exception is None
            else {
                "type": type(exception).__name__,
                "status_code": getattr(exception, "status_code", None),
                "code": getattr(exception, "code", None),
            },
            "response": json_safe(response),
            "response_hidden_params": json_safe(getattr(response, "_hidden_params", None)),
        }
        path = os.environ["PAYLOAD_RECORD_FILE"]
        with open(path, "a") as handle:
            handle.write(json.dumps(record, default=str) + "\n")

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
        self._record("success", kwargs, response_obj)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
        self._record("failure", kwargs, response_obj)


recorder = PayloadRecorder()


class ObjectRecorder(CustomLogger):
    """Records what LiteLLM hands a callback as the objects themselves (pickled): the
    kwargs (every value that pickles), the response (a ModelResponse with Usage objects,
    not a dict), and the callback's own start and end datetimes. The hot-path benchmarks
    and tests replay these (recorded_calls.py), since reading a pydantic response costs
    more than reading the JSON copy of it. LiteLLM's exceptions do not unpickle (their
    constructors need arguments): they are stored as their class and attributes and
    rebuilt when loaded."""

    def _record(self, kind: str, kwargs: Any, response: Any, start: Any, end: Any) -> None:
        kept: dict[str, Any] = {}
        skipped = []
        for key, value in kwargs.items():
            if isinstance(value, BaseException):
                kept[key] = recorded_exception(value)
            elif _pickles(value):
                kept[key] = value
            else:
                skipped.append(key)  # a logging object, a client, a generator
        record = {
            "kind": kind,
            "kwargs": kept,
            "skipped": skipped,
            "response": response if _pickles(response) else None,
            "start_time": start,
            "end_time": end,
        }
        with open(os.environ["OBJECT_RECORD_FILE"], "ab") as handle:
            pickle.dump(record, handle, protocol=pickle.HIGHEST_PROTOCOL)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
        self._record("success", kwargs, response_obj, start_time, end_time)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
        self._record("failure", kwargs, response_obj, start_time, end_time)


def _pickles(value: Any) -> bool:
    try:
        pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return False
    return True


def recorded_exception(exc: BaseException) -> tuple[str, str, str, dict[str, Any], tuple[Any, ...]]:
    state = {k: v for k, v in vars(exc).items() if _pickles(v)}
    args = tuple(a for a in exc.args if _pickles(a))
    return ("exception", type(exc).__module__, type(exc).__qualname__, state, args)


object_recorder = ObjectRecorder()
