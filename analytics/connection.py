"""`connect()`: a DuckDB connection with every view from `sql/` defined.

Notebooks, the CLI and users' scripts all start here. Views are loaded from the numbered
`sql/NN_topic.sql` files in name order; each may use the views of lower numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

from .pricing.catalog import Catalog, CatalogInfo, candidate_keys, load_catalog, register_catalog
from .pricing.overrides import load_defaults, load_overrides, register_overrides
from .rollups.index import ReportContext, RollupIndex, all_parts, attach, index_rollups
from .store.dataset import DatasetState, event_files, file_schemas, register_raw_events
from .store.files import FileEntry, is_remote, resolve_data_dir

if TYPE_CHECKING:
    import duckdb

# What the overview, savings and latency reports need when rollups serve every partition
# (see open_dataset(lazy_events=True)); the event views follow only if a partition is
# left to the events.
LEAN_FILES = ("00_measures.sql", "02_pricing.sql", "08_context_bands.sql")
"""The view files that read no events: a report rollups cover defines only these."""
EVENT_FILES = ("01_events.sql", "03_event_costs.sql")


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
    catalog_info: CatalogInfo
    given_catalog: Catalog | None = None
    copied_days: set[str] = field(default_factory=set)
    """Days `events` and `event_costs` read from the priced copy (open_dataset's
    `from_copy`)."""
    _catalog: Catalog | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> str:
        return self.state.data_dir

    @property
    def catalog(self) -> Catalog:
        """The pricing catalog as an Arrow table (loaded on first use)."""
        if self._catalog is None:
            self._catalog = self.given_catalog or load_catalog(self.state.data_dir)
        return self._catalog


def _event_models(con: duckdb.DuckDBPyConnection, state: DatasetState) -> None:
    """Table `event_models`: the (provider, model) pairs of the readable files, numbered
    (pricing resolves each once). register_raw_events defines the same table."""
    con.execute(
        "CREATE OR REPLACE TABLE event_models AS SELECT "
        "CAST(unnest(range(1, len($p) + 1)) AS INTEGER) AS pair_id, "
        "CAST(unnest($p) AS VARCHAR) AS provider, CAST(unnest($m) AS VARCHAR) AS model",
        {"p": [p for p, _ in state.models] or [None], "m": [m for _, m in state.models] or [None]},
    )
    if not state.models:
        con.execute("DELETE FROM event_models")


def _pair_keys(con: duckdb.DuckDBPyConnection, state: DatasetState) -> list[str]:
    """Table `pair_keys`: per pair (numbered as event_models numbers them), the catalog
    keys that can price it, best first. Returns every key named."""
    pair_ids: list[int] = []
    ranks: list[int] = []
    keys: list[str] = []
    for pair_id, (provider, model) in enumerate(state.models, start=1):
        for rank, key in enumerate(candidate_keys(provider, model)):
            pair_ids.append(pair_id)
            ranks.append(rank)
            keys.append(key)
    con.execute(
        "CREATE OR REPLACE TABLE pair_keys AS SELECT CAST(unnest($i) AS INTEGER) AS pair_id, "
        "CAST(unnest($r) AS INTEGER) AS rank, CAST(unnest($k) AS VARCHAR) AS key",
        {"i": pair_ids or [0], "r": ranks or [0], "k": keys or [""]},
    )
    if not keys:
        con.execute("DELETE FROM pair_keys")
    return keys


def open_dataset(
    data_dir: str | None = None,
    *,
    quarantine: bool = False,
    catalog: Catalog | None = None,
    threads: int | None = None,
    files: list[FileEntry] | None = None,
    lazy_events: bool = False,
    use_rollups: bool = True,
    configure: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    sealed: bool = False,
    from_copy: bool = False,
) -> Dataset:
    """Open the data dir: list its event files (or take `files`), read their layouts,
    index the rollups that match them, load the pricing catalog and overrides, define
    the views. With `lazy_events`, only the pricing views are defined up front and the
    event views (`events`, `token_basis`, `cost_basis`, `event_costs`)
    when a report first needs events: the overview, savings and latency reports on a
    dataset that rollups cover then need neither the events nor pyarrow.

    `sealed` (what `llmstats sql` runs on): every view is defined over Arrow scans of the
    event files, then the connection is locked so that no statement can open a file or a
    URL, load an extension or change a setting (`seal`): it reads the views and nothing
    else, and can write nowhere.

    `from_copy` (what connect() opens): `events` and `event_costs` read the closed days
    the priced copy holds from it (rollups/copy_views.py)."""
    import duckdb

    if sealed:
        lazy_events, use_rollups = False, False
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
    if configure:
        configure(con)
    # Rollups are listed (and their manifests fetched) before the events: on object storage
    # that takes a moment, and it must not widen the gap between listing an event file and
    # reading it, which compaction's grace period bounds. A part published in between
    # is simply not seen (the events answer for its days).
    parts = all_parts(resolved) if use_rollups else None
    state = DatasetState(resolved, event_files(resolved) if files is None else list(files))
    groups = file_schemas(state)
    if quarantine and state.skipped:
        lazy_events = False  # register_raw_events moves the unreadable files aside
    candidates = _pair_keys(con, state)
    if catalog is not None:
        con.register("catalog_arrow", catalog.table)
        con.execute("CREATE TABLE price_catalog AS SELECT * FROM catalog_arrow")
        con.unregister("catalog_arrow")
        info = CatalogInfo(catalog.source, catalog.litellm_version, catalog.table.num_rows)
    elif lazy_events:
        # Only the entries the dataset's pairs can match (model_prices in 02_pricing.sql).
        info = register_catalog(con, resolved, sorted(set(candidates)))
    else:
        info = register_catalog(con, resolved)
    register_overrides(con, load_overrides(resolved), load_defaults(resolved))
    texts = dict(sql_files())
    loaded: set[str] = set()

    def define(names: Iterable[str]) -> None:
        """Run the view files not run yet, in load order; the first one over the events
        registers them (`raw_events`)."""
        for name in sorted(set(names) - loaded):
            over_events = name not in LEAN_FILES
            if over_events and not any(n not in LEAN_FILES for n in loaded):
                register_raw_events(con, state, quarantine=quarantine, groups=groups,
                                    through_arrow=sealed)
            con.execute(texts[name])
            loaded.add(name)

    readable = {path for paths in groups.values() for path in paths}
    state.files = [e for e in state.files if e.path in readable]
    index = index_rollups(resolved, state.files, parts) if parts is not None else RollupIndex()
    if is_remote(resolved) and not sealed:
        # DuckDB reads s3:// through one filesystem per connection: the event files and
        # the rollup parts reports may read, as listed (object_store.py).
        from .store.object_store import register_object_store

        register_object_store(con, resolved, [*state.files, *index.serving()])
    if lazy_events:
        _event_models(con, state)
        define(LEAN_FILES)
    else:
        define(texts)
    context = ReportContext(index, lambda: define(EVENT_FILES), lambda: define(texts))
    attach(con, context)
    copied: set[str] = set()
    if from_copy and use_rollups and not lazy_events:
        from .rollups.copy_views import serve_from_copy

        copied = serve_from_copy(con, state, groups, context)
    if sealed:
        seal(con)
    return Dataset(con, state, info, catalog, copied_days=copied)


SEALING = (
    # No file, directory or URL: COPY, ATTACH, EXPORT, read_csv('/etc/passwd'), glob, …
    "SET enable_external_access = false",
    # No extension may be fetched or loaded behind a statement's back.
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    # No Python object of this process is scanned by its variable name.
    "SET python_enable_replacements = false",
    # And none of the above can be set back (SET, PRAGMA and RESET are refused).
    "SET lock_configuration = true",
)


_MEMORY_UNITS = {"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
                 "PiB": 1 << 50}


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """The connection's memory limit in bytes. DuckDB shows it in binary units ("305.1
    MiB"); ValueError or KeyError if it shows anything else."""
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    number, unit = str(row[0] if row else "").split()
    return int(float(number) * _MEMORY_UNITS[unit])


def seal(con: duckdb.DuckDBPyConnection) -> None:
    """Lock a connection so that its statements can read what is defined on it and
    nothing else: the property `llmstats sql` rests on (docs/analytics.md, "What `sql`
    can read")."""
    for statement in SEALING:
        con.execute(statement)


def connect(
    data_dir: str | None = None,
    *,
    quarantine: bool = False,
    threads: int | None = None,
    use_rollups: bool = True,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection over the data dir with every view ready (`events`,
    `event_costs`, `savings`, `requests`, `errors`, `latency`, `context_usage`,
    `daily_usage` / `weekly_usage` / `monthly_usage`, `what_if(model)`).

    `data_dir` defaults to what `load_settings()` resolves (LLMSTATS_DATA_DIR, ...).
    An empty or missing data dir gives views with no rows. Reports run on it use the
    data dir's rollups where they match the files, and `events` and `event_costs` read
    the closed days the priced copy holds from it (docs/analytics.md)."""
    return open_dataset(
        data_dir, quarantine=quarantine, threads=threads, use_rollups=use_rollups,
        from_copy=True,
    ).con
