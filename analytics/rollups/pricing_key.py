"""The pricing a priced row was computed under, as one digest per (provider, model).

The priced copy (cube `priced_events`, rollups/spec.py) stores each event's cost, so it
is right only while the pricing that made it is today's. Its manifest names, per day,
the digest of every (provider, model) pair of that day; a reader recomputes the digests
from its own pricing tables and reads a day from the copy only where every pair's digest
is the same (plan.py). A digest covers everything that prices a call of the pair:

- the rows of the resolved pricing tables of 02_pricing.sql for the pair (its catalog
  rates, tiers, image prices; internal row numbers left out, as they depend on which
  other models the connection holds),
- the overrides that can apply to it (same model, no provider or the same provider),
- the default rates (they price what nothing else does),
- the SQL that prices, buckets and bands (00, 02, 03, 08: its code, whole-line comments
  and blank lines left out) and the copy's row layout (`COPY_FORMAT`): a change to the
  formulas or the layout makes every copy stale; a reworded comment does not.

So `llmstats pricing set`, a catalog update or a new llmstats version make the copy stale
(read from the events until `llmstats rollup` rebuilds it), never wrong.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from .spec import COPY_FORMAT

if TYPE_CHECKING:
    import duckdb

Pair = tuple[Any, Any]
"""(provider, model), either may be None."""

_PAIR_TABLES = ("pair_rates", "pair_tiers", "pair_images", "pair_fal_sizes")
_INTERNAL = {"pair_id", "rate_id", "override_id"}
_SQL_FILES = ("00_measures.sql", "02_pricing.sql", "03_event_costs.sql", "08_context_bands.sql")


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = con.execute(f"SELECT * FROM {table}")
    return [d[0] for d in cursor.description or []], cursor.fetchall()


def _text(columns: list[str], row: tuple[Any, ...]) -> str:
    return repr(sorted((c, repr(v)) for c, v in zip(columns, row, strict=True) if c not in _INTERNAL))


def sql_digest(texts: list[str]) -> str:
    """A digest of SQL texts without their whole-line comments and blank lines: what the
    SQL does, so that a reworded comment leaves every priced copy current."""
    digest = hashlib.sha256()
    for text in texts:
        for line in text.splitlines():
            code = line.strip()
            if code and not code.startswith("--"):
                digest.update(code.encode() + b"\n")
        digest.update(b"\0")
    return digest.hexdigest()


def _sql_digest() -> str:
    from importlib import resources

    folder = resources.files("llmstats.sql")
    return sql_digest([folder.joinpath(name).read_text() for name in _SQL_FILES])


def pair_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[Pair, str]:
    """{(provider, model): digest} for every pair of the connection's `event_models`
    (the pricing tables of 02_pricing.sql must be defined)."""
    per_pair: dict[Any, list[str]] = {}
    for table in _PAIR_TABLES:
        columns, rows = _rows(con, table)
        at = columns.index("pair_id")
        for row in rows:
            per_pair.setdefault(row[at], []).append(f"{table}:{_text(columns, row)}")
    o_columns, overrides = _rows(con, "override_rates")
    d_columns, defaults = _rows(con, "default_rates")
    common = f"{_sql_digest()}|copy format {COPY_FORMAT}|{[_text(d_columns, r) for r in defaults]}"
    model_at, provider_at = o_columns.index("model"), o_columns.index("provider")
    found: dict[Pair, str] = {}
    for pair_id, provider, model in con.execute(
            "SELECT pair_id, provider, model FROM event_models").fetchall():
        applying = sorted(
            _text(o_columns, r) for r in overrides
            if r[model_at] == model and (r[provider_at] is None or r[provider_at] == provider))
        text = "\n".join([common, *sorted(per_pair.get(pair_id, [])), *applying])
        found[(provider, model)] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return found


def encode(fingerprints: dict[Pair, str], exact: bool) -> dict[str, Any]:
    """As a manifest stores them: {"pairs": [[provider, model, digest], ...], "exact"}.
    `exact` is false for a day with a call whose own price is read as unpriced (a catalog
    entry that prices none of its units): reports price groups of calls, and such a
    call's label and default-price cost depend on the calls grouped with it, so a copy
    priced call by call cannot stand for every grouping of that day."""
    pairs = sorted(([p, m, d] for (p, m), d in fingerprints.items()), key=repr)
    return {"pairs": pairs, "exact": bool(exact)}


def decode(value: Any) -> dict[Pair, str] | None:
    """The fingerprints of a manifest's `pricing` entry; None if absent or malformed."""
    try:
        return {(p, m): str(d) for p, m, d in value["pairs"]}
    except (TypeError, ValueError, KeyError):
        return None


def exact(value: Any) -> bool:
    """Whether a manifest's `pricing` entry says the day's calls price alone as in
    any group (see encode)."""
    return isinstance(value, dict) and value.get("exact") is True


def current_for(stored: dict[Pair, str] | None, today: dict[Pair, str]) -> bool:
    """Whether a day priced under `stored` is priced as today's pricing would."""
    return stored is not None and all(today.get(pair) == digest for pair, digest in stored.items())
