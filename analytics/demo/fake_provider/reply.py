"""What a route hands back to the HTTP layer, and the bits of state routes share."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .tokens import PromptCache


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    chunks: Iterable[bytes] | None = None
    """A streamed body (SSE or AWS event stream); sent with Connection: close."""
    ledger: dict[str, Any] = field(default_factory=dict)
    """What the provider answered, for the tests: id, usage exactly as sent."""


def json_reply(payload: Any, ledger: dict[str, Any], status: int = 200) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode(), ledger=ledger)


def sse(event: Any, name: str | None = None) -> bytes:
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(event)}\n\n".encode()


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


@dataclass
class Context:
    cache: PromptCache
    model: str | None = None
    """The model named by the URL (Gemini, Bedrock) rather than the body."""
    stream: bool = False
    query: dict[str, str] = field(default_factory=dict)
