"""What every row says about the code that wrote it (kept free of heavy imports: the
proxy process needs these without loading pyarrow)."""

from __future__ import annotations

from importlib import metadata

# Bumped when columns are added (never renamed or retyped): 2 added client_retry_count and
# error_code_source (the pricing columns image_size … speed came in the same release, some
# files of version 1 have them); 3 added batch_requests. Readers take files of every version
# (missing columns read as NULL).
SCHEMA_VERSION = 3


def package_version() -> str:
    try:
        return metadata.version("llmstats")
    except metadata.PackageNotFoundError:
        return "0+unknown"
