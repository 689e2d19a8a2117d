"""The sketch quantiles are within 1 % of DuckDB's exact interpolated quantile_cont."""

from __future__ import annotations

import random

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmstats.analytics.connection import sql_files
from llmstats.analytics.rollups.quantiles import RELATIVE_ERROR, quantile_sql

QS = (0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(dict(sql_files())["00_measures.sql"])
    return connection


def sketch_vs_exact(con: duckdb.DuckDBPyConnection, values: list[float]) -> list[tuple[float, float]]:
    con.execute("CREATE OR REPLACE TABLE v (x DOUBLE)")
    con.executemany("INSERT INTO v VALUES (?)", [(x,) for x in values])
    cells = "(SELECT sketch_bucket(x) AS bucket, 1 AS n_x FROM v)"
    row = con.execute(quantile_sql(cells, [], {"x": QS})).fetchone()
    assert row is not None and row[0] == len(values)
    exact = con.execute(
        f"SELECT {', '.join(f'quantile_cont(x, {q})' for q in QS)} FROM v"
    ).fetchone()
    assert exact is not None
    return list(zip(row[1:], exact, strict=True))


def within_bound(pairs: list[tuple[float, float]]) -> None:
    for estimate, exact in pairs:
        assert abs(estimate - exact) <= RELATIVE_ERROR * abs(exact) * (1 + 1e-9), (estimate, exact)


@pytest.mark.parametrize(
    "values",
    [
        [random.Random(1).lognormvariate(6.5, 0.9) for _ in range(5000)],  # latencies
        [random.Random(2).uniform(0, 50) for _ in range(2000)],
        [1.0, 1_000_000.0],  # two values far apart: interpolation across the gap
        [1.0] * 50 + [1_000_000.0] * 3,
        [250.0],
        [(1.01 / 0.99) ** k for k in range(-20, 20)],  # bucket edges
        [1e-6, 2e-6, 3e-6],
        [0.0, 0.0, 5.0, 10.0],  # zeros are exact
    ],
)
def test_sketch_quantiles_are_within_one_percent(con: duckdb.DuckDBPyConnection,
                                                  values: list[float]) -> None:
    within_bound(sketch_vs_exact(con, values))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1e-3, max_value=1e8, allow_nan=False), min_size=1, max_size=200))
def test_sketch_quantiles_are_within_one_percent_of_any_sample(values: list[float]) -> None:
    connection = duckdb.connect()
    connection.execute(dict(sql_files())["00_measures.sql"])
    within_bound(sketch_vs_exact(connection, values))


def test_the_bound_is_tight_not_loose(con: duckdb.DuckDBPyConnection) -> None:
    """A sample can sit 1 % from its bucket's value (so the bound is what it says), and
    non-finite values are left out rather than failing."""
    worst = max(abs(e - x) / x for e, x in sketch_vs_exact(con, [1.0, 1.0, 1.0]))
    assert worst == pytest.approx(RELATIVE_ERROR, rel=1e-9)
    assert con.execute("SELECT sketch_bucket('nan'::DOUBLE), sketch_bucket('inf'::DOUBLE)").fetchone() == (None, None)
