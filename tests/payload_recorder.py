"""Records what LiteLLM hands a callback, as JSON, so unit tests can replay real payloads.

Loaded by the proxy from the config file's folder (`callbacks: ["payload_recorder.recorder"]`).
The recordings contain the test's fake prompts on purpose: the unit tests feed them to the
extractor and prove none of that content comes out.
"""

from __future__ import annotations

import json
import os
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
