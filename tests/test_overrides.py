"""Price overrides are checked in one place (issue 20): `pricing set` refuses what the
loader refuses (negative, NaN and infinite prices, an empty model, a window that ends
before it starts), a bad overrides file is one line naming the entry and the command
that fixes it (exit 2), and `pricing unset` removes a bad entry."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmstats.analytics.cli.app import app
from llmstats.analytics.pricing.overrides import OVERRIDES_FILE, load_defaults, load_overrides

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("gpt-4o", "--input", "-1", "--output", "8"), "`input` must not be negative"),
        (("gpt-4o", "--input", "nan", "--output", "8"), "`input` must be a finite number"),
        (("gpt-4o", "--input", "2", "--output", "inf"), "`output` must be a finite number"),
        (("gpt-4o", "--input", "2", "--output", "8", "--cache-read", "-0.5"),
         "`cache_read` must not be negative"),
        ((" ", "--input", "2", "--output", "8"), "`model` must be a non-empty string"),
        (("gpt-4o", "--input", "2", "--output", "8", "--from", "2026-12-01",
          "--until", "2026-11-01"), "valid_from must be before valid_to"),
        (("--default", "--input", "nan"), "`input` must be a finite number"),
    ],
)
def test_pricing_set_refuses_what_the_loader_refuses(
    isolated_data_dir: Path, args: tuple[str, ...], message: str
) -> None:
    result = invoke("pricing", "set", *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llmstats: ") and message in lines[0], lines
    assert not (isolated_data_dir / OVERRIDES_FILE).exists()


@pytest.mark.parametrize(
    "price", ["input = nan", "input = inf", "input = -2.0", "input = -inf"]
)
def test_a_bad_file_names_the_entry_and_the_fix_on_every_read(
    isolated_data_dir: Path, price: str
) -> None:
    path = isolated_data_dir / OVERRIDES_FILE
    path.parent.mkdir(parents=True)
    path.write_text('[[price]]\nmodel = "ok-model"\ninput = 1.0\noutput = 2.0\n\n'
                    f'[[price]]\nmodel = "gpt-4o"\n{price}\noutput = 8.0\n')
    for command in (("report",), ("pricing", "show", "gpt-4o"), ("status",)):
        result = invoke(*command)
        assert result.exit_code == 2, (command, result.output)
        line = result.output.strip()
        assert "\n" not in line and "price #2 (gpt-4o)" in line, line
        assert "llmstats pricing unset gpt-4o" in line
    result = invoke("pricing", "unset", "gpt-4o")
    assert result.exit_code == 0, result.output
    assert [e.model for e in load_overrides(str(isolated_data_dir))] == ["ok-model"]
    assert invoke("report").exit_code == 0


def test_the_default_prices_are_set_kept_and_removed(isolated_data_dir: Path) -> None:
    result = invoke("pricing", "set", "--default", "--input", "5", "--output", "25")
    assert result.exit_code == 0, result.output
    result = invoke("pricing", "set", "gpt-4o", "--input", "2", "--output", "8",
                    "--from", "2026-12-01", "--until", "2027-01-01")
    assert result.exit_code == 0, result.output
    defaults = load_defaults(str(isolated_data_dir))
    assert (defaults["input"], defaults["output"], defaults["per_image"]) == (5.0, 25.0, 0.08)
    [entry] = load_overrides(str(isolated_data_dir))
    assert (entry.model, entry.valid_to) == ("gpt-4o", __import__("datetime").date(2027, 1, 1))
    assert math.isfinite(entry.input)
    assert invoke("pricing", "unset", "--all").exit_code == 0
    assert load_defaults(str(isolated_data_dir))["input"] == 3.0
    assert load_overrides(str(isolated_data_dir)) == []
