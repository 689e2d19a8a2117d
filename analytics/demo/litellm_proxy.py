"""Start and stop a real LiteLLM proxy process on loopback (for `llmstats demo` and tests).

The proxy is LiteLLM's own `litellm` command with a config we write; nothing of it is
imitated. Its config is written as JSON, which LiteLLM's YAML loader reads as it is.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

# A start takes ~7 s on a quiet machine; a loaded CI runner has needed more than 90 s.
STARTUP_TIMEOUT_SECONDS = 180.0


class ProxyError(RuntimeError):
    """The proxy did not come up; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_master_key() -> str:
    # The proxy refuses weak master keys.
    return "sk-" + secrets.token_hex(24)


def litellm_command() -> list[str]:
    script = Path(sys.executable).with_name("litellm")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from litellm import run_server; run_server()"]


class LiteLLMProxy:
    """One proxy process. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        config: Mapping[str, Any],
        workdir: Path,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        num_workers: int = 1,
        log_name: str = "proxy.log",
    ) -> None:
        self.config = config
        self.workdir = workdir
        self.port = port or free_port()
        self.master_key = new_master_key()
        self.num_workers = num_workers
        self.extra_env = dict(env or {})
        self.log_path = workdir / log_name
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "LITELLM_MASTER_KEY": self.master_key,
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_LOG": env.get("LITELLM_LOG", "ERROR"),
                "DISABLE_ADMIN_UI": "True",
                "NO_DOCS": "True",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("DATABASE_URL", None)
        # With --num_workers, uvicorn's supervisor kills a worker that does not answer its
        # health check within 5 s; importing LiteLLM holds a worker longer than that on a
        # busy 2-core machine (15–50 s seen), so every worker was killed as it started and
        # the proxy never answered.
        env.setdefault("TIMEOUT_WORKER_HEALTHCHECK", str(int(STARTUP_TIMEOUT_SECONDS)))
        env.update(self.extra_env)
        return env

    def start(self) -> LiteLLMProxy:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "litellm-config.yaml"
        config_path.write_text(json.dumps(self.config, indent=1))
        command = [
            *litellm_command(),
            "--config",
            str(config_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        if self.num_workers > 1:
            command += ["--num_workers", str(self.num_workers)]
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir,
            env=self.environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ProxyError(f"the LiteLLM proxy exited at start-up: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/health/liveliness", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.kill()
        raise ProxyError(f"the LiteLLM proxy did not answer in time: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (the graceful path llmstats must flush on); kill if it hangs."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()
        return process.returncode

    def kill(self) -> None:
        """kill -9 the whole process group: workers included, no shutdown code runs."""
        process = self.process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LiteLLMProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
