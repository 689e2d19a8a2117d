"""Convert the spools writers left behind, without starting a writer of one's own.

Every writer does this when it starts, so a restarted proxy recovers its predecessor's
spool by itself. `llmstats recover` is for the host that will not start one again: the
last replica of a scaled-down fleet, a pod whose volume outlives it, or a proxy stopped
while LiteLLM still owed callbacks (their response markers wait in the spool for events
that can no longer come; a dead writer's markers become rows).
"""

from __future__ import annotations

import shutil

from .config import Settings
from .writer import EventWriter, new_writer_id


def recover_spools(settings: Settings) -> tuple[int, int]:
    """(spool files converted, rows written) for every dead writer under the spool dir.
    Live writers hold their folder's lock and are left alone."""
    writer = EventWriter(settings, writer_id=f"recover-{new_writer_id()}")
    try:
        spool_files = writer.recover_orphans()
    finally:
        # This writer only borrowed an id to convert others' spools: leave no folder.
        spool = writer._spool
        if spool is not None:
            spool.close()
            shutil.rmtree(spool.folder, ignore_errors=True)
    return spool_files, writer.stats.recovered
