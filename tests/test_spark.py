"""Portability: the dataset is plain hive-partitioned Parquet. Spark (local mode) reads a
copy of the bucket — Spark reads s3:// only with hadoop-aws jars it would have to
download — and gets the same totals per model as `llmstats report`, also in the middle
of a compaction's grace period, when the replaced inputs still exist under hidden names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest

from llmstats.analytics.maintenance.compaction import compact
from llmstats.plugin.config import load_settings
from llmstats.plugin.writer import EventWriter
from tests.support.moto_server import create_bucket, moto_s3, s3_env
from tests.support.rows import BASE_TS, event_row

pytestmark = pytest.mark.slow

DAY_US = 86_400_000_000
MODELS = [("openai", "gpt-4o-mini"), ("anthropic", "claude-haiku-4-5"), ("openai", "gpt-4o")]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("llmstats-portability")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def write_fleet_day(data_dir: str) -> None:
    """Three days of calls for three models; day 1 in many small files (one per flush),
    with tags and prompt segments."""
    writer = EventWriter(load_settings(data_dir=data_dir, flush_seconds=3600))
    for flush in range(14):
        for i in range(6):
            provider, model = MODELS[(flush + i) % 3]
            day = 0 if flush < 10 else flush - 9
            tokens = 100 + 7 * flush + i
            writer.submit(event_row(
                ts=BASE_TS + day * DAY_US + flush * 1_000_000 + i, provider=provider, model=model,
                input_tokens=tokens, output_tokens=flush + i, total_tokens=tokens + flush + i,
                reported_cost_usd=round(tokens * 1e-6, 9), tags=["prod", f"app-{i % 2}"],
                segments=[{"role": "system", "kind": "text", "tokens": tokens - 40},
                          {"role": "user", "kind": "text", "tokens": 40}]))
        writer.flush()
    writer.close()


def spark_totals(spark: Any, events: Path) -> dict[str, dict[str, Any]]:
    from pyspark.sql import functions as F

    frame = spark.read.parquet(str(events))
    rows = (frame.groupBy("model")
            .agg(F.count("*").alias("calls"), F.countDistinct("trace_id").alias("requests"),
                 F.sum("input_tokens").alias("input_tokens"),
                 F.sum("output_tokens").alias("output_tokens"),
                 F.round(F.sum("reported_cost_usd"), 9).alias("reported_cost_usd"))
            .collect())
    return {r["model"]: {k: r[k] for k in ("calls", "requests", "input_tokens", "output_tokens",
                                           "reported_cost_usd")} for r in rows}


def llmstats_totals(data_dir: str, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    done = subprocess.run([str(Path(sys.executable).with_name("llmstats")), "report", "--by",
                           "model", "--format", "json", "--data-dir", data_dir],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    return {r["model"]: {"calls": r["calls"], "requests": r["requests"],
                         "input_tokens": r["input_tokens"], "output_tokens": r["output_tokens"],
                         "reported_cost_usd": round(r["reported_cost_usd"], 9)}
            for r in json.loads(done.stdout)["rows"]}


def test_spark_reads_the_bucket_copy_with_llmstats_totals_during_compaction_grace(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with moto_s3() as endpoint:
        env = s3_env(endpoint)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        bucket = f"spark-{uuid.uuid4().hex[:10]}"
        create_bucket(endpoint, bucket)
        data_dir = f"s3://{bucket}/llmstats"
        write_fleet_day(data_dir)
        [done] = compact(data_dir, min_files=2).partitions  # day 1: 10 files → 1
        assert done.input_files == 10
        expected = llmstats_totals(data_dir, env)
        copy = tmp_path / "bucket-copy"  # what `aws s3 sync` would leave
        fs, root = pafs.FileSystem.from_uri(data_dir)
        pafs.copy_files(root, str(copy), source_filesystem=fs,
                        destination_filesystem=pafs.LocalFileSystem())

    day1 = copy / "events" / f"date={done.date}"
    hidden = sorted(p.name for p in day1.iterdir() if p.name.startswith("_replaced-"))
    assert len(hidden) == 10  # the grace period: replaced inputs are still there
    assert sum(v["calls"] for v in expected.values()) == 14 * 6
    assert spark_totals(spark, copy / "events") == expected

    # Every column type of the event schema maps: lists of structs, lists of strings.
    from pyspark.sql import functions as F

    frame = spark.read.parquet(str(copy / "events"))
    types = dict(frame.dtypes)
    assert types["segments"] == "array<struct<role:string,kind:string,tokens:bigint>>"
    assert types["tags"] == "array<string>" and types["date"] == "date"
    assert types["ts"] == "timestamp"
    segment_tokens = frame.select(F.explode("segments").alias("s")).agg(F.sum("s.tokens")).first()[0]
    assert segment_tokens == sum(v["input_tokens"] for v in expected.values())
    assert frame.where(F.col("date") == F.lit(done.date).cast("date")).count() == 60

    # The external table `llmstats ddl spark` prints declares the same types.
    from llmstats.analytics.store.external_tables import Engine, table_ddl

    for statement in table_ddl(Engine.spark, str(copy / "events")).split(";"):
        sql = "\n".join(line for line in statement.splitlines() if not line.startswith("--"))
        if sql.strip():
            spark.sql(sql)  # CREATE TABLE, then MSCK REPAIR TABLE
    by_table = spark.sql(
        "SELECT model, count(*) AS calls, sum(input_tokens) AS input_tokens, "
        "sum(size(segments)) AS segments, sum(size(tags)) AS tags FROM llmstats_events "
        "GROUP BY model").collect()
    assert {r["model"]: r["input_tokens"] for r in by_table} == {
        m: v["input_tokens"] for m, v in expected.items()}
    assert sum(r["segments"] for r in by_table) == sum(r["tags"] for r in by_table) == 2 * 84

    # Without the hiding, a naive engine counts the compacted day twice.
    for name in hidden:
        (day1 / name).rename(day1 / name.removeprefix("_replaced-"))
    doubled = spark_totals(spark, copy / "events")
    assert sum(v["calls"] for v in doubled.values()) == 14 * 6 + 60
