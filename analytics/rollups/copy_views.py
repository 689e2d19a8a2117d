"""connect()'s `events` and `event_costs` over the priced copy's closed days.

A notebook asks its questions of the views by name (`SELECT sum(cost_usd) FROM
event_costs`), so no report plan can send them to a cube. Pricing every event at read
time is most of such a question's time (2.6 s of it at 10 M events, where reading the
columns takes 0.1 s). The priced copy (cube `priced_events`, rollups/spec.py) keeps every
event column and every event_costs column of each closed day, priced as the manifest's
fingerprint says; here, each day it holds priced as today's pricing prices it is read
from it, and only the other days (today, late events, a changed day, new pricing) are
read from their files and priced. The answers are the same either way: the copy's rows
are the views' rows of that day, stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..store.dataset import DatasetState, events_union, partition_date
from .index import ReportContext
from .plan import parts_view, priced_dates
from .spec import CUBES_BY_NAME

if TYPE_CHECKING:
    import duckdb

COPY = "priced_events"
LIVE_PRICED_AT_CONNECT = 500_000
"""Up to this many events left to the files (today's, typically), connect() prices them
once and keeps their price columns, keyed by file and row: planning the pricing query
costs every question ~45 ms, where reading the copy takes 20 ms at 1 M events. More are
priced by each question, as without the copy."""


def copied_dates(con: duckdb.DuckDBPyConnection, context: ReportContext) -> set[str]:
    """Days whose event files the priced copy holds, priced as today's pricing prices
    them. (A day `exact` is false for still qualifies: that flag concerns groups of
    calls priced together, and these views price each call alone.)"""
    return priced_dates(con, context, CUBES_BY_NAME[COPY], exact_only=False)


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(str(row[0]), str(row[1]))
            for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


def _cast(columns: list[tuple[str, str]]) -> str:
    # Names come from the event contract and our own views, never from user input.
    return ", ".join(f'CAST("{name}" AS {type_}) AS "{name}"' for name, type_ in columns)


def serve_from_copy(con: duckdb.DuckDBPyConnection, state: DatasetState,
                    groups: dict[str, list[str]], context: ReportContext) -> set[str]:
    """Redefine `raw_events` (so `events` and every view over it) and `event_costs` as the
    copy's rows of the days it holds (copied_dates) and the other days' files, those
    priced at read time. Returns the days read from the copy (none: nothing changes)."""
    contract = {name for name, _ in _columns(con, "empty_events")}
    if {name for name, _ in _columns(con, "raw_events")} - contract:
        # Files of a newer llmstats carry columns the copy does not keep.
        return set()
    copied = copied_dates(con, context)
    if not copied:
        return set()
    live = {fingerprint: kept for fingerprint, paths in groups.items()
            if (kept := [p for p in paths if partition_date(p) not in copied])}
    # The other days' files, each row with its file and row number (its key below).
    con.execute("CREATE OR REPLACE VIEW live_keyed AS "
                + events_union(con, state, live, prefix="live_event_files", row_keys=True))
    con.execute("CREATE OR REPLACE VIEW live_raw_events AS "
                + ("SELECT * EXCLUDE (filename, file_row_number) FROM live_keyed" if live
                   else "SELECT * FROM live_keyed"))
    events = _columns(con, "live_raw_events")
    ((count,),) = con.execute("SELECT count(*) FROM live_raw_events").fetchall()
    con.execute("CREATE OR REPLACE VIEW live_tokens AS SELECT * FROM event_tokens('live_keyed')")
    con.execute("CREATE OR REPLACE VIEW live_cost_basis AS SELECT * FROM priced_basis('live_tokens')")
    con.execute("CREATE OR REPLACE VIEW live_costs AS SELECT * FROM event_costs_of('live_cost_basis')")
    costs = [c for c in _columns(con, "live_costs") if c[0] not in ("filename", "file_row_number")]
    if not live:
        # Every day from the copy: the pricing query would still be planned each time.
        con.execute("CREATE TEMP TABLE live_none AS SELECT * FROM live_costs LIMIT 0")
        con.execute("CREATE OR REPLACE VIEW live_costs AS SELECT * FROM live_none")
    elif count <= LIVE_PRICED_AT_CONNECT:
        # The files are listed now, so their prices now are what the view would compute.
        # A file's row is its key (an event id may repeat: LiteLLM can log a call twice).
        names = {name for name, _ in events}
        priced = ", ".join(f'"{name}"' for name, _ in costs if name not in names)
        con.execute("CREATE TEMP TABLE live_prices AS SELECT filename, file_row_number, "
                    f"{priced} FROM live_costs")
        picked = ", ".join(f'{"e" if name in names else "p"}."{name}"' for name, _ in costs)
        con.execute(f"CREATE OR REPLACE VIEW live_costs AS SELECT {picked} FROM live_keyed AS e "
                    "JOIN live_prices AS p USING (filename, file_row_number)")
    served = context.index.available[COPY]
    rows = parts_view(con, context, {date: served[date] for date in sorted(copied)})
    con.execute(f"CREATE OR REPLACE VIEW raw_events AS SELECT {_cast(events)} FROM {rows} "
                "UNION ALL SELECT * FROM live_raw_events")
    con.execute(f"CREATE OR REPLACE VIEW event_costs AS SELECT {_cast(costs)} FROM {rows} "
                f"UNION ALL SELECT {', '.join(f'{chr(34)}{n}{chr(34)}' for n, _ in costs)} FROM live_costs")
    return copied
