"""Deterministic token counts and a prompt cache, the same for every wire format.

A token is four characters (rounded up): crude, but deterministic and cheap, and the tests
read the counts back from the ledger rather than recomputing them.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

# OpenAI and Gemini cache implicitly: prompts of at least this many tokens, in blocks.
IMPLICIT_CACHE_MIN_TOKENS = 1024
IMPLICIT_CACHE_BLOCK = 128


def count_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def text_of(value: Any) -> str:
    """All strings inside a message structure, joined: what a tokenizer would see."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(text_of(v) for k, v in value.items() if k not in ("cache_control",))
    if isinstance(value, list):
        return " ".join(text_of(v) for v in value)
    return ""


def last_user_text(messages: Any) -> str:
    """The text of the last user message: what the fake answers quote back."""
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def output_tokens_for(request: Any, cap: int | None) -> int:
    """Between 8 and 263 tokens, fixed per request, never above max_tokens."""
    tokens = 8 + int(digest(request)[:6], 16) % 256
    return min(tokens, cap) if cap and cap > 0 else tokens


def answer_text(tokens: int) -> str:
    return ("lorem " * tokens)[: tokens * 4].rstrip() or "ok"


@dataclass(frozen=True)
class CacheUse:
    read: int = 0
    write: int = 0
    write_1h: int = 0


class PromptCache:
    """Remembers prompt prefixes: the first sight writes, later sights read."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def _first_sight(self, key: str) -> bool:
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            return True

    def explicit(self, prefix: Any, tokens: int, ttl: str | None) -> CacheUse:
        """Anthropic / Bedrock style: the caller marked the prefix with cache_control."""
        if tokens <= 0:
            return CacheUse()
        if self._first_sight(digest(prefix)):
            return CacheUse(write=tokens, write_1h=tokens if ttl == "1h" else 0)
        return CacheUse(read=tokens)

    def implicit(self, prefix: Any, prefix_tokens: int, prompt_tokens: int) -> int:
        """OpenAI / Gemini style: a long enough prompt whose prefix was seen reads it."""
        if prompt_tokens < IMPLICIT_CACHE_MIN_TOKENS or prefix_tokens < IMPLICIT_CACHE_MIN_TOKENS:
            return 0
        if self._first_sight(digest(prefix)):
            return 0
        return (prefix_tokens // IMPLICIT_CACHE_BLOCK) * IMPLICIT_CACHE_BLOCK
