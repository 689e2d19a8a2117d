"""`llmstats demo`: the whole pipeline on loopback, with no API key and no network.

Starts the fake provider and the real LiteLLM proxy (with llmstats' callback and LiteLLM's
in-memory response cache) on 127.0.0.1, sends a mixed workload as several teams and
users, stops the proxy with SIGTERM (the path on which the callback must flush), and
leaves the events in the data dir for the report.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fake_provider import serve_in_thread
from .identities import token_for
from .litellm_proxy import LiteLLMProxy
from .proxy_config import proxy_config

TEAMS: dict[str, list[str]] = {
    "search": ["alice", "bob", "chen"],
    "support": ["dana", "eli"],
    "research": ["fay", "gus"],
    "platform": ["hal"],
}
TAGS = ["prod", "staging", "nightly-eval", "chatbot", "summarise"]
# Each team has its own long system prompt, sent again and again: prompt-cache material.
SYSTEM_PROMPTS = {
    team: f"You are the {team} team's assistant. Follow the {team} style guide. " * 90
    for team in TEAMS
}
CHAT_MODELS = [
    "gpt-4o-mini",
    "gpt-4o-mini",
    "gpt-4o",
    "o3-mini",
    "claude-haiku-4-5",
    "claude-sonnet-4-5",
    "gemini-2.5-flash",
    "bedrock-claude-haiku",
]
CODE_SNIPPET = "def total(items):\n    return sum(item['qty'] * item['price'] for item in items)\n"
ORDER_JSON = '{"order": 1042, "items": [{"sku": "a-1", "qty": 2, "price": 9.5}]}'
DEMO_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"Look up {name.split('_')[-1]} records by id, date range or free text. "
            * 8,
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            },
        },
    }
    for name in ("search_orders", "search_customers", "search_tickets")
]
ANTHROPIC_STYLE = {"claude-haiku-4-5", "claude-sonnet-4-5", "bedrock-claude-haiku"}


@dataclass
class DemoResult:
    data_dir: Path
    sent: int = 0
    answered: int = 0
    failed: int = 0
    seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)


def _messages(team: str, model: str, question: str) -> list[dict[str, Any]]:
    system: Any = SYSTEM_PROMPTS[team]
    if model in ANTHROPIC_STYLE:
        system = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def _workload(rng: random.Random, calls: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(kind, team, user, request) for every call, in a fixed order for a given seed."""
    plan: list[tuple[str, str, str, dict[str, Any]]] = []
    for index in range(calls):
        team = rng.choice(list(TEAMS))
        user = rng.choice(TEAMS[team])
        tags = rng.sample(TAGS, k=rng.randint(0, 2))
        roll = rng.random()
        if roll < 0.70:
            model = rng.choice(CHAT_MODELS)
            question = f"Question {index}: {rng.random():.6f}"
            if rng.random() < 0.3:
                question += f"\n```python\n{CODE_SNIPPET * rng.randint(1, 6)}```\n{ORDER_JSON}"
            request = {
                "model": model,
                "messages": _messages(team, model, question),
                "stream": rng.random() < 0.3,
                "metadata": {"tags": tags},
            }
            if rng.random() < 0.3:
                request["tools"] = DEMO_TOOLS
            plan.append(("chat", team, user, request))
        elif roll < 0.80:
            inputs = [f"document {index}-{i}" for i in range(rng.randint(1, 4))]
            plan.append(
                ("embedding", team, user, {"model": "text-embedding-3-small", "input": inputs})
            )
        elif roll < 0.83:
            plan.append(
                ("image", team, user, {"model": "dall-e-3", "prompt": "a lighthouse", "n": 1})
            )
        elif roll < 0.86:
            # The same question twice in a row: the second one is a proxy cache hit.
            request = {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "What is our refund policy?"}],
                "metadata": {"tags": ["faq"]},
            }
            plan.append(("chat", team, user, request))
        elif roll < 0.91:
            model = rng.choice(["broken-429", "broken-400", "broken-500"])
            plan.append(
                ("error", team, user, {"model": model, "messages": _messages(team, "x", "fail")})
            )
        elif roll < 0.96:
            model = rng.choice(["primary-down", "flaky-gpt-4o-mini"])
            request = {"model": model, "messages": _messages(team, model, f"Retry {index}")}
            plan.append(("fallback", team, user, request))
        else:
            plan.append(
                (
                    "rerank",
                    team,
                    user,
                    {"model": "rerank-english", "query": "refunds", "documents": ["a", "b", "c"]},
                )
            )
    return plan


def _sender(proxy_url: str) -> Callable[[tuple[str, str, str, dict[str, Any]]], bool]:
    import httpx

    local = threading.local()

    def send(item: tuple[str, str, str, dict[str, Any]]) -> bool:
        kind, team, user, request = item
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=proxy_url, timeout=60)
        path = {
            "embedding": "/embeddings",
            "image": "/images/generations",
            "rerank": "/v1/rerank",
        }.get(kind, "/chat/completions")
        body = dict(request)
        if body.get("stream"):
            body["stream_options"] = {"include_usage": True}
        headers = {"Authorization": f"Bearer {token_for(team, user)}"}
        try:
            with client.stream("POST", path, json=body, headers=headers) as response:
                for _ in response.iter_bytes():
                    pass
                return response.status_code == 200
        except httpx.TransportError:
            # A connection the proxy dropped or a timeout on an overloaded machine: the
            # call counts as not answered (no traceback), and the next call reconnects.
            client.close()
            local.client = None
            return False

    return send


def run_demo(
    workdir: Path,
    calls: int = 300,
    seed: int = 7,
    concurrency: int = 6,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Run the workload through a real proxy; the events end up in `workdir/data`."""
    data_dir = workdir / "data"
    provider = serve_in_thread(0, None)
    config = proxy_config(
        provider.url,
        cache=True,
        cache_params={"type": "local", "supported_call_types": ["acompletion"]},
    )
    env = {"LLMSTATS_DATA_DIR": str(data_dir), "LLMSTATS_FLUSH_SECONDS": "2"}
    proxy = LiteLLMProxy(config, workdir, env=env)
    result = DemoResult(data_dir=data_dir)
    plan = _workload(random.Random(seed), calls)
    started = time.monotonic()
    try:
        proxy.start()
        send = _sender(proxy.url)
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for done, ok in enumerate(pool.map(send, plan), start=1):
                result.answered += ok
                result.failed += not ok
                if progress is not None:
                    progress(done, len(plan))
        time.sleep(1.0)  # LiteLLM runs success callbacks just after answering
    finally:
        proxy.stop()  # SIGTERM: llmstats flushes on the way out
        provider.shutdown()
        provider.server_close()
    result.sent = len(plan)
    result.seconds = time.monotonic() - started
    for kind, *_ in plan:
        result.by_kind[kind] = result.by_kind.get(kind, 0) + 1
    return result
