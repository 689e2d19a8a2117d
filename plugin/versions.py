"""What every row says about the code that wrote it (kept free of heavy imports: the
proxy process needs these without loading pyarrow)."""

from __future__ import annotations

from importlib import metadata

SCHEMA_VERSION = 1


def package_version() -> str:
    try:
        return metadata.version("llmstats")
    except metadata.PackageNotFoundError:
        return "0+unknown"
