"""How one entry of LiteLLM's price map bills a call: the rules of LiteLLM's own cost
functions (`generic_cost_per_token` and friends in litellm_core_utils/llm_cost_calc),
applied to the entry once, ahead of time, instead of to every call.

A call's token rates depend on a few things besides the model: how many input tokens
the prompt has (long-context thresholds, `tiered_pricing` tables), the service tier it
was served at (`…_priority`, `…_flex`), and, for a few models, the hour it was made
(`off_peak_pricing`). `token_rate_rows` resolves the entry's rates for every combination
that can occur — one row per (service tier, off-peak, input-token band) — so the SQL only
picks the row of each call (sql/02_pricing.sql). Per-image, per-character, per-second and
per-query prices, the regional multipliers and the off-peak windows come out of the same
entry here (`unit_rates`, `off_peak_windows`); size/quality image prices are entries of
their own (`[provider/][quality/]WxH/model`), matched in SQL.

Nothing here imports litellm: the rules are restated, and tests/test_cost_accuracy.py
holds them to LiteLLM's own functions over the whole bundled map.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Entry = Mapping[str, Any]

# The service tiers LiteLLM prices (`fast` bills the `_priority` keys, as LiteLLM maps it).
SERVICE_TIER_SUFFIX = {"flex": "flex", "balanced": "balanced", "priority": "priority",
                       "fast": "priority", "ultrafast": "ultrafast"}
_SUFFIXES = ("_ultrafast", "_priority", "_balanced", "_flex")
_RATE_PREFIXES = ("input_cost_per_token", "output_cost_per_token",
                  "cache_read_input_token_cost", "cache_creation_input_token_cost")
_THRESHOLD = re.compile(r"_above_(\d+)(k?)_tokens")
_BATCH_TIER = re.compile(
    r"^(" + "|".join(_RATE_PREFIXES) + r")_above_(\d+k?)_tokens_batches$")
# LiteLLM bills xAI's higher tier once the prompt *reaches* the threshold (>=).
INCLUSIVE_THRESHOLD_PROVIDERS = frozenset({"xai"})
# LiteLLM prices Fireworks cache reads at half the input rate when the map gives none.
_DEFAULT_CACHE_READ_RATIO = {"fireworks_ai": 0.5}

TOKEN_RATES = ("input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning",
               "audio_input", "audio_output", "image_output")
BATCH_RATES = ("batch_input", "batch_output", "batch_cache_read", "batch_cache_write")


def number(value: Any) -> float | None:
    """A price as LiteLLM reads one: a number, or a string that parses as one."""
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


def _tokens(digits: str, k: str) -> int:
    return int(digits) * (1000 if k else 1)


def _threshold_of(key: str) -> int | None:
    found = _THRESHOLD.search(key)
    return _tokens(*found.groups()) if found else None


def _rate(entry: Entry, key: str, default: float | None = 0.0) -> float | None:
    """LiteLLM's get_cost_per_unit: the key's rate; a missing service-tier key falls back
    to the standard key; else `default`."""
    value = number(entry.get(key))
    if value is not None:
        return value
    for suffix in _SUFFIXES:
        if suffix in key:
            fallback = number(entry.get(key.replace(suffix, "")))
            if fallback is not None:
                return fallback
            break
    return default


def _tier_key(base: str, suffix: str) -> str:
    return f"{base}_{suffix}" if suffix else base


def _tiered_table(entry: Entry) -> list[dict[str, Any]]:
    tiers = entry.get("tiered_pricing")
    if not isinstance(tiers, list):
        return []
    valid = [t for t in tiers if isinstance(t, dict) and isinstance(t.get("range"), list)
             and len(t["range"]) == 2]
    return sorted(valid, key=lambda t: t["range"][0])


def _select_tier(entry: Entry, prompt: int) -> dict[str, Any] | None:
    """LiteLLM's select_tier_for_input: range_start < tokens <= range_end, else the last."""
    table = _tiered_table(entry)
    if not table or prompt <= 0:
        return None
    matching = [t for t in table if t["range"][0] < prompt <= t["range"][1]]
    tier = matching[0] if matching else table[-1]
    return tier if "input_cost_per_token" in tier else None


def _tier_rate(tier: Mapping[str, Any], key: str, fallback: str | None = None) -> float:
    value = tier.get(key)
    if value is None and fallback is not None:
        value = tier.get(fallback, 0)
    return number(value) or 0.0


def _off_peak_rate(off_peak: Mapping[str, Any] | None, key: str, standard: float) -> float:
    value = number(off_peak.get(key)) if off_peak else None
    return standard if value is None else value


_ABOVE_PREFIXES = tuple(f"{p}_above_" for p in _RATE_PREFIXES)


def _above_keys(entry: Entry) -> list[str]:
    """The entry's long-context keys (`…_above_N_tokens…`), found once per entry."""
    return [key for key in entry if key.startswith(_ABOVE_PREFIXES) and "_tokens" in key]


def _base_rates(entry: Entry, prompt: int, suffix: str, inclusive: bool,
                off_peak: Mapping[str, Any] | None, above: list[str]) -> dict[str, float]:
    """LiteLLM's _get_token_base_cost at `prompt` input tokens: input, output, cache
    write (5-minute and 1-hour) and cache read rates."""
    tier = _select_tier(entry, prompt)
    if tier is not None:
        tier_write = _tier_rate(tier, "cache_creation_input_token_cost", "input_cost_per_token")
        output = (_tier_rate(tier, "output_cost_per_token") if "output_cost_per_token" in tier
                  else _rate(entry, "output_cost_per_token") or 0.0)
        tier_write_1h = _tier_rate(tier, "cache_creation_input_token_cost_above_1hr",
                                   "cache_creation_input_token_cost") or tier_write
        rates = {"input": _tier_rate(tier, "input_cost_per_token"), "output": output,
                 "cache_write": tier_write, "cache_write_1h": tier_write_1h,
                 "cache_read": _tier_rate(tier, "cache_read_input_token_cost",
                                          "input_cost_per_token")}
        return _apply_off_peak(rates, off_peak, write_1h_given=True)

    prompt_rate = _rate(entry, _tier_key("input_cost_per_token", suffix)) or 0.0
    output_rate = _rate(entry, _tier_key("output_cost_per_token", suffix))
    if not output_rate:
        image = _rate(entry, "output_cost_per_image_token", None)
        output_rate = image if image is not None else output_rate
    output_rate = output_rate or 0.0
    write = _rate(entry, _tier_key("cache_creation_input_token_cost", suffix), None)
    write_1h = _rate(entry, "cache_creation_input_token_cost_above_1hr", None)
    read = _rate(entry, _tier_key("cache_read_input_token_cost", suffix), None)

    tail = f"_{suffix}" if suffix else ""
    standard_suffixes = (*_SUFFIXES, "_batches")
    threshold_keys = [
        key for key in above
        if not key.endswith(standard_suffixes) or (tail and key.endswith(tail))
    ]

    def by_threshold(key: str) -> float:
        found = key.rsplit("_above_", 1)[1].split("_tokens")[0]
        return float(found.replace("k", "")) * (1000 if "k" in found else 1)

    for key in sorted(threshold_keys, key=by_threshold):
        if entry.get(key) is None:
            continue
        try:
            text = key.rsplit("_above_", 1)[1].split("_tokens")[0]
            threshold = by_threshold(key)
        except (IndexError, ValueError):
            continue
        if not (prompt > threshold or (inclusive and prompt == threshold)):
            continue
        prompt_rate = _rate(entry, _tier_key(f"input_cost_per_token_above_{text}_tokens", suffix),
                            prompt_rate) or 0.0
        output_rate = _rate(entry, _tier_key(f"output_cost_per_token_above_{text}_tokens", suffix),
                            output_rate) or 0.0
        write = _rate(entry, _tier_key(f"cache_creation_input_token_cost_above_{text}_tokens",
                                       suffix), write)
        write_1h = _rate(entry, _tier_key(
            f"cache_creation_input_token_cost_above_1hr_above_{text}_tokens", suffix), write_1h)
        read = _rate(entry, _tier_key(f"cache_read_input_token_cost_above_{text}_tokens", suffix),
                     read)
    missing = _off_peak_rate(off_peak, "input_cost_per_token", prompt_rate)
    rates = {"input": prompt_rate, "output": output_rate,
             "cache_write": missing if write is None else write,
             "cache_write_1h": write_1h if write_1h is not None else -1.0,
             "cache_read": missing if read is None else read}
    return _apply_off_peak(rates, off_peak, write_1h_given=write_1h is not None)


def _apply_off_peak(rates: dict[str, float], off_peak: Mapping[str, Any] | None,
                    *, write_1h_given: bool) -> dict[str, float]:
    """An open off-peak window replaces each rate it names; the 1-hour write rate it
    cannot name follows the (off-peak) write rate unless the entry gives one."""
    out = dict(rates)
    out["input"] = _off_peak_rate(off_peak, "input_cost_per_token", rates["input"])
    out["output"] = _off_peak_rate(off_peak, "output_cost_per_token", rates["output"])
    out["cache_read"] = _off_peak_rate(off_peak, "cache_read_input_token_cost", rates["cache_read"])
    out["cache_write"] = _off_peak_rate(off_peak, "cache_creation_input_token_cost",
                                        rates["cache_write"])
    if not write_1h_given:
        out["cache_write_1h"] = out["cache_write"]
    return out


def _reasoning_rate(entry: Entry, prompt: int, suffix: str, output: float,
                    off_peak: Mapping[str, Any] | None) -> float:
    """LiteLLM's _resolve_billed_reasoning_rate."""
    value = number(off_peak.get("output_cost_per_reasoning_token")) if off_peak else None
    if value is not None:
        return value
    tier = _select_tier(entry, prompt)
    if tier is not None and ("output_cost_per_reasoning_token" in tier
                             or "output_cost_per_token" in tier):
        return _tier_rate(tier, "output_cost_per_reasoning_token", "output_cost_per_token")
    tier_key = _tier_key("output_cost_per_reasoning_token", suffix)
    if entry.get(tier_key) is not None:
        found = _rate(entry, tier_key, None)
        if found is not None:
            return found
    if suffix and entry.get(_tier_key("output_cost_per_token", suffix)) is not None:
        return output
    standard = _rate(entry, "output_cost_per_reasoning_token", None)
    return output if standard is None else standard


def _modality_rate(entry: Entry, key: str, suffix: str, fallback: float) -> float:
    tiered = _tier_key(key, suffix)
    chosen = tiered if entry.get(tiered) is not None else key
    if entry.get(chosen) is None:
        return fallback
    value = _rate(entry, chosen)
    return value if isinstance(value, float) else 0.0


def _batch_tiers(entry: Entry) -> dict[str, list[tuple[int, str]]]:
    """Per rate prefix, the entry's batch tiers `…_above_N_tokens_batches`: (N, label)."""
    tiers: dict[str, list[tuple[int, str]]] = {}
    for key, value in entry.items():
        if value is None or not key.endswith("_batches"):
            continue
        found = _BATCH_TIER.match(key)
        if found:
            tiers.setdefault(found.group(1), []).append((_threshold_of(key) or 0, found.group(2)))
    return tiers


def _batch_rate(entry: Entry, prefix: str, prompt: int, inclusive: bool,
                tiers: dict[str, list[tuple[int, str]]]) -> float | None:
    """LiteLLM's get_batch_cost_rates for one rate: the highest crossed
    `…_above_N_tokens_batches` tier, else the flat `…_batches` rate (None: none)."""
    crossed = [(threshold, label) for threshold, label in tiers.get(prefix, ())
               if prompt > threshold or (inclusive and prompt == threshold)]
    flat = number(entry.get(f"{prefix}_batches"))
    if not crossed:
        return flat
    tier = number(entry.get(f"{prefix}_above_{max(crossed)[1]}_tokens_batches"))
    return flat if tier is None else tier


def _batch_rates(entry: Entry, prompt: int, inclusive: bool, rates: dict[str, float],
                 tiers: dict[str, list[tuple[int, str]]]) -> dict[str, float]:
    """LiteLLM's batch_cost_calculator: the `…_batches` rates where the entry has a batch
    input rate (cache reads and writes at their batch rates, else the batch input rate);
    otherwise half the standard input rate for uncached input, half the cache read rate,
    and the write rate (or input rate) undiscounted... as LiteLLM bills it."""
    b_in = _batch_rate(entry, "input_cost_per_token", prompt, inclusive, tiers)
    b_out = _batch_rate(entry, "output_cost_per_token", prompt, inclusive, tiers)
    b_read = _batch_rate(entry, "cache_read_input_token_cost", prompt, inclusive, tiers)
    b_write = _batch_rate(entry, "cache_creation_input_token_cost", prompt, inclusive, tiers)
    if b_in is not None:
        out = {"batch_input": b_in,
               "batch_cache_read": b_in if b_read is None else b_read,
               "batch_cache_write": b_in if b_write is None else b_write}
    else:
        out = {"batch_input": rates["input"] / 2, "batch_cache_read": rates["cache_read"] / 2,
               "batch_cache_write": rates["cache_write"] / 2}
    out["batch_output"] = rates["output"] / 2 if b_out is None else b_out
    return out


def tier_starts(entry: Entry, provider: str | None) -> list[int]:
    """The input-token counts at which the entry's rates change, ascending, 0 first: a
    call with n input tokens bills at the band of the greatest start <= n."""
    inclusive = provider in INCLUSIVE_THRESHOLD_PROVIDERS
    starts = {0}
    for key, value in entry.items():
        if value is None or not key.startswith(_RATE_PREFIXES):
            continue
        threshold = _threshold_of(key)
        if threshold is not None and "_above_1hr_tokens" not in key:
            starts.add(threshold if inclusive else threshold + 1)
    for tier in _tiered_table(entry):
        starts.add(int(number(tier["range"][0]) or 0) + 1)
    return sorted(starts)


_TIER_NAMES = tuple(sorted(set(SERVICE_TIER_SUFFIX.values())))
_TIER_IN_KEY = re.compile(r"_(" + "|".join(_TIER_NAMES) + r")(?:_|$)")


def service_tiers(entry: Entry) -> list[str]:
    """'' (standard) and every tier suffix the entry prices."""
    found = {""}
    for key in entry:
        if "_" in key:
            found.update(_TIER_IN_KEY.findall(key))
    return sorted(found)


def token_rate_rows(entry: Entry, provider: str | None) -> list[dict[str, Any]]:
    """One row per (service tier, off-peak, band): `service_tier` ('' standard),
    `off_peak`, `tier_start`, the token rates (USD per token, TOKEN_RATES) and the batch
    rates (BATCH_RATES)."""
    inclusive = provider in INCLUSIVE_THRESHOLD_PROVIDERS
    off_peak_block = entry.get("off_peak_pricing")
    peaks: list[Mapping[str, Any] | None] = [None]
    if isinstance(off_peak_block, Mapping):
        peaks.append(off_peak_block)
    rows = []
    starts = tier_starts(entry, provider)
    above = _above_keys(entry)
    batch_tiers = _batch_tiers(entry)
    cache_ratio = _DEFAULT_CACHE_READ_RATIO.get(provider or "")
    if cache_ratio is not None and entry.get("cache_read_input_token_cost") is None:
        base = number(entry.get("input_cost_per_token"))
        if base is not None:
            entry = {**entry, "cache_read_input_token_cost": base * cache_ratio}
    for suffix in service_tiers(entry):
        for off_peak in peaks:
            for start in starts:
                prompt = max(start, 1)
                rates = _base_rates(entry, prompt, suffix, inclusive, off_peak, above)
                if rates["cache_write_1h"] < 0:
                    rates["cache_write_1h"] = rates["cache_write"]
                rates["reasoning"] = _reasoning_rate(entry, prompt, suffix, rates["output"],
                                                     off_peak)
                rates["audio_input"] = _modality_rate(entry, "input_cost_per_audio_token", suffix,
                                                      rates["input"])
                audio_out = _rate(entry, "output_cost_per_audio_token", None)
                rates["audio_output"] = rates["output"] if audio_out is None else audio_out
                image_out = _rate(entry, "output_cost_per_image_token", None)
                rates["image_output"] = rates["output"] if image_out is None else image_out
                rates.update(_batch_rates(entry, prompt, inclusive, rates, batch_tiers))
                rows.append({"service_tier": suffix, "off_peak": off_peak is not None,
                             "tier_start": start, **rates})
    return rows


def _minutes(text: str) -> int | None:
    try:
        hours, minutes = text.strip().split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError:
        return None
    return value if 0 <= value < 24 * 60 else None


_WEEKDAYS = {"mon": 1, "monday": 1, "tue": 2, "tues": 2, "tuesday": 2, "wed": 3,
             "wednesday": 3, "thu": 4, "thur": 4, "thurs": 4, "thursday": 4, "fri": 5,
             "friday": 5, "sat": 6, "saturday": 6, "sun": 7, "sunday": 7}


def _weekday(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= 7 else None
    if isinstance(value, str):
        return _WEEKDAYS.get(value.strip().lower())
    return None


def _window_texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def off_peak_windows(entry: Entry) -> list[dict[str, Any]]:
    """The entry's off-peak windows: `start_minute` (inclusive) and `end_minute`
    (exclusive) of the UTC day (a window that wraps midnight has start > end; start = end
    is the whole day), `weekdays` (ISO numbers, None: every day) read in `weekday_tz`."""
    block = entry.get("off_peak_pricing")
    if not isinstance(block, Mapping):
        return []
    rules: list[tuple[list[str], Any]] = [(_window_texts(block.get("hours_utc")), None)]
    windows = block.get("windows")
    if isinstance(windows, list):
        for rule in windows:
            if isinstance(rule, Mapping):
                days = rule.get("weekdays")
                allowed = ([d for d in map(_weekday, days) if d is not None]
                           if isinstance(days, list) else None if days is None else [])
                rules.append((_window_texts(rule.get("hours_utc")), allowed))
    zone = block.get("weekday_timezone")
    tz = zone.strip() if isinstance(zone, str) and zone.strip() else "UTC"
    found = []
    for texts, weekdays in rules:
        for text in texts:
            parts = text.split("-")
            if len(parts) != 2:
                continue
            start, end = _minutes(parts[0]), _minutes(parts[1])
            if start is not None and end is not None:
                found.append({"start_minute": start, "end_minute": end,
                              "weekdays": weekdays, "weekday_tz": tz})
    return found


def unit_rates(entry: Entry) -> dict[str, float | None]:
    """Prices of calls not billed by tokens, and the entry's regional multipliers."""
    specific = entry.get("provider_specific_entry")
    specific = specific if isinstance(specific, Mapping) else {}
    return {
        "per_image_in": number(entry.get("input_cost_per_image")),
        "per_pixel": number(entry.get("input_cost_per_pixel")),
        "per_character": number(entry.get("input_cost_per_character")),
        "per_second": number(entry.get("input_cost_per_second")),
        "output_per_second": number(entry.get("output_cost_per_second")),
        "cost_per_second": number(entry.get("cost_per_second")),
        "per_audio_second": number(entry.get("input_cost_per_audio_per_second")),
        "per_query": number(entry.get("input_cost_per_query")),
        "uplift_eu": number(entry.get("regional_processing_uplift_multiplier_eu")),
        "uplift_us": number(entry.get("regional_processing_uplift_multiplier_us")),
        "uplift_vertex": number(entry.get("regional_endpoint_uplift_multiplier")),
        "uplift_geo_us": number(specific.get("us")),
        "uplift_fast": number(specific.get("fast")),
    }


_NON_TOKEN_PRICES = ("cost_per_second", "input_cost_per_second", "output_cost_per_second",
                     "input_cost_per_query", "tiered_pricing")


def prices_anything(entry: Entry) -> bool:
    """Whether the entry states any price (LiteLLM's _cost_map_entry_prices_anything,
    plus per-image, per-pixel and per-character prices): an entry without one is no
    price at all, and llmstats charges its flagged default rather than a silent $0."""
    for field, value in entry.items():
        if value is None:
            continue
        if field in _NON_TOKEN_PRICES or ("cost_per" in field and "token" in field):
            return True
        if field.startswith(("output_cost_per_image", "input_cost_per_image", "input_cost_per_pixel",
                             "output_cost_per_pixel", "input_cost_per_character",
                             "input_cost_per_audio_per_second")):
            return True
    return False
