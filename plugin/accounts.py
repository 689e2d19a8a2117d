"""The writer's books: every line the callback spooled is written, dropped or still held.

    spooled = written + dropped + held           (at every heartbeat)

- `spooled`: lines the callback handed to the writer (events and response markers),
  whether they reached the spool file or had to wait in memory;
- `written`: rows this writer wrote to Parquet;
- `dropped`: lines that will never be a row of their own, by reason (`dropped_by_reason`):
  `memory_full` (the spool could not be written and the memory buffer was full),
  `no_id_or_start` (no event id or no usable start time), `unreadable` (a damaged line),
  `duplicate` (LiteLLM reported an attempt twice) and `marker_settled` (a response marker
  whose callback event came). Only the first three lose an event: `lost` counts them;
- `held`: lines not yet a row: in memory (`held_in_memory`), in spool files not
  converted yet (`held_in_spool`), and markers carried forward to wait for their event
  (`held_carried`).

The spool counts its own appends (under its lock) and the converter accounts for every
line it reads (spool_to_parquet.Converted.balanced); the rest is counted on the writer's thread,
which also takes the heartbeat, so a heartbeat is one consistent snapshot. Rows recovered
from a dead writer's spool are that writer's lines: they are `recovered`, with their own
drops in `recovered_dropped_by_reason`, and outside these books.

Kept free of heavy imports: the proxy process uses it (see writer.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MEMORY_FULL = "memory_full"
NO_ID_OR_START = "no_id_or_start"
UNREADABLE = "unreadable"
DUPLICATE = "duplicate"
MARKER_SETTLED = "marker_settled"
DROP_REASONS = (MEMORY_FULL, NO_ID_OR_START, UNREADABLE, DUPLICATE, MARKER_SETTLED)
LOSS_REASONS = (MEMORY_FULL, NO_ID_OR_START, UNREADABLE)


@dataclass
class Books:
    """What the writer's thread counts (the spool counts its appends itself)."""

    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    held_ever: int = 0  # lines ever put in the memory buffer
    retried: int = 0  # of those, appended to the spool since
    consumed: int = 0  # own spool lines read by conversions
    carried: int = 0  # own markers carried forward by the last conversion

    def settle(self, result: Mapping[str, Any]) -> None:
        """A converter round's result (converter.Result as a dict)."""
        self.consumed += int(result.get("lines") or 0)
        add_drops(self.dropped, result.get("dropped"))
        if result.get("carried") is not None:
            self.carried = int(result["carried"])

    def snapshot(self, appended: int, written: int) -> dict[str, Any]:
        """The heartbeat's figures; `appended`: lines the spool has taken so far."""
        in_memory = self.held_ever - self.retried
        in_spool = appended - self.consumed
        return _figures(
            spooled=appended - self.retried + self.held_ever + self.dropped[MEMORY_FULL],
            written=written,
            dropped=self.dropped,
            held_in_memory=in_memory,
            held_in_spool=in_spool,
            held_carried=self.carried,
        )


def add_drops(into: dict[str, int], more: Mapping[str, Any] | None) -> None:
    for reason, count in (more or {}).items():
        into[reason] = into.get(reason, 0) + int(count)


def _figures(
    *,
    spooled: int,
    written: int,
    dropped: Mapping[str, int],
    held_in_memory: int,
    held_in_spool: int,
    held_carried: int,
) -> dict[str, Any]:
    return {
        "spooled": spooled,
        "written": written,
        "dropped": sum(dropped.values()),
        "dropped_by_reason": dict(dropped),
        "lost": sum(dropped.get(reason, 0) for reason in LOSS_REASONS),
        "held": held_in_memory + held_in_spool + held_carried,
        "held_in_memory": held_in_memory,
        "held_in_spool": held_in_spool,
        "held_carried": held_carried,
    }


def settle_heartbeat(document: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """A heartbeat taken before a converter round, with the round's work booked (for object
    storage, where the converter child writes the heartbeat)."""
    dropped = dict(document.get("dropped_by_reason") or {})
    add_drops(dropped, result.get("dropped"))
    carried = result.get("carried")
    figures = _figures(
        spooled=int(document.get("spooled") or 0),
        written=int(document.get("written") or 0) + int(result.get("written") or 0),
        dropped=dropped,
        held_in_memory=int(document.get("held_in_memory") or 0),
        held_in_spool=int(document.get("held_in_spool") or 0) - int(result.get("lines") or 0),
        held_carried=int(document.get("held_carried") or 0) if carried is None else int(carried),
    )
    return {**document, **figures}


def balanced(figures: Mapping[str, Any]) -> bool:
    """spooled = written + dropped + held, for a heartbeat's figures."""
    return bool(
        figures["spooled"] == figures["written"] + figures["dropped"] + figures["held"]
    )
