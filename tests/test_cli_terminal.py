"""The CLI on a real terminal (a pseudo-terminal) and through pipes: progress on stderr
only when it is a terminal, NO_COLOR honoured, plain text when piped."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.event_data import write_fixture_dataset

COLOUR = re.compile(rb"\x1b\[[0-9;]*(?:3[0-7]|38;[0-9;]+|9[0-7])m")
ESCAPE = re.compile(rb"\x1b\[")
LLMSTATS = [sys.executable, "-c", "from llmstats.analytics.cli.app import main; main()"]


@pytest.fixture
def data_dir(isolated_data_dir: Path) -> Path:
    write_fixture_dataset(str(isolated_data_dir))
    return isolated_data_dir


def on_terminal(args: list[str], env: dict[str, str]) -> tuple[bytes, bytes]:
    """(stdout through a pipe, what reached the terminal on stderr)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([*LLMSTATS, *args], stdout=subprocess.PIPE, stderr=follower,
                               stdin=subprocess.DEVNULL, env=env)
    os.close(follower)
    terminal = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        terminal += chunk
    stdout = process.stdout.read() if process.stdout else b""
    assert process.wait(timeout=60) == 0, terminal
    os.close(leader)
    return stdout, terminal


def test_progress_goes_to_a_terminal_in_colour_unless_no_color(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    stdout, terminal = on_terminal(["report", "savings"], env)
    assert b"Computing the report" in terminal or b"Opening the dataset" in terminal, terminal
    assert COLOUR.search(terminal), terminal  # the spinner is coloured on a terminal
    assert not ESCAPE.search(stdout) and b"Savings by model" in stdout  # stdout is a pipe
    stdout, terminal = on_terminal(["report", "savings"], {**env, "NO_COLOR": "1"})
    assert b"Computing the report" in terminal or b"Opening the dataset" in terminal, terminal
    assert not COLOUR.search(terminal), terminal
    assert b"Savings by model" in stdout


def test_nothing_but_the_report_when_piped(data_dir: Path) -> None:
    result = subprocess.run([*LLMSTATS, "report"], capture_output=True, check=True)
    assert result.stderr == b""
    assert not ESCAPE.search(result.stdout)
    assert result.stdout.startswith(b"Totals")
