"""The project's own errors. The CLI turns them into a one-line message and an exit code
in exactly one place (`cli.main`)."""

from __future__ import annotations

from llmstats.plugin.errors import ConfigError, LlmstatsError

__all__ = ["ConfigError", "LlmstatsError", "PricingError", "UsageError"]


class UsageError(LlmstatsError):
    """Bad input: unknown dimension, bad date, bad filter, bad time zone (exit 2)."""

    exit_code = 2


class PricingError(LlmstatsError):
    """The pricing catalog or the overrides file cannot be used."""
