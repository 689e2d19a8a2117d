"""Docs checked by tests: SQL headers, README commands, view names in docs/analytics.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from typer.main import get_command

from llmstats.analytics.cli.app import app
from llmstats.analytics.connection import sql_files

ROOT = Path(__file__).resolve().parent.parent


def test_every_sql_file_is_numbered_and_starts_with_a_header_naming_what_it_defines() -> None:
    files = sql_files()
    assert [name for name, _ in files] == sorted(name for name, _ in files)
    numbers = [name.split("_", 1)[0] for name, _ in files]
    assert all(n.isdigit() for n in numbers) and len(set(numbers)) == len(numbers)
    for name, text in files:
        header = []
        for line in text.splitlines():
            if not line.startswith("--"):
                break
            header.append(line)
        assert len(header) >= 3, name
        assert "olumns" in "\n".join(header), f"{name}: the header must list the columns"
        defined = re.findall(r"CREATE OR REPLACE (?:VIEW|MACRO) (\w+)", text)
        assert defined, name
        comments = "\n".join(line for line in text.splitlines() if line.startswith("--"))
        for obj in defined:
            assert obj in comments, f"{name}: {obj} is not described in a comment"


def test_every_llmstats_command_in_the_readme_exists() -> None:
    commands = get_command(app).commands  # type: ignore[attr-defined]
    readme = (ROOT / "README.md").read_text()
    used = set(re.findall(r"^llmstats (\w+)", readme, flags=re.M))
    assert used, "the README shows llmstats commands"
    missing = used - set(commands) - {"demo"}  # `demo` is built with the proxy harness
    assert not missing


def _command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[str]:
    paths = []
    for name, command in group.commands.items():
        paths.append(" ".join((*prefix, name)))
        if hasattr(command, "commands"):
            paths += _command_paths(command, (*prefix, name))
    return paths


def test_every_command_is_documented_in_the_readme_or_docs() -> None:
    """The reverse of the check above: a command nobody wrote down is a command nobody finds."""
    text = "\n".join(
        [(ROOT / "README.md").read_text()]
        + [page.read_text() for page in sorted((ROOT / "docs").glob("*.md"))]
    )
    paths = _command_paths(get_command(app))
    assert len(paths) >= 20, paths
    missing = [p for p in paths if not re.search(rf"llmstats {re.escape(p)}\b", text)]
    assert not missing, f"not in README.md or docs/: {missing}"


def test_docs_name_every_view() -> None:
    text = (ROOT / "docs" / "analytics.md").read_text()
    for name, sql in sql_files():
        for obj in re.findall(r"CREATE OR REPLACE (?:VIEW|MACRO) (\w+)", sql):
            assert obj in text, f"docs/analytics.md does not mention {obj} ({name})"


def test_the_derived_error_codes_are_documented_as_the_code_has_them() -> None:
    from llmstats.plugin.error_codes import DERIVED_CODES

    text = (ROOT / "docs" / "events.md").read_text()
    documented = dict(re.findall(r"^\| `(\w+)` \| `(\w+)` \|$", text, flags=re.M))
    assert documented == DERIVED_CODES


def test_every_event_column_is_documented() -> None:
    from llmstats.plugin.schema import EVENT_SCHEMA

    text = (ROOT / "docs" / "events.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    named = {name for line in rows for name in re.findall(r"`(\w+)`", line.split("|")[1])}
    assert set(EVENT_SCHEMA.names) <= named, set(EVENT_SCHEMA.names) - named
