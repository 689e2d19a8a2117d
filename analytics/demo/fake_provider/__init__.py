"""A fake LLM provider on loopback: the real LiteLLM proxy talks to it as to the real thing.

It speaks the wire formats LiteLLM parses (OpenAI chat, streaming with a usage chunk,
embeddings, images, audio, moderations, the Responses API; Anthropic messages with prompt
caching; Gemini generateContent; Bedrock Converse; Cohere rerank), so LiteLLM runs its own
parsing, usage normalisation and cost code on every call. `llmstats demo` and the
end-to-end tests start it; nothing else depends on it.

Behaviour is chosen by a prefix on the path, so the model name (which decides the price)
stays real:
    /fail/<status>/...   every call fails with that status; the error body echoes the request
    /flaky/<n>/...       the first n attempts of an identical request fail with 500
    /flaky/<n>-<status>/ the same with that status (e.g. /flaky/2-429)
    /slow/<ms>/...       answer after a delay (a stream's first byte comes after it)
Every answer is appended to a ledger (JSON lines) with the usage exactly as sent, so tests
compare what was captured with what the provider said, not with what LiteLLM passed on.
"""

from .server import FakeProvider, serve_in_thread

__all__ = ["FakeProvider", "serve_in_thread"]
