"""The project's own errors. The CLI turns them into a one-line message and an exit code
in exactly one place (`cli.main`)."""

from __future__ import annotations

from llmstats.plugin.errors import ConfigError, LlmstatsError

__all__ = ["ConfigError", "LlmstatsError", "OverridesError", "PricingError", "UsageError"]


class UsageError(LlmstatsError):
    """Bad input: unknown dimension, bad date, bad filter, bad time zone (exit 2)."""

    exit_code = 2


class PricingError(LlmstatsError):
    """The pricing catalog or the overrides file cannot be used."""


class OverridesError(PricingError):
    """A price in pricing/overrides.toml (or given to `pricing set`) is unusable; the
    message names the entry and the command that fixes it (exit 2: bad input)."""

    exit_code = 2
