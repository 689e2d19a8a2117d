"""Bad usage of any command is one line `llmstats: …` and exit 2: typer's own usage
errors (unknown option or command, missing argument, bad value), windows beyond what a
date can hold, `--where` values a dimension cannot take, and a data dir that is not there
for the commands that would otherwise create it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from llmstats.analytics.cli.app import app
from llmstats.analytics.query import DIMENSIONS
from tests.support.cli_checks import assert_one_line, invoke
from tests.support.event_data import write_fixture_dataset


@pytest.fixture
def data_dir(isolated_data_dir: Path) -> Path:
    write_fixture_dataset(str(isolated_data_dir))
    return isolated_data_dir


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


# ---- typer's usage errors ----------------------------------------------------------------

def test_every_command_refuses_an_unknown_option_in_one_line() -> None:
    paths = _commands(get_command(app))
    assert len(paths) >= 20  # llmstats, its groups and every command
    for path in paths:
        result = invoke(*path, "--no-such-option")
        line = assert_one_line(result, 2, "llmstats: no such option: --no-such-option ")
        assert line.endswith(f"(see '{' '.join(('llmstats', *path))} --help')"), line


@pytest.mark.parametrize(("args", "message"), [
    (["sql"], "llmstats: missing argument 'query' (see 'llmstats sql --help')"),
    (["trace"], "llmstats: missing argument 'trace_id' (see 'llmstats trace --help')"),
    (["pricing", "show"], "llmstats: missing argument 'model' (see 'llmstats pricing show --help')"),
    (["prune"], "llmstats: missing option '--older-than' (see 'llmstats prune --help')"),
    (["report", "--top", "many"], "llmstats: invalid value for '--top': 'many' is not a valid int"),
    (["report", "errors", "-f", "xml"], "llmstats: invalid value for '--format' / '-f': 'xml' is "
                                        "not one of 'table', 'json', 'jsonl', 'csv', 'markdown', 'html'"),
    (["ddl", "oracle"], "llmstats: invalid value for 'engine': 'oracle' is not one of 'athena', "
                        "'trino', 'spark' (see 'llmstats ddl --help')"),
    (["demo", "--calls", "3"], "llmstats: invalid value for '--calls': 3 is not in the range "
                               "10<=x<=5000 (see 'llmstats demo --help')"),
    (["colour"], "llmstats: no such command 'colour' (see 'llmstats --help')"),
    (["report", "weekly"], "llmstats: no such command 'weekly' (see 'llmstats report --help')"),
    (["report", "savings", "--top"], "llmstats: option '--top' requires an argument"),
])
def test_typer_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    assert_one_line(invoke(*args), 2, message)


def test_a_command_group_alone_still_prints_its_help() -> None:
    for args in ([], ["pricing"], ["audit"]):
        result = invoke(*args)
        assert "Usage: llmstats" in result.output and "Commands:" in result.output, args


# ---- windows beyond what a date can hold -------------------------------------------------

@pytest.mark.parametrize("args", [
    ["report", "--since", "1000000d"],
    ["report", "--since", "99999999999999999999999d"],
    ["report", "--until", "9999-12-31"],
    ["report", "latency", "--until", "9999-12-31T23:00-05:00"],
    ["report", "savings", "--since", "0001-01-01", "--tz", "Europe/Berlin"],
    ["export", "--since", "5000000w"],
    ["compact", "--since", "1000000d"],
])
def test_a_window_out_of_range_is_one_line_and_exit_2(data_dir: Path, args: list[str]) -> None:
    text = args[args.index("--since") + 1] if "--since" in args else args[args.index("--until") + 1]
    assert_one_line(invoke(*args), 2, f"llmstats: date {text!r} is out of range: windows "
                    "must stay within the years 1 to 9999")


@pytest.mark.parametrize("age", ["99999999999d", "9999999w", "800000d"])
def test_a_prune_age_out_of_range_is_one_line_and_exit_2(data_dir: Path, age: str) -> None:
    assert_one_line(invoke("prune", "--older-than", age, "--dry-run"), 2,
                    f"llmstats: age {age!r} is out of range: it reaches back before the year 1")


def test_the_widest_window_that_fits_reads_everything(data_dir: Path) -> None:
    result = invoke("report", "--since", "0001-01-02", "--until", "9999-12-30", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["calls"] == 8
    result = invoke("prune", "--older-than", "700000d", "--dry-run", "-f", "json")
    assert result.exit_code == 0, result.output


# ---- --where values ----------------------------------------------------------------------

@pytest.mark.parametrize(("where", "takes"), [
    ("day=notadate", "day takes a date, e.g. 2026-11-16"),
    ("day=2026-02-30", "day takes a date, e.g. 2026-11-16"),
    ("day=", "day takes a date, e.g. 2026-11-16"),
    ("week=2026-11-18", "week takes the Monday that names the week (here 2026-11-16)"),
    ("week=soon", "week takes a date, e.g. 2026-11-16"),
    ("month=2026-11-05", "month takes the first day that names the month (here 2026-11-01)"),
    ("month=november", "month takes a date, e.g. 2026-11-16 or 2026-11"),
    ("hour=noon", "hour takes an hour like '2026-11-16 09:00'"),
    ("hour=2026-11-19 24:00", "hour takes an hour like '2026-11-16 09:00'"),
    ("hour=2026-11-19 10:30", "hour takes an hour like '2026-11-16 09:00'"),
    ("stream=maybe", "stream takes true or false"),
    ("status=ok", "status takes success or failure"),
])
def test_a_where_value_its_dimension_cannot_take_is_exit_2(data_dir: Path, where: str,
                                                            takes: str) -> None:
    key, _, value = where.partition("=")
    for command in (["report"], ["report", "errors"], ["export"]):
        assert_one_line(invoke(*command, "--where", where), 2,
                        f"llmstats: bad --where {key}={value!r}: {takes}")


@pytest.mark.parametrize(("where", "calls"), [
    ("day=2026-11-19", 3), ("week=2026-11-16", 8), ("month=2026-11", 8),
    ("month=2026-11-01", 8), ("hour=2026-11-19 00:00", 3), ("hour=2026-11-19T00", 3),
    ("stream=false", 0), ("status=FAILURE", 1), ("priced_by=default", 1),
])
def test_where_values_in_each_accepted_form(data_dir: Path, where: str, calls: int) -> None:
    result = invoke("report", "--where", where, "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["calls"] == calls


def test_any_text_on_every_other_dimension_is_a_filter_not_an_error(data_dir: Path) -> None:
    """Free-text dimensions take any value (bound as a parameter): a hostile one matches
    nothing; none of them may fail the report (exit 1) or print a traceback."""
    checked = {"day", "week", "month", "hour", "stream", "status"}
    for name in sorted(set(DIMENSIONS) - checked):
        for command in (["report"], ["report", "errors"]):
            result = invoke(*command, "--where", f"{name}=x'); DROP TABLE events; --",
                            "-f", "json")
            if name == "priced_by" and command[-1] == "errors":  # a cost column
                assert_one_line(result, 2, "--where priced_by=… only applies to cost reports")
                continue
            assert result.exit_code == 0, (name, command, result.output)
            totals = json.loads(result.stdout).get("totals", {})
            assert totals.get("calls", 0) == 0, (name, totals)


# ---- a data dir that is not there ------------------------------------------------------------

@pytest.mark.parametrize(("args", "doing"), [
    (["export"], "export"),
    (["compact"], "compact"),
    (["compact", "--date", "2026-11-19"], "compact"),
    (["rollup"], "roll up"),
    (["rollup", "--drop"], "roll up"),
    (["prune", "--older-than", "30d"], "prune"),
    (["prune", "--older-than", "30d", "--dry-run"], "prune"),
    (["purge", "--yes"], "purge"),
])
def test_commands_that_write_never_create_a_missing_data_dir(tmp_path: Path, args: list[str],
                                                             doing: str) -> None:
    missing = tmp_path / "typo"
    for where in (["--data-dir", str(missing)], []):
        env_missing = tmp_path / "llmstats-data"  # LLMSTATS_DATA_DIR: never created here
        target = missing if where else env_missing
        assert_one_line(invoke(*args, *where), 2, f"llmstats: no data dir at {target}: "
                        f"nothing to {doing} (check --data-dir or LLMSTATS_DATA_DIR)")
        assert not target.exists()
