"""The project's own errors. The CLI turns them into a one-line message and an exit code
in exactly one place (`cli.main`)."""

from __future__ import annotations


class LlmstatsError(Exception):
    """Something went wrong that the user can act on; the message says what."""

    exit_code = 1


class UsageError(LlmstatsError):
    """Bad input: unknown dimension, bad date, bad filter, bad time zone (exit 2)."""

    exit_code = 2


class PricingError(LlmstatsError):
    """The pricing catalog or the overrides file cannot be used."""
