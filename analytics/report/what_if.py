"""What the window's traffic would have cost on another model (the `what_if` view macro,
sql/11_what_if.sql), by the model it ran on: the dashboard's repricing panel."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..query import Query
from .reports import Report, run

if TYPE_CHECKING:
    import duckdb


def what_if_report(con: duckdb.DuckDBPyConnection, query: Query, target: str) -> Report:
    """Per model: calls, cost as priced, and cost at `target`'s list rates (a catalog key;
    token counts as they were, so an estimate)."""
    known = run(con, "SELECT count(*) AS n FROM price_catalog WHERE key = $target",
                {"target": target}).to_pylist()[0]["n"]
    if not known:
        raise UsageError(f"{target!r} is not in the pricing catalog: pick a catalog model key")
    plain = dataclasses.replace(query, by=(), top=None)
    where, params = plain.conditions()
    rows = run(
        con,
        f"""
        SELECT model, count(*) AS calls,
            COALESCE(sum(cost_usd), 0) AS cost_usd,
            COALESCE(sum(what_if_cost_usd), 0) AS what_if_cost_usd,
            COALESCE(sum(what_if_cost_usd), 0) - COALESCE(sum(cost_usd), 0) AS difference_usd
        FROM what_if($target) WHERE {where}
        GROUP BY model ORDER BY cost_usd DESC, model {f"LIMIT {int(query.top)}" if query.top else ""}
        """,
        {**params, "target": target},
    )
    records = rows.to_pylist()
    cost = sum(r["cost_usd"] for r in records)
    other = sum(r["what_if_cost_usd"] for r in records)
    return Report(f"Repriced on {target}", rows,
                  {"cost_usd": cost, "what_if_cost_usd": other, "difference_usd": other - cost},
                  ["Token counts are kept as they were; another model would tokenize "
                   "differently, so this is an estimate at its list rates."])


def catalog_keys(con: duckdb.DuckDBPyConnection, search: str = "", limit: int = 20) -> list[str]:
    """Catalog model keys containing `search` (any case): the repricing panel's picker."""
    rows = run(con, "SELECT key FROM price_catalog WHERE contains(lower(key), $search) "
               f"ORDER BY length(key), key LIMIT {int(limit)}", {"search": search.lower()})
    return [r["key"] for r in rows.to_pylist()]
