"""The pricing catalog: LiteLLM's bundled model price map, flattened to one row per key.

The map is read as JSON straight from the installed litellm package, found with
importlib's finder, so nothing here imports litellm (that import costs seconds). A
snapshot (`pricing/catalog.parquet` plus `pricing/catalog.json` with the litellm version)
in the data dir keeps costs stable across litellm upgrades until `llmstats pricing update`.
"""

from __future__ import annotations

import functools
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
from . import price_rules

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

# What price_rules resolves from an entry, kept per key as lists (the SQL unnests them):
# every (service tier, off-peak, input-token band) with its rates, the off-peak windows,
# the per-image prices of size/quality variants.
TIER_FIELDS: list[tuple[str, str]] = [
    ("service_tier", "VARCHAR"), ("off_peak", "BOOLEAN"), ("tier_start", "BIGINT"),
    *[(name, "DOUBLE") for name in (*price_rules.TOKEN_RATES, *price_rules.BATCH_RATES)],
]
WINDOW_FIELDS: list[tuple[str, str]] = [
    ("start_minute", "INTEGER"), ("end_minute", "INTEGER"), ("weekdays", "INTEGER[]"),
    ("weekday_tz", "VARCHAR"),
]
UNIT_KEYS = ("per_image_in", "per_pixel", "per_character", "cost_per_second", "uplift_eu", "uplift_us",
             "uplift_vertex", "uplift_geo_us", "uplift_fast")


def _struct_list(fields: list[tuple[str, str]]) -> str:
    return "STRUCT(" + ", ".join(f"{name} {type_}" for name, type_ in fields) + ")[]"


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
    # Added with the full price-map rules (older snapshots read them as NULL: their
    # entries are then priced from the columns above, as before).
    ("priced", "BOOLEAN"),
    ("prices_tokens", "BOOLEAN"),
    *[(name, "DOUBLE") for name in UNIT_KEYS],
    ("tiers", _struct_list(TIER_FIELDS)),
    ("windows", _struct_list(WINDOW_FIELDS)),
    ("entry_json", "VARCHAR"),
]
"""The catalog table's columns and their DuckDB types (the Arrow schema follows)."""


def catalog_schema() -> pa.Schema:
    import pyarrow as pa

    scalar = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(),
              "BOOLEAN": pa.bool_(), "INTEGER": pa.int32(), "INTEGER[]": pa.list_(pa.int32())}

    def arrow(type_: str) -> pa.DataType:
        if type_ in scalar:
            return scalar[type_]
        fields = TIER_FIELDS if "tier_start" in type_ else WINDOW_FIELDS
        return pa.list_(pa.struct([(name, scalar[t]) for name, t in fields]))

    return pa.schema([(name, arrow(type_)) for name, type_ in CATALOG_COLUMNS])

# LiteLLM prices Fireworks cache reads at half the input rate when the map gives none.
_DEFAULT_CACHE_READ_RATIO = {"fireworks_ai": 0.5}
# LiteLLM bills xAI's higher tier once the prompt *reaches* the threshold (>=), others above it.
_INCLUSIVE_THRESHOLD_PROVIDERS = frozenset({"xai"})


_FINE_TUNE_TAIL = re.compile(r"(:[^:]*){3}$")
_BEDROCK_ROUTES = ("converse/", "invoke/", "converse_like/", "chat_completions/", "mantle/")
_BEDROCK_REGIONS = ("us.", "eu.", "apac.", "au.", "jp.", "global.", "us-gov.", "ca.")
_FIREWORKS_MOE = re.compile(r"(\d+)x(\d+)b")
_FIREWORKS_PARAMS = re.compile(r"(\d+)b")


def _fireworks_bucket(model: str) -> str:
    """LiteLLM's size bucket for a Fireworks model its map does not name."""
    name = model.lower()
    moe = _FIREWORKS_MOE.search(name)
    if moe:
        total = int(moe.group(1)) * int(moe.group(2))
        if total <= 56:
            return "fireworks-ai-moe-up-to-56b"
        if total <= 176:
            return "fireworks-ai-56b-to-176b"
    params = _FIREWORKS_PARAMS.search(name)
    if params:
        size = float(params.group(1))
        return ("fireworks-ai-up-to-4b" if size <= 4 else
                "fireworks-ai-4.1b-to-16b" if size <= 16 else "fireworks-ai-above-16b")
    return "fireworks-ai-default"


_TOGETHER_BUCKETS = ((4, "together-ai-up-to-4b"), (8, "together-ai-4.1b-8b"),
                     (21, "together-ai-8.1b-21b"), (41, "together-ai-21.1b-41b"),
                     (80, "together-ai-41.1b-80b"), (110, "together-ai-81.1b-110b"))
_TOGETHER_EMBEDDING_BUCKETS = ((150, "together-ai-embedding-up-to-150m"),
                               (350, "together-ai-embedding-151m-to-350m"))


def _together_buckets(model: str) -> list[str]:
    """LiteLLM's size buckets for a Together AI model its map does not price (litellm's
    together_ai cost_calculator): by the billions of parameters in the name, and for an
    embedding model by the millions."""
    name, found = model.lower(), []
    for pattern, buckets in ((r"(\d+)b", _TOGETHER_BUCKETS),
                             (r"(\d+)m", _TOGETHER_EMBEDDING_BUCKETS)):
        size = re.search(pattern, name)
        if size:
            found += [bucket for limit, bucket in buckets if float(size.group(1)) <= limit][:1]
    return found


def candidate_keys(provider: str | None, model: str | None) -> list[str]:
    """The price-map keys that can price calls to `model` of `provider`, best first, as
    LiteLLM looks them up: `provider/model`, `model`, then the names LiteLLM reaches
    through its fallbacks (`provider/provider/model` where the provider's own model ids
    start with its name, e.g. perplexity/perplexity/…; a fine-tune `ft:<base>:org:…` at
    `ft:<base>`, then the base model's rates; Bedrock's route and cross-region prefixes;
    Fireworks' and Together AI's size buckets; the name in lower case)."""
    if not model:
        return []
    found: list[str] = []

    def add(name: str) -> None:
        for key in ((f"{provider}/{name}", name) if provider else (name,)):
            if key not in found:
                found.append(key)

    add(model)
    if provider:
        add(f"{provider}/{model}")
    if model.startswith("ft:"):
        stripped = _FINE_TUNE_TAIL.sub("", model)
        add(stripped)
        add(stripped.removeprefix("ft:"))
    if provider in ("bedrock", "bedrock_converse") or model.startswith(_BEDROCK_ROUTES):
        bare = model
        for route in _BEDROCK_ROUTES:
            bare = bare.removeprefix(route)
        bare = re.sub(r":\d+k$", "", bare)
        add(bare)
        for region in _BEDROCK_REGIONS:
            if bare.startswith(region):
                add(bare[len(region):])
    if provider in ("vertex_ai", "gemini", "databricks"):
        add(re.sub(r"-\d+$", "", model))
    else:
        add(re.sub(r"-\d{4}-\d{2}-\d{2}$", "", model))
    if provider == "fireworks_ai":
        add(model.removeprefix("accounts/fireworks/models/"))
        add(_fireworks_bucket(model))
    if provider == "together_ai" or "togethercomputer" in model:
        for bucket in _together_buckets(model):
            add(bucket)
    if model.lower() != model:
        add(model.lower())
    return found


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
    row["priced"] = price_rules.prices_anything(entry)
    row["prices_tokens"] = any(
        entry.get(k) is not None for k in ("input_cost_per_token", "output_cost_per_token",
                                           "output_cost_per_image_token", "input_cost_per_image_token"))
    units = price_rules.unit_rates(entry)
    for name in UNIT_KEYS:
        row[name] = units[name]
    row["tiers"] = price_rules.token_rate_rows(entry, row["provider"]) if row["priced"] else None
    row["windows"] = price_rules.off_peak_windows(entry) or None
    # A price of exactly $0 (local and self-hosted models) is kept but flagged: every
    # price the entry states is 0.
    stated = [price for field, value in entry.items()
              if isinstance(field, str) and "cost" in field and (price := _number(value)) is not None]
    row["is_zero"] = row["priced"] and bool(stated) and all(value == 0 for value in stated)
    row["entry_json"] = json.dumps(entry, sort_keys=True)
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
    stat = path.stat()
    return _built_catalog(str(path), stat.st_size, stat.st_mtime_ns, installed_litellm_version())


@functools.lru_cache(maxsize=2)
def _built_catalog(path: str, size: int, mtime_ns: int, version: str) -> Catalog:
    """The installed map flattened, once per process and map file (resolving every
    entry's rules takes seconds; the table is immutable)."""
    try:
        price_map = json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise PricingError(f"cannot read LiteLLM's price map: {exc}") from exc
    return Catalog(build_catalog_table(price_map), version, "installed")


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
    # This module's and price_rules' text are in the stamp: a cache built by other code is not reused.
    code = hashlib.sha256(Path(__file__).read_bytes()
                          + Path(price_rules.__file__).read_bytes()).hexdigest()
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
    `keys`, only those entries and the image size/quality variants of them
    (`[provider/][quality/]WxH/model`): a report that prices the dataset's (provider,
    model) pairs needs only the keys they can match (`candidate_keys`)."""
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
        only = "" if keys is None else (
            " WHERE key IN (SELECT unnest($keys)) OR (regexp_matches(key, '\\d+-x-\\d+/') AND "
            "regexp_extract(key, '\\d+-x-\\d+/(.*)$', 1) IN (SELECT unnest($keys)))")
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
