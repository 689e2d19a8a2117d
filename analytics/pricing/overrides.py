"""Your own prices: negotiated rates and private models, in `pricing/overrides.toml`.

Each `[[price]]` entry prices one model for a time window, so a price change is a new
entry (the old one gets a `valid_to`) and history keeps the rate it was billed at:

    [[price]]
    model = "gpt-4o"          # as recorded in events (the `model` column)
    provider = "openai"       # optional: only events of this provider
    input = 2.0               # USD per million input tokens (uncached)
    output = 8.0              # USD per million output tokens
    cache_read = 0.5          # optional, USD per million; default: the input rate
    cache_write = 2.5         # optional, USD per million; default: the input rate
    cache_write_1h = 4.0      # optional, USD per million; default: cache_write
    reasoning = 8.0           # optional, USD per million; default: the output rate
    per_image = 0.04          # optional, USD per generated image
    per_second = 0.0001       # optional, USD per second of audio input
    valid_from = 2026-01-01   # optional, inclusive (UTC); default: always
    valid_to = 2026-07-01     # optional, exclusive (UTC); default: open

and one optional `[default]` table: what calls no catalog entry or override prices are
charged (flagged `priced_by = default`), in the same units:

    [default]
    input = 3.0               # USD per million input tokens (built in: 3)
    output = 15.0             # USD per million output tokens (built in: 15)
    per_image = 0.08          # USD per generated image (built in: 0.08)
    per_second = 0.0001       # USD per second of transcribed audio (built in: 0.0001)
    per_character = 0.00003   # USD per character of speech input (built in: 0.00003)
    per_query = 0.002         # USD per rerank search unit (built in: 0.002)

Every price is checked in one place (`check_price`), for the file and for
`llmstats pricing set` alike: finite, not negative, a non-empty model, a window that
starts before it ends.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from ..errors import OverridesError
from ..store.files import read_bytes, write_file

if TYPE_CHECKING:
    import duckdb

OVERRIDES_FILE = "pricing/overrides.toml"
PER_MILLION = ("input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning")
PER_UNIT = ("per_image", "per_second")
DEFAULT_KEYS = ("input", "output", "per_image", "per_second", "per_character", "per_query")
BUILT_IN_DEFAULTS: dict[str, float] = {
    "input": 3.0, "output": 15.0, "per_image": 0.08, "per_second": 0.0001,
    "per_character": 0.00003, "per_query": 0.002,
}
"""The default prices (input/output per million tokens; per image, audio second and
speech character): docs/pricing.md says why these."""
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_FOREVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


@dataclass(frozen=True)
class PriceOverride:
    model: str
    input: float
    output: float
    provider: str | None = None
    cache_read: float | None = None
    cache_write: float | None = None
    cache_write_1h: float | None = None
    reasoning: float | None = None
    per_image: float | None = None
    per_second: float | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        start = _EPOCH if self.valid_from is None else _midnight(self.valid_from)
        end = _FOREVER if self.valid_to is None else _midnight(self.valid_to)
        return start, end


def _midnight(day: dt.date) -> dt.datetime:
    if isinstance(day, dt.datetime):
        return day if day.tzinfo else day.replace(tzinfo=dt.UTC)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


_FIELDS = {f.name for f in fields(PriceOverride)}


def price_problem(name: str, value: Any) -> str | None:
    """What is wrong with a price (None: nothing): a finite number, not negative."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"`{name}` must be a number"
    if not math.isfinite(value):
        return f"`{name}` must be a finite number, not {value}"
    if value < 0:
        return f"`{name}` must not be negative"
    return None


def check_price(entry: PriceOverride) -> str | None:
    """The one check every override passes, from the file or from `pricing set`: what is
    wrong with it, or None."""
    if not isinstance(entry.model, str) or not entry.model.strip():
        return "`model` must be a non-empty string"
    if entry.provider is not None and (not isinstance(entry.provider, str) or not entry.provider):
        return "`provider` must be a non-empty string"
    for name in PER_MILLION + PER_UNIT:
        value = getattr(entry, name)
        if value is not None and (problem := price_problem(name, value)):
            return problem
    for name in ("valid_from", "valid_to"):
        if getattr(entry, name) is not None and not isinstance(getattr(entry, name), dt.date):
            return f"`{name}` must be a date like 2026-01-01"
    start, end = entry.window()
    if start >= end:
        return "valid_from must be before valid_to"
    return None


def _fix_hint(model: object) -> str:
    if isinstance(model, str) and model.strip():
        return (f"run `llmstats pricing unset {model}` and set it again with "
                f"`llmstats pricing set {model} --input … --output …`, or edit {OVERRIDES_FILE}")
    return f"edit {OVERRIDES_FILE} (or remove it: `llmstats pricing unset --all`)"


def _entry(index: int, raw: dict[str, Any]) -> PriceOverride:
    model = raw.get("model")
    where = f"{OVERRIDES_FILE}, price #{index + 1}" + (
        f" ({model})" if isinstance(model, str) and model else "")

    def bad(problem: str) -> OverridesError:
        return OverridesError(f"{where}: {problem}; {_fix_hint(model)}")

    unknown = set(raw) - _FIELDS
    if unknown:
        raise bad(f"unknown key(s) {', '.join(sorted(unknown))}")
    for required in ("model", "input", "output"):
        if required not in raw:
            raise bad(f"`{required}` is required")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in PER_MILLION + PER_UNIT:
            if problem := price_problem(key, value):
                raise bad(problem)
            values[key] = float(value)
        elif key in ("valid_from", "valid_to"):
            if not isinstance(value, dt.date):
                raise bad(f"`{key}` must be a TOML date like 2026-01-01")
            values[key] = value
        elif not isinstance(value, str) or not value:
            raise bad(f"`{key}` must be a non-empty string")
        else:
            values[key] = value
    entry = PriceOverride(**values)
    if problem := check_price(entry):
        raise bad(problem)
    return entry


def _document(text: str) -> dict[str, Any]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OverridesError(f"{OVERRIDES_FILE}: {exc}; edit the file (or remove it: "
                             "`llmstats pricing unset --all`)") from exc
    unknown = set(document) - {"price", "default"}
    if unknown:
        raise OverridesError(f"{OVERRIDES_FILE}: unknown table(s) {', '.join(sorted(unknown))}; "
                             "edit the file (only [[price]] and [default] are read)")
    if not isinstance(document.get("price", []), list):
        raise OverridesError(f"{OVERRIDES_FILE}: `price` must be an array of tables ([[price]])")
    return document


def parse_defaults(text: str) -> dict[str, float]:
    """The `[default]` prices over the built-in ones."""
    raw = _document(text).get("default", {})
    if not isinstance(raw, dict):
        raise OverridesError(f"{OVERRIDES_FILE}: `default` must be a table ([default])")
    found = dict(BUILT_IN_DEFAULTS)
    for key, value in raw.items():
        if key not in DEFAULT_KEYS:
            raise OverridesError(f"{OVERRIDES_FILE}, [default]: unknown key {key}; "
                                 f"known: {', '.join(DEFAULT_KEYS)}")
        if problem := price_problem(key, value):
            raise OverridesError(f"{OVERRIDES_FILE}, [default]: {problem}; set it again with "
                                 "`llmstats pricing set --default --input … --output …`")
        found[key] = float(value)
    return found


def load_defaults(data_dir: str) -> dict[str, float]:
    data = read_bytes(data_dir, OVERRIDES_FILE)
    return dict(BUILT_IN_DEFAULTS) if data is None else parse_defaults(data.decode())


def parse_overrides(text: str) -> list[PriceOverride]:
    document = _document(text)
    raws = document.get("price", [])
    entries = [_entry(i, raw if isinstance(raw, dict) else {}) for i, raw in enumerate(raws)]
    _check_overlaps(entries)
    return entries


def _check_overlaps(entries: list[PriceOverride]) -> None:
    """Two windows for the same model must not overlap, or an event would get two prices."""
    by_model: dict[tuple[str, str | None], list[PriceOverride]] = {}
    for entry in entries:
        by_model.setdefault((entry.model, entry.provider), []).append(entry)
    for (model, _), group in by_model.items():
        spans = sorted(entry.window() for entry in group)
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                raise OverridesError(f"{OVERRIDES_FILE}: overlapping windows for {model}; "
                                     f"{_fix_hint(model)}")


def load_overrides(data_dir: str) -> list[PriceOverride]:
    data = read_bytes(data_dir, OVERRIDES_FILE)
    return [] if data is None else parse_overrides(data.decode())


OVERRIDE_COLUMNS: list[tuple[str, str]] = [
    ("model", "VARCHAR"),
    ("provider", "VARCHAR"),
    ("valid_from", "TIMESTAMPTZ"),
    ("valid_to", "TIMESTAMPTZ"),
    *[(name, "DOUBLE") for name in PER_MILLION + PER_UNIT],
]


def override_rows(entries: list[PriceOverride]) -> list[tuple[Any, ...]]:
    """One tuple per entry in OVERRIDE_COLUMNS order: rates per token / image / second,
    the validity window as UTC instants (midnights: a window never splits a day)."""
    rows = []
    for entry in entries:
        start, end = entry.window()
        rates = [
            None if getattr(entry, n) is None else getattr(entry, n) / 1_000_000
            for n in PER_MILLION
        ]
        rows.append((entry.model, entry.provider, start, end, *rates,
                     *(getattr(entry, n) for n in PER_UNIT)))
    return rows


def register_overrides(
    con: duckdb.DuckDBPyConnection, entries: list[PriceOverride],
    defaults: dict[str, float] | None = None,
) -> None:
    """Create tables `price_overrides` and `price_defaults` (read by sql/02_pricing.sql;
    the default input and output prices per token there)."""
    chosen = {**BUILT_IN_DEFAULTS, **(defaults or {})}
    con.execute(
        "CREATE OR REPLACE TABLE price_defaults AS SELECT CAST($input AS DOUBLE) / 1e6 AS input, "
        "CAST($output AS DOUBLE) / 1e6 AS output, CAST($per_image AS DOUBLE) AS per_image, "
        "CAST($per_second AS DOUBLE) AS per_second, "
        "CAST($per_character AS DOUBLE) AS per_character, "
        "CAST($per_query AS DOUBLE) AS per_query", chosen)
    ddl = ", ".join(f"{name} {type_}" for name, type_ in OVERRIDE_COLUMNS)
    con.execute(f"CREATE OR REPLACE TABLE price_overrides ({ddl})")
    rows = override_rows(entries)
    if rows:
        marks = ", ".join("?" for _ in OVERRIDE_COLUMNS)
        con.executemany(f"INSERT INTO price_overrides VALUES ({marks})", rows)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value)


def dump_overrides(entries: list[PriceOverride], defaults: dict[str, float] | None = None) -> str:
    blocks = []
    if defaults and defaults != BUILT_IN_DEFAULTS:
        blocks.append("\n".join(["[default]", *(f"{key} = {_toml_value(value)}"
                                                for key, value in defaults.items())]))
    for entry in entries:
        lines = ["[[price]]"]
        lines += [
            f"{key} = {_toml_value(value)}"
            for key, value in asdict(entry).items()
            if value is not None
        ]
        blocks.append("\n".join(lines))
    header = "# llmstats price overrides (USD per million tokens); see docs/pricing.md\n\n"
    return header + "\n\n".join(blocks) + "\n"


def set_override(data_dir: str, new: PriceOverride) -> list[PriceOverride]:
    """Add a price from `new.valid_from` on. An open-ended entry for the same model that
    started earlier is closed at that date, so earlier events keep their old price."""
    if problem := check_price(new):
        raise OverridesError(f"pricing set: {problem}")
    entries = load_overrides(data_dir)
    defaults = load_defaults(data_dir)
    kept = []
    for entry in entries:
        same = (entry.model, entry.provider) == (new.model, new.provider)
        if (
            same
            and entry.valid_to is None
            and new.valid_from is not None
            and (entry.valid_from is None or entry.valid_from < new.valid_from)
        ):
            entry = replace(entry, valid_to=new.valid_from)
        elif same and entry.window()[0] >= new.window()[0]:
            continue  # superseded from the same start on
        kept.append(entry)
    kept.append(new)
    _check_overlaps(kept)
    write_file(data_dir, OVERRIDES_FILE, dump_overrides(kept, defaults).encode())
    return kept


def set_defaults(data_dir: str, changes: dict[str, float]) -> dict[str, float]:
    """Change the default prices (`pricing set --default`); the rest keep their value."""
    for key, value in changes.items():
        if key not in DEFAULT_KEYS:
            raise OverridesError(f"pricing set --default: no default named {key}")
        if problem := price_problem(key, value):
            raise OverridesError(f"pricing set --default: {problem}")
    entries = load_overrides(data_dir)
    defaults = {**load_defaults(data_dir), **changes}
    write_file(data_dir, OVERRIDES_FILE, dump_overrides(entries, defaults).encode())
    return defaults


def unset_override(data_dir: str, model: str | None, provider: str | None = None) -> int:
    """Remove every entry for `model` (of `provider`, when given), or all of them with
    `model` None, without checking the entries removed (this is how a bad one goes);
    the entries kept must be valid. Returns how many were removed."""
    data = read_bytes(data_dir, OVERRIDES_FILE)
    if data is None:
        return 0
    document = _document(data.decode())
    raws = [raw for raw in document.get("price", []) if isinstance(raw, dict)]
    kept_raw = [raw for raw in raws if model is not None and not (
        raw.get("model") == model and (provider is None or raw.get("provider") == provider))]
    kept = [_entry(i, raw) for i, raw in enumerate(kept_raw)]
    _check_overlaps(kept)
    defaults = parse_defaults(data.decode()) if model is not None else None
    write_file(data_dir, OVERRIDES_FILE, dump_overrides(kept, defaults).encode())
    return len(raws) - len(kept_raw)
