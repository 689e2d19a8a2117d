"""Re-record tests/fixtures/objects/litellm-<version>.pickle.gz: what the real proxy hands a
callback, as the objects themselves (see recorded_calls.py).

    .venv/bin/python tests/support/record_objects.py

Runs the end-to-end batteries of tests/test_proxy_capture.py (every call type, four
provider usage shapes, errors, a retry and a fallback) and tests/test_proxy_payloads.py
(a delayed upstream on every route, failed streams, context-length errors, client
retries) through the real LiteLLM proxy with `tests.support.payload_recorder.object_recorder` next to
llmstats' callback. Re-record after upgrading LiteLLM: the file name carries its version.
"""

from __future__ import annotations

import gzip
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from llmstats.analytics.demo.proxy_config import CALLBACK
from tests.support.proxy_e2e import proxy_stack
from tests.support.recorded_calls import fixture_path, litellm_version
from tests.test_proxy_capture import run_battery
from tests.test_proxy_payloads import run_shapes


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "recorded.pickles"
        with proxy_stack(
            Path(tmp),
            callbacks=[CALLBACK, "tests.support.payload_recorder.object_recorder"],
            env={"OBJECT_RECORD_FILE": str(record)},
        ) as stack:
            run_battery(stack)
            run_shapes(stack)
            time.sleep(3)
        records = []
        with record.open("rb") as handle:
            while True:
                try:
                    records.append(pickle.load(handle))
                except EOFError:
                    break
    target = fixture_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(target, "wb", compresslevel=9) as out:
        pickle.dump(records, out, protocol=pickle.HIGHEST_PROTOCOL)
    print(f"recorded {len(records)} callbacks (litellm {litellm_version()}) into {target.name}")


if __name__ == "__main__":
    main()
