"""Cohere rerank (v1 and v2 share the answer's shape)."""

from __future__ import annotations

from typing import Any

from .reply import Context, Reply, json_reply, new_id


def rerank(ctx: Context, request: dict[str, Any]) -> Reply:
    documents = request.get("documents") or []
    top = int(request.get("top_n") or len(documents))
    results = [
        {"index": i, "relevance_score": round(1.0 / (i + 1), 4)}
        for i in range(min(top, len(documents)))
    ]
    response_id = new_id("")
    body = {
        "id": response_id,
        "results": results,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    }
    return json_reply(body, {"id": response_id, "route": "cohere.rerank", "search_units": 1})
