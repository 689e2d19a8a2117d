"""How much memory and how many threads the dashboard's DuckDB may use.

DuckDB's default is 80 % of the machine's memory and every core: right for one person's
report, wrong for a server next to the proxy, where 20 users clicking at once would let
DuckDB's buffers grow towards the machine's memory. The server's connections are opened
with `SET memory_limit` and `SET threads` (beyond the limit a query spills to a private
temp dir, or fails with one line, rather than the process growing). Each connection of the
pool (data_source.py) is its own DuckDB database with its own buffer manager: each gets
an equal share of the memory limit, so that together they stay within it.

`memory_limit` bounds DuckDB's buffer manager (hash tables, sorts, cached Parquet pages),
not the whole process: the interpreter, the app, plotly, the price catalog and Arrow
results being shaped into JSON come on top (about 280 MB resident for a small data dir
once every page was drawn, measured 2026-12-07), so the default leaves that room under 1 GB.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    import duckdb

DEFAULT_MEMORY_LIMIT = "640MB"
DEFAULT_CONNECTIONS = 2
MAX_DEFAULT_THREADS = 4
"""A dashboard shares its machine with the proxy: DuckDB gets at most this many cores
unless --threads says otherwise (more cores speed one query up, but every thread also
holds its own buffers under the same memory limit)."""


def default_threads() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_THREADS))


@dataclass
class EngineLimits:
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    threads: int = field(default_factory=default_threads)
    connections: int = DEFAULT_CONNECTIONS
    temp_dir: str | None = None  # made on first use, removed by close()

    def check(self) -> None:
        """Bad values as one line (exit 2), at start-up rather than on the first request:
        DuckDB's own parser decides what a memory size is."""
        import duckdb

        if self.threads < 1:
            raise UsageError(f"--threads takes a whole number of at least 1, not {self.threads}")
        if self.connections < 1:
            raise UsageError(f"--connections takes a whole number of at least 1, "
                             f"not {self.connections}")
        try:
            self.memory_bytes()
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsageError(f"--memory-limit {self.memory_limit!r}: {first}") from None

    def memory_bytes(self) -> int:
        """The memory limit in bytes. DuckDB's own parser reads it (it takes units and
        percentages of the machine's memory); it shows the result in binary units."""
        import duckdb

        from ..connection import memory_limit_bytes

        probe = duckdb.connect()
        try:
            probe.execute("SET memory_limit = ?", [self.memory_limit])
            return memory_limit_bytes(probe)
        finally:
            probe.close()

    def connection_memory_limit(self) -> str:
        """Each connection's share of the memory limit, in DuckDB's syntax."""
        return f"{self.memory_bytes() // self.connections}B"

    def apply(self, con: duckdb.DuckDBPyConnection) -> None:
        """Set the limits on a connection (open_dataset's `configure` hook). Values are
        bound, never spliced into the statement."""
        if self.temp_dir is None:
            # DuckDB would spill into ".tmp" in the working directory; never the data dir.
            self.temp_dir = tempfile.mkdtemp(prefix="llmstats-serve-")
        con.execute("SET memory_limit = ?", [self.connection_memory_limit()])
        con.execute("SET threads = ?", [self.threads])
        con.execute("SET temp_directory = ?", [self.temp_dir])

    def close(self) -> None:
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None


def engine_settings(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """The limits in effect on a connection, as DuckDB reports them (the Health page)."""
    # fetchall: a result left unfinished would block the connection's next query.
    [(memory_limit, threads)] = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('threads')").fetchall()
    return {"memory_limit": memory_limit, "threads": threads}
