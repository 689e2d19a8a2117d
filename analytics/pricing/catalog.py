"""The pricing catalog: LiteLLM's bundled model price map, flattened to one row per key.

The map is read as JSON straight from the installed litellm package, found with
importlib's finder, so nothing here imports litellm (that import costs seconds). A
snapshot (`pricing/catalog.parquet` plus `pricing/catalog.json` with the litellm version)
in the data dir keeps costs stable across litellm upgrades until `llmstats pricing update`.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmstats.plugin.atomic import write_atomically

from ..errors import PricingError
from ..store.files import is_remote, join, local_path, read_bytes, write_file

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

PRICE_MAP_NAME = "model_prices_and_context_window_backup.json"
CATALOG_FILE = "pricing/catalog.parquet"
CATALOG_META_FILE = "pricing/catalog.json"

# Rate columns (USD per unit) and the LiteLLM keys they come from. Absent → NULL, so the
# SQL can tell "not priced separately" (fall back, as LiteLLM does) from a real 0.
RATE_KEYS: dict[str, str] = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "reasoning": "output_cost_per_reasoning_token",
    "audio_input": "input_cost_per_audio_token",
    "audio_output": "output_cost_per_audio_token",
    "input_batches": "input_cost_per_token_batches",
    "output_batches": "output_cost_per_token_batches",
    "cache_read_batches": "cache_read_input_token_cost_batches",
    "cache_write_batches": "cache_creation_input_token_cost_batches",
    "per_image": "output_cost_per_image",
    "input_per_second": "input_cost_per_second",
    "output_per_second": "output_cost_per_second",
    "input_per_audio_second": "input_cost_per_audio_per_second",
    "per_query": "input_cost_per_query",
}
# Long-context tier: above `threshold` input tokens every token type switches rate.
TIER_KEYS: dict[str, str] = {
    "input_above": "input_cost_per_token_above_{t}_tokens",
    "output_above": "output_cost_per_token_above_{t}_tokens",
    "cache_read_above": "cache_read_input_token_cost_above_{t}_tokens",
    "cache_write_above": "cache_creation_input_token_cost_above_{t}_tokens",
    "cache_write_1h_above": "cache_creation_input_token_cost_above_1hr_above_{t}_tokens",
}
_THRESHOLD_KEY = re.compile(r"^input_cost_per_token_above_(\d+)(k?)_tokens$")

CATALOG_COLUMNS: list[tuple[str, str]] = [
    ("key", "VARCHAR"),
    ("provider", "VARCHAR"),
    ("mode", "VARCHAR"),
    ("max_input_tokens", "BIGINT"),
    *[(name, "DOUBLE") for name in RATE_KEYS],
    ("threshold", "BIGINT"),
    ("threshold_inclusive", "BOOLEAN"),
    *[(name, "DOUBLE") for name in TIER_KEYS],
    ("is_zero", "BOOLEAN"),
]
"""The catalog table's columns and their DuckDB types (the Arrow schema follows)."""


def catalog_schema() -> pa.Schema:
    import pyarrow as pa

    arrow = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(),
             "BOOLEAN": pa.bool_()}
    return pa.schema([(name, arrow[type_]) for name, type_ in CATALOG_COLUMNS])

# LiteLLM prices Fireworks cache reads at half the input rate when the map gives none.
_DEFAULT_CACHE_READ_RATIO = {"fireworks_ai": 0.5}
# LiteLLM bills xAI's higher tier once the prompt *reaches* the threshold (>=), others above it.
_INCLUSIVE_THRESHOLD_PROVIDERS = frozenset({"xai"})


@dataclass(frozen=True)
class Catalog:
    table: pa.Table
    litellm_version: str
    source: str
    """`snapshot` (the data dir's frozen copy) or `installed` (read from the package now)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def _threshold(entry: dict[str, Any]) -> tuple[int, str] | None:
    for key in entry:
        match = _THRESHOLD_KEY.match(key)
        if match and _number(entry[key]) is not None:
            digits, k = match.groups()
            return int(digits) * (1000 if k else 1), f"{digits}{k}"
    return None


def _from_tiered_pricing(row: dict[str, Any], tiers: list[Any]) -> None:
    """Dashscope-style `tiered_pricing` (all tokens billed at the tier the prompt falls in)
    maps onto the same base + one threshold shape: the first two tiers are kept. A rate a
    tier leaves out falls back to the tier's input rate, as LiteLLM does."""
    valid = sorted(
        (t for t in tiers if isinstance(t, dict) and len(t.get("range") or []) == 2),
        key=lambda t: t["range"][0],
    )
    if not valid or _number(valid[0].get("input_cost_per_token")) is None:
        return
    base = valid[0]
    row["input"] = _number(base.get("input_cost_per_token"))
    row["output"] = _number(base.get("output_cost_per_token", row.get("output")))
    row["cache_read"] = _number(
        base.get("cache_read_input_token_cost", base["input_cost_per_token"])
    )
    row["cache_write"] = _number(
        base.get("cache_creation_input_token_cost", base["input_cost_per_token"])
    )
    if len(valid) > 1:
        upper = valid[1]
        row["threshold"] = int(upper["range"][0])
        row["input_above"] = _number(upper.get("input_cost_per_token"))
        row["output_above"] = _number(upper.get("output_cost_per_token", row["output"]))
        row["cache_read_above"] = _number(
            upper.get("cache_read_input_token_cost", upper.get("input_cost_per_token"))
        )
        row["cache_write_above"] = _number(
            upper.get("cache_creation_input_token_cost", upper.get("input_cost_per_token"))
        )


def catalog_row(key: str, entry: dict[str, Any]) -> dict[str, Any]:
    """One catalog row from one entry of LiteLLM's price map."""
    provider = entry.get("litellm_provider")
    row: dict[str, Any] = {
        "key": key,
        "provider": provider if isinstance(provider, str) else None,
        "mode": entry.get("mode") if isinstance(entry.get("mode"), str) else None,
        "max_input_tokens": _integer(entry.get("max_input_tokens")),
    }
    for name, source in RATE_KEYS.items():
        row[name] = _number(entry.get(source))
    found = _threshold(entry)
    row["threshold"] = found[0] if found else None
    for name, template in TIER_KEYS.items():
        row[name] = _number(entry.get(template.format(t=found[1]))) if found else None
    tiers = entry.get("tiered_pricing")
    if isinstance(tiers, list) and tiers:
        _from_tiered_pricing(row, tiers)
    ratio = _DEFAULT_CACHE_READ_RATIO.get(row["provider"] or "")
    if ratio is not None and row["cache_read"] is None and row["input"] is not None:
        row["cache_read"] = row["input"] * ratio
    row["threshold_inclusive"] = row["provider"] in _INCLUSIVE_THRESHOLD_PROVIDERS
    priced = [row[name] for name in ("input", "output", "per_image", "input_per_second",
                                         "per_query")]
    present = [value for value in priced if value is not None]
    row["is_zero"] = bool(present) and all(value == 0 for value in present)
    return row


def build_catalog_table(price_map: dict[str, Any]) -> pa.Table:
    import pyarrow as pa

    rows = [
        catalog_row(key, entry)
        for key, entry in price_map.items()
        if isinstance(entry, dict) and key != "sample_spec"
    ]
    return pa.Table.from_pylist(rows, schema=catalog_schema())


def installed_price_map_path() -> Path:
    """LiteLLM's bundled price map, located without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / PRICE_MAP_NAME
        if candidate.is_file():
            return candidate
    raise PricingError("litellm is not installed: no model price map to build a catalog from")


def installed_litellm_version() -> str:
    try:
        return metadata.version("litellm")
    except metadata.PackageNotFoundError:
        return "unknown"


def installed_catalog() -> Catalog:
    path = installed_price_map_path()
    try:
        price_map = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise PricingError(f"cannot read LiteLLM's price map: {exc}") from exc
    return Catalog(build_catalog_table(price_map), installed_litellm_version(), "installed")


def snapshot_catalog(data_dir: str, catalog: Catalog | None = None) -> Catalog:
    """Freeze the installed price map (or `catalog`) into the data dir (what
    `llmstats pricing update` does)."""
    import pyarrow.parquet as pq

    catalog = catalog or installed_catalog()
    buffer = io.BytesIO()
    pq.write_table(catalog.table, buffer, compression="zstd")
    write_file(data_dir, CATALOG_FILE, buffer.getvalue())
    meta = {"litellm_version": catalog.litellm_version, "models": catalog.table.num_rows}
    write_file(data_dir, CATALOG_META_FILE, json.dumps(meta, indent=1).encode())
    return Catalog(catalog.table, catalog.litellm_version, "snapshot")


def load_catalog(data_dir: str) -> Catalog:
    """The data dir's snapshot when there is one, else the installed package's map."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = read_bytes(data_dir, CATALOG_FILE)
    if data is None:
        return installed_catalog()
    meta_bytes = read_bytes(data_dir, CATALOG_META_FILE)
    version = "unknown"
    if meta_bytes is not None:
        try:
            version = str(json.loads(meta_bytes).get("litellm_version", "unknown"))
        except ValueError:
            pass
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise PricingError(
            f"{CATALOG_FILE} in the data dir is unreadable ({exc}); run `llmstats pricing update`"
        ) from exc
    # A snapshot from an older llmstats may lack newer columns: add them as NULL.
    schema = catalog_schema()
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return Catalog(pa.Table.from_arrays(columns, schema=schema), version, "snapshot")


@dataclass(frozen=True)
class CatalogInfo:
    """What `register_catalog` loaded: for status lines."""

    source: str
    litellm_version: str
    models: int


def _snapshot_version(data_dir: str) -> str:
    meta_bytes = read_bytes(data_dir, CATALOG_META_FILE)
    if meta_bytes is not None:
        try:
            return str(json.loads(meta_bytes).get("litellm_version", "unknown"))
        except ValueError:
            pass
    return "unknown"


def cached_catalog_file(data_dir: str) -> tuple[Path, str, str]:
    """(a local Parquet file of the catalog, source, litellm version). The installed
    price map is flattened once per litellm version into the user's cache dir, so reports
    neither parse LiteLLM's JSON nor import pyarrow for it; a remote snapshot is copied
    there once per content."""
    import hashlib

    from ..store.schema_cache import cache_dir

    if is_remote(data_dir):
        data = read_bytes(data_dir, CATALOG_FILE)
        if data is not None:
            target = cache_dir() / f"catalog-snapshot-{hashlib.sha256(data).hexdigest()[:16]}.parquet"
            if not target.exists():
                _write_atomically(target, data)
            return target, "snapshot", _snapshot_version(data_dir)
    else:
        snapshot = local_path(join(data_dir, CATALOG_FILE))
        if snapshot.is_file():
            return snapshot, "snapshot", _snapshot_version(data_dir)
    price_map = installed_price_map_path()
    stat = price_map.stat()
    version = installed_litellm_version()
    # This module's own text is in the stamp: a cache built by other code is not reused.
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    stamp = hashlib.sha256(
        f"{price_map}:{stat.st_size}:{stat.st_mtime_ns}:{version}:{code}".encode())
    target = cache_dir() / f"catalog-installed-{stamp.hexdigest()[:16]}.parquet"
    if not target.exists():
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(installed_catalog().table, buffer, compression="zstd")
        _write_atomically(target, buffer.getvalue())
    return target, "installed", version


def _write_atomically(target: Path, data: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, data)
    except OSError as exc:
        raise PricingError(f"cannot write the catalog cache {target}: {exc}") from exc


def register_catalog(
    con: duckdb.DuckDBPyConnection, data_dir: str, keys: list[str] | None = None
) -> CatalogInfo:
    """Create table `price_catalog` from the data dir's snapshot, else the installed map
    (see `cached_catalog_file`); columns missing from an older snapshot are NULL. With
    `keys`, only those entries: a report that prices the dataset's (provider, model)
    pairs needs only the keys they can match (`provider/model` and `model`)."""
    import duckdb

    path, source, version = cached_catalog_file(data_dir)
    try:
        # The installed map's cache is written by this version: every column is there. A
        # snapshot may come from an older llmstats.
        present = {name for name, _ in CATALOG_COLUMNS} if source == "installed" else {
            row[0] for row in con.execute(
                "DESCRIBE SELECT * FROM read_parquet($path)", {"path": str(path)}).fetchall()}
        columns = ", ".join(
            f"CAST({name} AS {type_}) AS {name}" if name in present else f"CAST(NULL AS {type_}) AS {name}"
            for name, type_ in CATALOG_COLUMNS
        )
        only = "" if keys is None else " WHERE key IN (SELECT unnest($keys))"
        params: dict[str, Any] = {"path": str(path)}
        if keys is not None:
            params["keys"] = keys
        con.execute(f"CREATE OR REPLACE TABLE price_catalog AS SELECT {columns} "
                    f"FROM read_parquet($path){only}", params)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PricingError(
            f"{CATALOG_FILE} is unreadable ({first}); run `llmstats pricing update`"
            if source == "snapshot" else f"cannot read the pricing catalog: {first}"
        ) from exc
    if keys is not None:
        return CatalogInfo(source, version, len(keys))  # at most; status opens in full
    row = con.execute("SELECT count(*) FROM price_catalog").fetchone()
    return CatalogInfo(source, version, int(row[0]) if row else 0)
