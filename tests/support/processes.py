"""Stopping a server a test started: asked politely, then killed if it will not go."""

from __future__ import annotations

import subprocess
from typing import Any


def stop(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM, up to `timeout` seconds for it to exit (running its clean-up), else SIGKILL."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
