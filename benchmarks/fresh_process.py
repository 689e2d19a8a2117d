"""Run a benchmark's measuring part in a process of its own and read back what it found.

The speed of one process's calls moves with things that differ between processes (memory
layout, hash seed) as well as with the machine's drift, so a benchmark that repeats its
measurement in one process samples the first only once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def child_result(script: str, *args: str) -> Any:
    """Run `script --child *args` with this interpreter; the JSON its last line printed.
    A failed child ends this process with the child's error output."""
    done = subprocess.run(
        [sys.executable, script, "--child", *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(done.stderr)
    return json.loads(done.stdout.splitlines()[-1])
