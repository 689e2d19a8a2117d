"""llmstats analytics: DuckDB views over the captured events, pricing, reports and the CLI.

`connect()` is imported lazily: the CLI lives in this package and `llmstats --help` must
not pay for importing DuckDB and pyarrow.
"""

from __future__ import annotations

from typing import Any

__all__ = ["connect", "open_dataset"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import connection

        return getattr(connection, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
