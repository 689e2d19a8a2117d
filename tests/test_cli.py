"""The `llmstats` CLI through typer's CliRunner: whole outputs, exit codes, bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from llmstats.analytics.cli.app import app
from tests.support.event_data import write_fixture_dataset

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


@pytest.fixture
def data_dir(isolated_data_dir: Path) -> Path:
    write_fixture_dataset(str(isolated_data_dir))
    return isolated_data_dir


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


def test_every_command_has_help_with_an_example() -> None:
    commands = _commands(get_command(app))
    assert len(commands) >= 14
    for path, command in commands:
        assert command.help and "Example" in command.help, path
        result = invoke(*path, "--help")
        assert result.exit_code == 0, result.output
        assert "Example" in result.output, path


def test_the_cli_module_imports_neither_duckdb_nor_litellm() -> None:
    """`llmstats --help` stays fast: heavy modules load inside commands only."""
    code = (
        "import sys, llmstats.analytics.cli.app; "
        "print(sorted(m for m in ('duckdb', 'litellm', 'pyarrow', 'polars') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_report_json_is_one_object_with_totals_and_rows(data_dir: Path) -> None:
    result = invoke("report", "--by", "team", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert list(document) == ["totals", "rows", "notes"]
    totals = document["totals"]
    assert {
        k: totals[k]
        for k in (
            "requests",
            "calls",
            "input_tokens",
            "output_tokens",
            "calls_on_default_prices",
            "calls_on_zero_prices",
        )
    } == {
        "requests": 7,
        "calls": 8,
        "input_tokens": 3750,
        "output_tokens": 300,
        "calls_on_default_prices": 1,
        "calls_on_zero_prices": 1,
    }
    assert round(totals["cost_usd"], 9) == round(8.4e-5 + 4.5e-3 + 2.45e-4 + 1.2e-3 + 1.84e-3, 9)
    assert round(totals["error_rate"], 6) == 0.125
    assert [(r["team"], r["calls"], round(r["cost_usd"], 9)) for r in document["rows"]] == [
        ("search", 5, round(8.4e-5 + 4.5e-3 + 1.2e-3, 9)),
        ("labs", 3, round(2.45e-4 + 1.84e-3, 9)),
    ]
    assert document["notes"][0].startswith("$0.0045 of the cost rests on default prices")


MARKDOWN_BY_TAG = """\
## Usage by tag

| metric | value |
|---|---|
| requests | 7 |
| calls | 8 |
| input_tokens | 3,750 |
| output_tokens | 300 |
| cached_tokens | 40 |
| cost_usd | $0.0079 |
| reported_cost_usd | $0.0028 |
| savings_usd | $0.0013 |
| error_rate | 12.50% |
| p50_latency_ms | 198 |
| p95_latency_ms | 339 |
| p50_ttft_ms | 100 |
| p95_ttft_ms | 100 |
| cost_on_default_prices_usd | $0.0045 |
| calls_on_default_prices | 1 |
| calls_on_zero_prices | 1 |
| tokens_on_zero_prices | 550 |
| reported_cost_on_zero_prices_usd | $0.0000 |

| tag | requests | calls | input_tokens | output_tokens | cached_tokens | cost_usd | reported_cost_usd | savings_usd | error_rate | p50_latency_ms | p95_latency_ms | p50_ttft_ms | p95_ttft_ms | cost_on_default_prices_usd |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
| beta | 2 | 2 | 1,900 | 110 | 0 | $0.0063 | $0.0018 | $0.0000 | 0.00% | 299 | 389 | 100 | 100 | $0.0045 |
| alpha | 6 | 7 | 2,750 | 200 | 40 | $0.0034 | $0.0028 | $0.0013 | 14.29% | 198 | 198 | — | — | $0.0000 |

> $0.0045 of the cost rests on default prices ($3 / $15 per million tokens, $0.08 per image, $0.0001 per audio second) for 1 calls to models neither the catalog nor pricing/overrides.toml prices: a guess, below the list price of the dearest models (rows: cost_on_default_prices_usd; set your own with `llmstats pricing set MODEL …` or `llmstats pricing set --default …`).

> 1 calls (550 tokens) rest on a catalog price of $0; if those models are not free, add an override.
"""


def test_totals_by_model_and_priced_by_are_the_sums_of_the_rows(data_dir: Path) -> None:
    """Grouping by priced_by (a per-event pricing outcome) once left every money total
    and the default/zero-price counts blank (NULL); and the table showed an internal
    `requests_exact` flag users cannot read."""
    from llmstats.analytics.report.format import human

    result = invoke("report", "--by", "model,priced_by", "-f", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    totals, rows = document["totals"], document["rows"]
    assert {r["priced_by"] for r in rows} == {"catalog", "default", "catalog_zero"}
    summed = ("calls", "cost_usd", "reported_cost_usd", "savings_usd")
    for column in summed:
        assert totals[column] == pytest.approx(sum(r[column] for r in rows)), column
    default = [r for r in rows if r["priced_by"] == "default"]
    assert totals["cost_on_default_prices_usd"] == pytest.approx(sum(r["cost_usd"] for r in default))
    assert totals["calls_on_default_prices"] == sum(r["calls"] for r in default)
    assert totals["calls_on_zero_prices"] == sum(r["calls"] for r in rows if r["priced_by"] == "catalog_zero")
    assert "requests_exact" not in totals
    for fmt in ("table", "markdown"):
        result = invoke("report", "--by", "model,priced_by", "-f", fmt)
        assert result.exit_code == 0, result.output
        pairs = (re.fullmatch(r"\|?\s*(\w+)\s*[│|]\s*(\S+)\s*\|?", line.strip())
                 for line in result.stdout.splitlines())
        lines = {m[1]: m[2] for m in pairs if m and m[1] in totals}
        for column in (*summed, "cost_on_default_prices_usd", "calls_on_default_prices",
                       "calls_on_zero_prices", "tokens_on_zero_prices"):
            assert lines[column] == human(column, totals[column]), (fmt, column)
        assert "requests_exact" not in result.stdout


def test_report_by_tag_in_markdown_counts_a_two_tag_event_once_in_totals(data_dir: Path) -> None:
    # Latency quantiles come from 1 % sketches (exact: 200, 340, 300, 390). Trace t2
    # failed on acme-chat (tag alpha) and was answered by mystery-model (tag beta): the
    # request counts in beta, the group of its final attempt.
    result = invoke("report", "--by", "tag", "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert result.stdout == MARKDOWN_BY_TAG


def test_filters_and_windows_narrow_the_report(data_dir: Path) -> None:
    def calls(*args: str) -> int:
        result = invoke("report", "--format", "json", *args)
        assert result.exit_code == 0, result.output
        return int(json.loads(result.stdout)["totals"]["calls"])

    assert calls("--where", "team=labs") == 3
    assert calls("--where", "team=labs", "--where", "team=search") == 8
    assert calls("--where", "tag=beta") == 2
    assert calls("--since", "2026-11-20", "--until", "2026-11-20") == 1
    assert calls("--since", "2026-11-21") == 4
    # Day boundaries in a zone west of UTC move the 00:00:01Z event to the previous day.
    assert calls("--until", "2026-11-18", "--tz", "America/New_York") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--by", "colour"], "unknown dimension 'colour'"),
        (["report", "--since", "last tuesday"], "bad date 'last tuesday'"),
        (["report", "--where", "team"], "bad filter 'team'"),
        (["report", "--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["report", "savings", "--by", "model,model"], "dimension listed twice"),
        (["export", "--format", "xml"], "unknown export format 'xml'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(data_dir: Path, args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llmstats: ") and message in lines[0], (
        result.stderr
    )
    assert "Traceback" not in result.output


def test_an_empty_data_dir_is_a_friendly_empty_report(isolated_data_dir: Path) -> None:
    result = invoke("report")
    assert result.exit_code == 0, result.output
    assert f"No events yet under {isolated_data_dir}." in result.stdout
    result = invoke("report", "latency", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == []


def test_a_corrupt_file_is_named_and_the_report_still_runs(data_dir: Path) -> None:
    bad = data_dir / "events" / "date=2026-11-19" / "torn-00000001.parquet"
    bad.write_bytes(b"PAR1\x00\x01")
    result = invoke("report", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["calls"] == 8
    assert f"warning: skipped unreadable file {bad}" in result.stderr
    assert "--quarantine moves it aside" in result.stderr
    result = invoke("report", "--quarantine", "-f", "json")
    assert result.exit_code == 0, result.output
    assert not bad.exists()
    assert (data_dir / "quarantine" / "events" / "date=2026-11-19" / bad.name).exists()


def test_sub_reports(data_dir: Path) -> None:
    result = invoke("report", "errors", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == [
        {
            "provider": "openai",
            "model": "acme-chat",
            "error": "RateLimitError",
            "failures": 1,
            "calls": 1,
            "error_rate": 1.0,
            "http_status": 429,
            "error_code": "rate_limit_exceeded",
            "error_code_source": None,  # a file written before schema version 2
            "retries": 0,
            "fallbacks": 0,
            # A fallback (e3) answered this request: none ended in the rate limit.
            "requests": 0,
            "first_attempts": 0,
            "client_retries": 0,
        }
    ]
    result = invoke("report", "context", "-f", "csv")
    assert result.exit_code == 0, result.output
    header, first = result.stdout.splitlines()[0:2]
    assert header == (
        "model,calls,ok,low,medium,high,critical,exceeded,unknown,p95_usage_pct,max_usage_pct,"
        "context_window"
    )
    # usage 10, 10, 15, 90 %: the interpolated 95th percentile is 15 + 0.85 × 75, read
    # from sketch buckets (within 1 %); the largest share exactly.
    assert first.split(",")[:9] == ["acme-chat", "4", "3", "0", "0", "1", "0", "0", "0"]
    assert float(first.split(",")[9]) == pytest.approx(78.75, rel=0.01)
    assert float(first.split(",")[9]) != 78.75
    assert float(first.split(",")[10]) == 90.0
    result = invoke("report", "savings", "-f", "json", "--by", "team")
    assert result.exit_code == 0, result.output
    savings = {r["team"]: round(r["savings_usd"], 9) for r in json.loads(result.stdout)["rows"]}
    assert savings == {"search": round(3.6e-5 + 1.2e-4 + 1.2e-3, 9), "labs": round(-5.5e-5, 9)}
    result = invoke("report", "--reconcile", "-f", "json")
    assert result.exit_code == 0, result.output
    reasons = {(r["model"], r["reason"], r["events"]) for r in json.loads(result.stdout)["rows"]}
    assert reasons == {
        ("mystery-model", "litellm_unmapped", 1),
        ("acme-chat", "not_reported", 1),
        # A batch call above acme-chat's 200-token threshold: LiteLLM's batch path bills
        # half the flat rates (6e-4), ours half the long-context rates.
        ("acme-chat", "litellm_batch_flat_rates", 1),
    }


def test_savings_per_model_team_key_and_day(data_dir: Path) -> None:
    def savings(by: str) -> dict[str, float]:
        result = invoke("report", "savings", "--by", by, "-f", "json")
        assert result.exit_code == 0, result.output
        return {str(r[by]): round(r["savings_usd"], 9) for r in json.loads(result.stdout)["rows"]}

    # e1 reads 40 cached tokens (saves $3.6e-5); e5 writes 100 (costs $5.5e-5 more); e6 is
    # a proxy-cache hit (its list cost, $1.2e-4); e7 a batch call (half of $2.4e-3).
    assert savings("day") == {"2026-11-19": 3.6e-5, "2026-11-20": 0.0,
                              "2026-11-21": round(-5.5e-5 + 1.2e-4 + 1.2e-3, 9)}
    assert savings("key") == {"k1": round(3.6e-5 - 5.5e-5 + 1.2e-4 + 1.2e-3, 9)}
    assert savings("model") == {"acme-chat": round(3.6e-5 - 5.5e-5 + 1.2e-4 + 1.2e-3, 9),
                                "mystery-model": 0.0, "llama3": 0.0}


def test_reconcile_is_a_flag_and_a_sub_command(data_dir: Path) -> None:
    flag = invoke("report", "--reconcile", "-f", "json")
    command = invoke("report", "reconcile", "-f", "json")
    assert flag.exit_code == 0 and command.exit_code == 0, flag.output + command.output
    assert json.loads(flag.stdout) == json.loads(command.stdout)
    assert json.loads(flag.stdout)["totals"]["events"] == 8


def test_every_reconcile_reason_is_explained_in_docs_pricing() -> None:
    import re

    from llmstats.analytics.report.reports import RECONCILE_REASON

    reasons = set(re.findall(r"THEN '(\w+)'", RECONCILE_REASON)) | {"other"}
    docs = (Path(__file__).resolve().parent.parent / "docs" / "pricing.md").read_text()
    assert len(reasons) >= 10
    for reason in reasons:
        assert f"`{reason}`" in docs, reason


def test_trace_shows_every_attempt(data_dir: Path) -> None:
    result = invoke("trace", "t2", "-f", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [(r["event_id"], r["status"], r["model"]) for r in document["rows"]] == [
        ("e2", "failure", "acme-chat"),
        ("e3", "success", "mystery-model"),
    ]
    assert document["totals"]["attempts"] == 2 and document["totals"]["fallbacks"] == 1
    result = invoke("trace", "nope")
    assert result.exit_code == 1 and "no events for trace 'nope'" in result.stderr


def test_status_shows_files_rows_pricing_and_writers(data_dir: Path) -> None:
    result = invoke("status", "-f", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    totals = document["totals"]
    assert {
        k: totals[k] for k in ("data_dir", "files", "rows", "first_date", "last_date", "days")
    } == {
        "data_dir": str(data_dir),
        "files": 3,
        "rows": 8,
        "first_date": "2026-11-19",
        "last_date": "2026-11-21",
        "days": 3,
    }
    assert totals["pricing_catalog"] == "snapshot (litellm test, 2 models)"
    assert [(w["writer_id"], w["health"], w["written"]) for w in document["rows"]] == [
        ("fixture", "ok", 8)
    ]


def test_export_formats(data_dir: Path, tmp_path: Path) -> None:
    result = invoke("export", "--where", "team=labs")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["event_id"] for r in rows] == ["e4", "e5", "e8"]
    assert rows[1]["cost_usd"] == pytest.approx(2.45e-4)
    target = tmp_path / "out.parquet"
    result = invoke(
        "export", "--format", "parquet", "--output", str(target), "--since", "2026-11-21"
    )
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    assert pq.read_table(target).num_rows == 4
    result = invoke("export", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 9


def test_sql_is_read_only(data_dir: Path) -> None:
    result = invoke("sql", "SELECT count(*) AS n FROM requests", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == [{"n": 7}]
    for statement in (
        "CREATE TABLE x AS SELECT 1",
        "COPY events TO 'x.csv'",
        "INSERT INTO price_catalog (key) VALUES ('x')",
        "ATTACH 'x.db'",
    ):
        result = invoke("sql", statement)
        assert result.exit_code == 2, (statement, result.output)
        assert "queries only" in result.stderr
    result = invoke("sql", "SELEC 1")
    assert result.exit_code == 2 and "does not parse" in result.stderr


def test_pricing_show_and_set(data_dir: Path) -> None:
    result = invoke("pricing", "show", "acme-chat", "-f", "json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)["rows"]
    assert (
        row["key"],
        row["input_per_mtok"],
        row["output_per_mtok"],
        row["long_context_above_tokens"],
    ) == ("acme-chat", 1.0, 2.0, 200)
    result = invoke(
        "pricing", "set", "acme-chat", "--input", "0.5", "--output", "1.0", "--from", "2026-11-21"
    )
    assert result.exit_code == 0, result.output
    result = invoke("report", "--by", "priced_by", "-f", "json")
    by = {r["priced_by"]: r["calls"] for r in json.loads(result.stdout)["rows"]}
    assert by == {"override": 4, "catalog": 2, "default": 1, "catalog_zero": 1}
    result = invoke("pricing", "show", "no-such-model")
    assert result.exit_code == 1 and "priced at the default" in result.stderr


def test_pricing_update_snapshots_the_installed_catalog(isolated_data_dir: Path) -> None:
    result = invoke("pricing", "update")
    assert result.exit_code == 0, result.output
    assert (isolated_data_dir / "pricing" / "catalog.parquet").exists()
    result = invoke("pricing", "show", "gpt-4o-mini", "-f", "json")
    assert result.exit_code == 0, result.output
    assert "snapshot, litellm 1." in json.loads(result.stdout)["notes"][0]


def test_command_modules_keep_real_annotations() -> None:
    """typer evaluates string annotations of every command at each start (~40 ms a run)."""
    import llmstats.analytics.cli as package

    folder = Path(package.__file__).parent
    modules = [m for m in sorted(folder.glob("*.py")) if "import typer" in m.read_text()]
    assert len(modules) > 3
    for module in modules:
        lines = module.read_text().splitlines()
        assert "from __future__ import annotations" not in lines, module.name
