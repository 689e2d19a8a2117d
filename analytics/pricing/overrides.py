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
"""

from __future__ import annotations

import datetime as dt
import itertools
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from ..errors import PricingError
from ..store.files import read_bytes, write_file

if TYPE_CHECKING:
    import duckdb

OVERRIDES_FILE = "pricing/overrides.toml"
PER_MILLION = ("input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning")
PER_UNIT = ("per_image", "per_second")
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


def _entry(index: int, raw: dict[str, Any]) -> PriceOverride:
    where = f"{OVERRIDES_FILE}, price #{index + 1}"
    unknown = set(raw) - _FIELDS
    if unknown:
        raise PricingError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for required in ("model", "input", "output"):
        if required not in raw:
            raise PricingError(f"{where}: `{required}` is required")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in PER_MILLION + PER_UNIT:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise PricingError(f"{where}: `{key}` must be a non-negative number")
            values[key] = float(value)
        elif key in ("valid_from", "valid_to"):
            if not isinstance(value, dt.date):
                raise PricingError(f"{where}: `{key}` must be a TOML date like 2026-01-01")
            values[key] = value
        elif not isinstance(value, str) or not value:
            raise PricingError(f"{where}: `{key}` must be a non-empty string")
        else:
            values[key] = value
    entry = PriceOverride(**values)
    start, end = entry.window()
    if start >= end:
        raise PricingError(f"{where}: valid_from must be before valid_to")
    return entry


def parse_overrides(text: str) -> list[PriceOverride]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PricingError(f"{OVERRIDES_FILE}: {exc}") from exc
    unknown = set(document) - {"price"}
    if unknown:
        raise PricingError(f"{OVERRIDES_FILE}: unknown table(s) {', '.join(sorted(unknown))}")
    entries = [_entry(i, raw) for i, raw in enumerate(document.get("price", []))]
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
                raise PricingError(f"{OVERRIDES_FILE}: overlapping windows for {model}")


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


def register_overrides(con: duckdb.DuckDBPyConnection, entries: list[PriceOverride]) -> None:
    """Create table `price_overrides` (read by sql/02_pricing.sql)."""
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


def dump_overrides(entries: list[PriceOverride]) -> str:
    blocks = []
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
    entries = load_overrides(data_dir)
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
    write_file(data_dir, OVERRIDES_FILE, dump_overrides(kept).encode())
    return kept
