"""llmstats' LiteLLM plugin: `callbacks: ["llmstats.plugin.callback"]`.

`callback` is created on first access, so importing this package (as the CLI does) never
imports LiteLLM, which costs seconds.
"""

from __future__ import annotations

from typing import Any

__all__ = ["callback"]


def __getattr__(name: str) -> Any:
    if name == "callback":
        from .litellm_logger import get_callback

        instance = get_callback()
        globals()["callback"] = instance
        return instance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
