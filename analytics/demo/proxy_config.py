"""The LiteLLM proxy configuration that `llmstats demo` and the end-to-end tests share.

Every model alias points at the fake provider on loopback; the LiteLLM model behind it is
a real catalog model, so LiteLLM prices the calls as it would in production. Aliases
with a path directive (`/fail/...`, `/flaky/...`) produce errors, retries and fallbacks.
"""

from __future__ import annotations

from typing import Any

CALLBACK = "llmstats.plugin.callback"
AUTH_HOOK = "llmstats.analytics.demo.identities.user_api_key_auth"

SLOW_MS = 1000  # how long the slow-* aliases' upstream takes to answer

FAKE_AWS = {
    "aws_access_key_id": "fake-access-key",
    "aws_secret_access_key": "fake-secret-key",
    "aws_region_name": "us-east-1",
}


def _openai(model: str, base: str, directive: str = "") -> dict[str, Any]:
    return {"model": f"openai/{model}", "api_base": f"{base}{directive}/v1", "api_key": "fake-key"}


def model_list(base: str) -> list[dict[str, Any]]:
    """(alias → real model behind the fake provider at `base`)."""
    entries: dict[str, dict[str, Any]] = {
        "gpt-4o-mini": _openai("gpt-4o-mini", base),
        "gpt-4o": _openai("gpt-4o", base),
        "o3-mini": _openai("o3-mini", base),
        "text-embedding-3-small": _openai("text-embedding-3-small", base),
        "dall-e-3": _openai("dall-e-3", base),
        "whisper-1": _openai("whisper-1", base),
        "tts-1": _openai("tts-1", base),
        "omni-moderation-latest": _openai("omni-moderation-latest", base),
        "claude-haiku-4-5": {
            "model": "anthropic/claude-haiku-4-5",
            "api_base": base,
            "api_key": "fake-key",
        },
        "claude-sonnet-4-5": {
            "model": "anthropic/claude-sonnet-4-5",
            "api_base": base,
            "api_key": "fake-key",
        },
        "gemini-2.5-flash": {
            "model": "gemini/gemini-2.5-flash",
            "api_base": base,
            "api_key": "fake-key",
        },
        "bedrock-claude-haiku": {
            "model": "bedrock/anthropic.claude-3-5-haiku-20241022-v1:0",
            "api_base": base,
            **FAKE_AWS,
        },
        "rerank-english": {
            "model": "cohere/rerank-english-v3.0",
            "api_base": base,
            "api_key": "fake-key",
        },
        # Failure modes: the body of every error echoes the request (as real 400s do).
        "broken-400": _openai("gpt-4o-mini", base, "/fail/400"),
        "broken-429": _openai("gpt-4o-mini", base, "/fail/429"),
        "broken-500": _openai("gpt-4o-mini", base, "/fail/500"),
        "broken-503": _openai("gpt-4o-mini", base, "/fail/503"),
        "flaky-gpt-4o-mini": _openai("gpt-4o-mini", base, "/flaky/1"),
        "primary-down": _openai("gpt-4o", base, "/fail/503"),
        # A request whose first two attempts get a 429 (the proxy retries one of them, the
        # client's SDK the other): client retries, tests/test_proxy_payloads.py.
        "flaky-429": _openai("gpt-4o-mini", base, "/flaky/2-429"),
        "broken-anthropic-400": {
            "model": "anthropic/claude-haiku-4-5",
            "api_base": f"{base}/fail/400",
            "api_key": "fake-key",
        },
        # An upstream that answers (or starts its stream) after a second.
        "slow-gpt-4o-mini": _openai("gpt-4o-mini", base, f"/slow/{SLOW_MS}"),
        "slow-claude-haiku": {
            "model": "anthropic/claude-haiku-4-5",
            "api_base": f"{base}/slow/{SLOW_MS}",
            "api_key": "fake-key",
        },
    }
    return [{"model_name": alias, "litellm_params": params} for alias, params in entries.items()]


def proxy_config(
    base: str, callbacks: list[str] | None = None, **litellm_settings: Any
) -> dict[str, Any]:
    return {
        "model_list": model_list(base),
        "litellm_settings": {
            "callbacks": callbacks if callbacks is not None else [CALLBACK],
            "drop_params": True,
            **litellm_settings,
        },
        "router_settings": {
            "num_retries": 1,
            "retry_after": 0,
            "fallbacks": [{"primary-down": ["gpt-4o-mini"]}],
        },
        "general_settings": {"custom_auth": AUTH_HOOK},
    }
