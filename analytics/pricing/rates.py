"""`llmstats pricing show`: a model's catalog rates and overrides, per million tokens."""

from __future__ import annotations

from typing import Any

from ..errors import LlmstatsError
from ..store.files import resolve_data_dir
from .catalog import RATE_KEYS, TIER_KEYS, load_catalog
from .overrides import load_overrides

PER_TOKEN = [name for name in RATE_KEYS if "per_" not in name] + list(TIER_KEYS)
MAX_MATCHES = 25


def model_rates(data_dir: str | None, model: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Catalog rows whose key is `model`, ends in `/model`, or (failing both) contains it."""
    resolved = resolve_data_dir(data_dir)
    catalog = load_catalog(resolved)
    rows = catalog.table.to_pylist()
    needle = model.lower()
    exact = [
        r for r in rows if r["key"].lower() == needle or r["key"].lower().endswith("/" + needle)
    ]
    matches = exact or [r for r in rows if needle in r["key"].lower()]
    out: list[dict[str, Any]] = []
    for entry in load_overrides(resolved):
        if needle in entry.model.lower():
            out.append(
                {
                    "source": "override",
                    "key": entry.model,
                    "provider": entry.provider,
                    "input_per_mtok": entry.input,
                    "output_per_mtok": entry.output,
                    "cache_read_per_mtok": entry.cache_read,
                    "cache_write_per_mtok": entry.cache_write,
                    "valid_from": entry.valid_from,
                    "valid_to": entry.valid_to,
                }
            )
    for row in sorted(matches, key=lambda r: r["key"])[:MAX_MATCHES]:
        unpriced = row.get("priced") is False
        shown: dict[str, Any] = {
            # An entry with no price at all is charged the default (LiteLLM bills it $0).
            "source": "no price: default" if unpriced
            else "catalog_zero" if row["is_zero"] else "catalog",
            "key": row["key"],
            "provider": row["provider"],
            "mode": row["mode"],
            "context_window": row["max_input_tokens"],
        }
        for name in PER_TOKEN:
            if row[name] is not None:
                shown[f"{name}_per_mtok"] = round(row[name] * 1_000_000, 6)
        for name in ("per_image", "input_per_second", "output_per_second"):
            if row[name] is not None:
                shown[name] = row[name]
        if row["threshold"] is not None:
            shown["long_context_above_tokens"] = row["threshold"]
        tiers = row.get("tiers") or []
        bands = sorted({t["tier_start"] for t in tiers if t["tier_start"]})
        if bands:
            shown["bands_from_tokens"] = ", ".join(str(b) for b in bands)
        service = sorted({t["service_tier"] for t in tiers if t["service_tier"]})
        if service:
            shown["service_tiers"] = ", ".join(service)
        if row.get("windows"):
            shown["off_peak_utc"] = ", ".join(
                f"{w['start_minute'] // 60:02d}:{w['start_minute'] % 60:02d}-"
                f"{w['end_minute'] // 60:02d}:{w['end_minute'] % 60:02d}"
                + (f" (ISO weekdays {','.join(map(str, w['weekdays']))}, {w['weekday_tz']})"
                   if w["weekdays"] is not None else "")
                for w in row["windows"])
        out.append(shown)
    if not out:
        raise LlmstatsError(
            f"no catalog entry or override matches {model!r}; calls to it are priced at the "
            "default $3 / $15 per million tokens, $0.08 per image, $0.0001 per audio second "
            "(add one with `llmstats pricing set`)"
        )
    notes = [f"catalog: {catalog.source}, litellm {catalog.litellm_version}"]
    if len(matches) > MAX_MATCHES:
        notes.append(f"{len(matches)} catalog keys match; showing {MAX_MATCHES}")
    # Records differ in keys (a model prices only some components): give every row all keys.
    columns: list[str] = []
    for record in out:
        columns += [key for key in record if key not in columns]
    return [{key: record.get(key) for key in columns} for record in out], notes
