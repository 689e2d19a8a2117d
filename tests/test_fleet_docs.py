"""`llmstats ddl`: every event-schema column with its mapped type, for each engine; and
the fleet docs show what the command prints."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from llmstats.analytics.cli.app import app
from llmstats.analytics.store.external_tables import Engine, hive_type, table_ddl, trino_type
from llmstats.plugin.schema import EVENT_SCHEMA

ROOT = Path(__file__).resolve().parent.parent


def test_types_map_exactly() -> None:
    assert hive_type(EVENT_SCHEMA.field("segments").type) == (
        "array<struct<role:string,kind:string,tokens:bigint>>")
    assert trino_type(EVENT_SCHEMA.field("segments").type) == (
        "array(row(role varchar, kind varchar, tokens bigint))")
    assert (hive_type(pa.list_(pa.string())), trino_type(pa.list_(pa.string()))) == (
        "array<string>", "array(varchar)")
    assert [hive_type(t) for t in (pa.int32(), pa.int64(), pa.float64(), pa.bool_())] == [
        "int", "bigint", "double", "boolean"]
    assert hive_type(pa.timestamp("us", tz="UTC")) == "timestamp"


@pytest.mark.parametrize("engine", list(Engine))
def test_ddl_declares_every_column_then_the_date_partition(engine: Engine) -> None:
    ddl = table_ddl(engine, "s3://b/p/events")
    mapped = trino_type if engine is Engine.trino else hive_type
    quote = '"' if engine is Engine.trino else "`"
    declared = re.findall(rf"^  {quote}(\w+){quote} (.+?),?$", ddl, flags=re.M)
    columns = [(f.name, mapped(f.type)) for f in EVENT_SCHEMA]
    assert declared[: len(columns)] == columns
    assert "date" in ddl and "s3://b/p/events" in ddl


def test_the_ddl_command_prints_the_table_for_the_data_dir() -> None:
    result = CliRunner().invoke(app, ["ddl", "spark", "--data-dir", "s3://acme/llm"])
    assert result.exit_code == 0, result.output
    assert result.stdout == table_ddl(Engine.spark, "s3a://acme/llm/events")
    bad = CliRunner().invoke(app, ["ddl", "bigquery"])
    assert bad.exit_code == 2


def test_fleet_docs_show_what_ddl_prints() -> None:
    docs = (ROOT / "docs" / "fleet.md").read_text()
    athena = table_ddl(Engine.athena, "s3://acme-llm/llmstats/events")
    # The page abbreviates the column list; everything around it is the command's output.
    for line in athena.splitlines():
        if line.startswith("  `") and "`segments`" not in line and "`tags`" not in line\
                and "`event_id`" not in line:
            continue
        assert line in docs, line
