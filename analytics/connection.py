"""`connect()`: a DuckDB connection with every view from `sql/` defined.

Notebooks, the CLI and users' scripts all start here. Views are loaded from the numbered
`sql/NN_topic.sql` files in name order; each may use the views of lower numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from .catalog import Catalog, load_catalog
from .dataset import DatasetState, event_files, register_raw_events
from .overrides import load_overrides, overrides_table

if TYPE_CHECKING:
    import duckdb


def resolve_data_dir(data_dir: str | None = None) -> str:
    """The data dir: the argument, else what `load_settings()` resolves (env, file, default)."""
    if data_dir is not None:
        return str(data_dir)
    from llmstats.plugin.config import load_settings

    return load_settings().data_dir


def sql_files() -> list[tuple[str, str]]:
    """(name, text) of every view file, in load order."""
    folder = resources.files("llmstats.sql")
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return files


@dataclass
class Dataset:
    """A connection plus what was found while opening it (for status lines and warnings)."""

    con: duckdb.DuckDBPyConnection
    state: DatasetState
    catalog: Catalog

    @property
    def data_dir(self) -> str:
        return self.state.data_dir


def open_dataset(
    data_dir: str | None = None,
    *,
    quarantine: bool = False,
    catalog: Catalog | None = None,
    threads: int | None = None,
) -> Dataset:
    import duckdb

    resolved = resolve_data_dir(data_dir)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    # Day boundaries and timestamps render in UTC unless a report asks for a zone.
    con.execute("SET TimeZone = 'UTC'")
    # A report runs several queries over the same files: parse each footer once.
    con.execute("SET parquet_metadata_cache = true")
    # DuckDB's own progress bar would print into report output; the CLI has its own.
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        # In Jupyter without ipywidgets DuckDB refuses to change the setting (it is off
        # there already); connect() must still work in a notebook.
        pass
    state = DatasetState(resolved, event_files(resolved))
    register_raw_events(con, state, quarantine=quarantine)
    # Reports read this to choose an exact or an approximate distinct count of requests.
    con.execute("SET VARIABLE llmstats_event_rows = $rows", {"rows": state.rows})
    catalog = catalog or load_catalog(resolved)
    con.register("catalog_arrow", catalog.table)
    con.execute("CREATE TABLE price_catalog AS SELECT * FROM catalog_arrow")
    con.unregister("catalog_arrow")
    con.register("overrides_arrow", overrides_table(load_overrides(resolved)))
    con.execute("CREATE TABLE price_overrides AS SELECT * FROM overrides_arrow")
    con.unregister("overrides_arrow")
    for _name, text in sql_files():
        con.execute(text)
    return Dataset(con, state, catalog)


def connect(
    data_dir: str | None = None, *, quarantine: bool = False, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection over the data dir with every view ready (`events`,
    `event_costs`, `savings`, `requests`, `errors`, `latency`, `context_usage`,
    `daily_usage` / `weekly_usage` / `monthly_usage`, `what_if(model)`).

    `data_dir` defaults to what `load_settings()` resolves (LLMSTATS_DATA_DIR, ...).
    An empty or missing data dir gives views with no rows."""
    return open_dataset(data_dir, quarantine=quarantine, threads=threads).con
