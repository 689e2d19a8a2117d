"""Re-record tests/fixtures/payloads/proxy.jsonl: what the real proxy hands a callback.

    .venv/bin/python tests/support/record_payloads.py

Runs the end-to-end battery (every call type, four provider usage shapes, errors, a retry
and a fallback) through the real LiteLLM proxy with `tests.support.payload_recorder.recorder` next to
llmstats' callback. Unit tests and the hot-path benchmark replay the recordings; re-record
after upgrading LiteLLM.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from llmstats.analytics.demo.proxy_config import CALLBACK
from tests.support.proxy_e2e import proxy_stack
from tests.test_proxy_capture import run_battery


def litellm_file() -> str:
    import importlib.util

    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.origin is not None
    return spec.origin


TARGET = Path(__file__).resolve().parents[1] / "fixtures" / "payloads" / "proxy.jsonl"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "recorded.jsonl"
        with proxy_stack(
            Path(tmp),
            callbacks=[CALLBACK, "tests.support.payload_recorder.recorder"],
            env={"PAYLOAD_RECORD_FILE": str(record)},
        ) as stack:
            run_battery(stack)
            time.sleep(2)
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        # LiteLLM's tracebacks in the payloads name this machine's install path.
        site_packages = str(Path(litellm_file()).parent.parent) + "/"
        TARGET.write_text(record.read_text().replace(site_packages, "<site-packages>/"))
    print(f"recorded {len(TARGET.read_text().splitlines())} payloads into {TARGET.name}")


if __name__ == "__main__":
    main()
