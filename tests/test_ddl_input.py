"""`llmstats ddl` puts nothing into DDL unchecked: no credentials from a URI (refused, and
never repeated), a real first date, and a table name and location that need no quoting."""

from __future__ import annotations

import pytest

from tests.support.cli_checks import assert_one_line, invoke

SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(("args", "what"), [
    (["athena", "--data-dir", f"s3://AKIAEXAMPLE:{SECRET}@acme-llm/llmstats"], "--data-dir"),
    (["spark", "--data-dir", f"s3://AKIAEXAMPLE:{SECRET}@acme-llm/llmstats"], "--data-dir"),
    (["trino", "--location", f"s3://AKIAEXAMPLE:{SECRET}@acme-llm/llmstats/events"],
     "the location"),
    (["athena", "--location", f"s3://{SECRET}@acme-llm/events"], "the location"),
])
def test_a_uri_with_credentials_is_refused_without_repeating_it(args: list[str], what: str) -> None:
    result = invoke("ddl", *args)
    assert_one_line(result, 2, f"llmstats: {what} must not carry credentials (user:secret@)")
    assert SECRET not in result.output


def test_a_data_dir_setting_with_credentials_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMSTATS_DATA_DIR", f"s3://AKIAEXAMPLE:{SECRET}@acme-llm/llmstats")
    result = invoke("ddl", "athena")
    assert_one_line(result, 2, "must not carry credentials")
    assert SECRET not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["athena", "--first-date", "nope"], "llmstats: bad first date 'nope': use YYYY-MM-DD"),
    (["athena", "--first-date", "2026-02-30"], "llmstats: bad first date '2026-02-30'"),
    (["athena", "--first-date", "2026-01-01',NOW'"], "llmstats: bad first date"),
    (["athena", "--table", "t; DROP TABLE x"], "llmstats: bad table name 't; DROP TABLE x': use "
                                               "letters, digits and _"),
    (["trino", "--table", "a.b.c"], "llmstats: bad table name 'a.b.c'"),
    (["spark", "--table", "`x`"], "llmstats: bad table name '`x`'"),
    (["spark", "--location", "s3://b/x' OPTIONS (y"], "llmstats: bad location \"s3a://b/x' OPTIONS (y\""),
    (["athena", "--location", "/data/${date}"], "llmstats: bad location '/data/${date}'"),
    (["athena", "--location", "relative/path"], "llmstats: bad location 'relative/path'"),
    (["trino", "--location", "s3://b/p?endpoint=http://evil"], "llmstats: the location takes no "
                                                               "query options"),
])
def test_bad_ddl_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = invoke("ddl", *args)
    assert_one_line(result, 2, message)
    assert result.stdout == ""


def test_valid_names_locations_and_dates_go_in_as_given() -> None:
    result = invoke("ddl", "trino", "--table", "analytics.llm_events",
                    "--location", "hdfs://namenode:8020/warehouse/llmstats/events")
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE hive.analytics.llm_events (" in result.stdout
    assert "external_location = 'hdfs://namenode:8020/warehouse/llmstats/events'" in result.stdout
    result = invoke("ddl", "athena", "--data-dir", "s3://acme-llm/llm-stats_2026",
                    "--first-date", "2026-03-01", "--table", "db.events")
    assert result.exit_code == 0, result.output
    assert "CREATE EXTERNAL TABLE db.events (" in result.stdout
    assert "'projection.date.range' = '2026-03-01,NOW'" in result.stdout
    assert "LOCATION 's3://acme-llm/llm-stats_2026/events/'" in result.stdout
