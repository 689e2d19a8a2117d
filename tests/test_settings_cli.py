"""Every command, every bad setting: one line on stderr naming the setting, exit 2, no
traceback (the CLI's single error exit turns config.py's ConfigError into that)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmstats.analytics.cli import app
from tests.support.event_data import write_fixture_dataset

COMMANDS = [
    ["report"],
    ["status"],
    ["export"],
    ["sql", "SELECT 1"],
    ["trace", "t1"],
    ["pricing", "show", "gpt-4o-mini"],
    ["ddl", "athena"],
    ["compact"],
    ["prune", "--older-than", "30d"],
]

# (variable or config file text, value, what the one line must say)
BAD_SETTINGS = [
    ("LLMSTATS_PRIVACY", "secret", "LLMSTATS_PRIVACY must be one of minimal, standard, full"),
    ("LLMSTATS_FLUSH_SECONDS", "nan", "LLMSTATS_FLUSH_SECONDS must be a number of seconds from 0.05 to 86,400"),
    ("LLMSTATS_FLUSH_SECONDS", "inf", "LLMSTATS_FLUSH_SECONDS must be a number of seconds from 0.05 to 86,400"),
    ("LLMSTATS_FLUSH_ROWS", "0", "LLMSTATS_FLUSH_ROWS must be a whole number of rows from 1 to 10,000,000"),
    ("LLMSTATS_RETENTION_DAYS", "99999999999", "LLMSTATS_RETENTION_DAYS must be a whole number of days from 1 to 36,500"),
    ("LLMSTATS_ENABLED", "maybe", "LLMSTATS_ENABLED must be true or false"),
    ("LLMSTATS_CONVERTER", "thread", "LLMSTATS_CONVERTER must be one of process, inline"),
    ("LLMSTATS_SEGMENTS", "2", "LLMSTATS_SEGMENTS must be true or false"),
    ("LLMSTATS_SPOOL_DIR", "s3://bucket/spool", "LLMSTATS_SPOOL_DIR must be a local path"),
    ("LLMSTATS_HASH_KEY", "hunter2", "LLMSTATS_HASH_KEY must be at least 16 characters"),
    ("LLMSTATS_DATA_DIR", "s3://AKIA:hunter2@bucket/llm", "LLMSTATS_DATA_DIR must not carry credentials"),
    ("LLMSTATS_DATA_DIR", "ftp://bucket/llm", "LLMSTATS_DATA_DIR: the scheme ftp:// is not supported"),
    ("config.toml", 'privacy = "full', "is not valid TOML"),
    ("config.toml", "flush_seconds = inf", "flush_seconds in "),
    ("config.toml", 'retention_days = "a month"', "retention_days in "),
    ("config.toml", "flush_secs = 5", "unknown setting 'flush_secs'"),
]


def _env(tmp_path: Path, name: str, value: str) -> dict[str, str]:
    if name != "config.toml":
        return {name: value}
    config = tmp_path / "config.toml"
    config.write_text(value + "\n")
    return {"LLMSTATS_CONFIG": str(config)}


@pytest.mark.parametrize(("name", "value", "message"), BAD_SETTINGS)
def test_every_command_refuses_a_bad_setting_in_one_line_with_exit_2(
    isolated_data_dir: Path, tmp_path: Path, name: str, value: str, message: str
) -> None:
    write_fixture_dataset(str(isolated_data_dir))  # a dataset the commands could read
    runner = CliRunner()
    env = _env(tmp_path, name, value)
    for command in COMMANDS:
        result = runner.invoke(app, command, env=env)
        lines = result.stderr.splitlines()
        assert result.exit_code == 2, (command, result.output, result.exception)
        assert len(lines) == 1 and lines[0].startswith("llmstats: "), (command, result.stderr)
        assert message in lines[0], (command, lines[0])
        assert result.stdout == "", command
        if name in ("LLMSTATS_HASH_KEY", "LLMSTATS_DATA_DIR"):
            assert "hunter2" not in result.output, command  # never echo a secret


def test_the_installed_command_says_the_same_line(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "llmstats"  # the console script pip installed
    env = {**os.environ, "LLMSTATS_FLUSH_SECONDS": "nan"}
    proc = subprocess.run(
        [str(command), "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        "llmstats: LLMSTATS_FLUSH_SECONDS must be a number of seconds from 0.05 to 86,400, "
        "not 'nan'\n"
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_a_data_dir_option_with_credentials_is_refused_without_repeating_them(
    command: list[str],
) -> None:
    """`--data-dir` is held to LLMSTATS_DATA_DIR's rules: no credentials in it, and the
    refusal never repeats the URI (it may hold a secret)."""
    result = CliRunner().invoke(app, [*command, "--data-dir", "s3://AKIAEXAMPLE:s3cr3t@bucket/llm"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "must not carry credentials" in result.stderr
    assert "s3cr3t" not in result.output and "AKIAEXAMPLE" not in result.output
