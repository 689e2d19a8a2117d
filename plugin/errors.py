"""The root of llmstats' own errors. It lives in plugin/ because plugin/ imports nothing
from analytics/, and both raise errors the CLI must turn into one line and an exit code
(analytics/errors.py adds the report-side kinds under the same root)."""

from __future__ import annotations


class LlmstatsError(Exception):
    """Something went wrong that the user can act on; the message says what."""

    exit_code = 1


class ConfigError(LlmstatsError, ValueError):
    """A setting has a value llmstats cannot use; the message names the setting (exit 2:
    bad usage, like a bad option)."""

    exit_code = 2
