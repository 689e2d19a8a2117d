"""What CLI tests of bad input check alike: the real command (typer's CliRunner), one line
`llmstats: …` on stderr, the exit code, and no traceback."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from llmstats.analytics.cli.app import app

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), prog_name="llmstats")


def assert_one_line(result: Any, exit_code: int, *fragments: str) -> str:
    """The command failed with `exit_code` and said why in one `llmstats: …` line that
    holds every fragment; nothing else reached stderr, and no exception escaped."""
    assert result.exit_code == exit_code, (result.exit_code, result.output)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("llmstats: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return str(lines[0])
