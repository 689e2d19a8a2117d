"""Every (price-map entry, usage pattern) case of LiteLLM's bundled map, billed by LiteLLM
and captured by llmstats the way a real call is.

For each case, LiteLLM's own logging object (`litellm_core_utils.litellm_logging.Logging`,
the one every SDK and proxy call goes through) is given the call's parameters and a
response carrying the case's usage; its success handler prices it with LiteLLM's cost
functions (billing time pinned to the call's start, so off-peak windows are decided by
the call's own time) and builds the standard logging payload. That payload and response
go to llmstats' callback, the writer converts the spool to Parquet, and `event_costs`
prices the events: `run()` lines the two up, with the reason `report reconcile` gives
each event. A batch job is priced by LiteLLM's batch output code (`batch_utils`, given the
output file's lines in the provider's own format) and logged as the `retrieve_batch` call
that reports it, as LiteLLM's logging does once a batch completes.

Patterns per entry follow what its rates support: plain, cache read, cache writes (5
minutes and 1 hour), reasoning, audio in/out, image output tokens, each long-context
band, each service tier, inside and outside off-peak windows, regional multipliers;
batch jobs of one and of three requests (batch tiers included); images at every
size/quality entry, speech by characters, transcription by seconds or tokens, rerank by
search units, embeddings by tokens; and names LiteLLM prices through its fallbacks
(FALLBACK_NAMES).

Used by tests/test_cost_accuracy.py (every price signature, `every_shape`) and
benchmarks/bench_cost_accuracy.py (every case).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

TOLERANCE = 0.005
START = dt.datetime(2026, 11, 19, 12, 0, tzinfo=dt.UTC)
"""A Thursday, 12:00 UTC: peak hours for every off-peak window in the map."""
CHAT_MODES = ("chat", "completion", "responses")
_SIZE_KEY = re.compile(r"^(?:(?P<head>.+?)/)?(?P<size>\d+-x-\d+)/(?P<model>[^/].*)$")


@dataclass(frozen=True)
class Case:
    key: str
    provider: str
    model: str
    mode: str
    pattern: str
    call_type: str = "completion"
    usage: dict[str, Any] | None = None
    optional_params: dict[str, Any] = field(default_factory=dict)
    litellm_params: dict[str, Any] = field(default_factory=dict)
    start: dt.datetime = START
    seconds: float = 2.0
    images: int = 0
    audio_seconds: float = 0.0
    search_units: int = 0
    text: str | None = None
    batch: bool = False
    requests: int = 1
    """A batch job: LiteLLM prices each line of its output file (`requests` lines, each
    with the case's usage) at batch rates and logs the retrieve_batch call that reports
    their sum."""


@functools.cache
def price_map() -> dict[str, Any]:
    """LiteLLM's bundled map, read once (callers do not change it)."""
    from llmstats.analytics.pricing.catalog import installed_price_map_path

    return json.loads(installed_price_map_path().read_bytes())


def _model(key: str, provider: str) -> str:
    return key[len(provider) + 1:] if key.startswith(provider + "/") else key


def calling_provider(key: str, entry: dict[str, Any]) -> str | None:
    """The provider a user's call to this entry names: the key's own prefix when it is a
    LiteLLM provider (vertex_ai/claude-… is called as vertex_ai), else the entry's
    provider, with Vertex AI's model families (`vertex_ai-anthropic_models`, …) called
    as `vertex_ai`."""
    from litellm.types.utils import LlmProvidersSet

    provider = entry.get("litellm_provider")
    prefix = key.split("/", 1)[0] if "/" in key else None
    if prefix in LlmProvidersSet:
        return prefix
    if isinstance(provider, str) and provider.startswith("vertex_ai"):
        return "vertex_ai"
    return provider if isinstance(provider, str) else None


def _thresholds(entry: dict[str, Any], provider: str) -> list[int]:
    from llmstats.analytics.pricing.price_rules import tier_starts

    return [s for s in tier_starts(entry, provider) if s > 0]


def _has(entry: dict[str, Any], *names: str) -> bool:
    return any(entry.get(name) is not None for name in names)


def _usage(prompt: int, completion: int, *, read: int = 0, write: int = 0, write_1h: int = 0,
           reasoning: int = 0, audio_in: int = 0, audio_out: int = 0, image_out: int = 0,
           **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"cached_tokens": read}
    if write:
        details["cache_creation_tokens"] = write
    if write_1h:
        details["cache_creation_token_details"] = {
            "ephemeral_5m_input_tokens": write - write_1h, "ephemeral_1h_input_tokens": write_1h}
    if audio_in:
        details["audio_tokens"] = audio_in
    completion_details = {"reasoning_tokens": reasoning}
    if audio_out:
        completion_details["audio_tokens"] = audio_out
    if image_out:
        completion_details["image_tokens"] = image_out
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion, "prompt_tokens_details": details,
            "completion_tokens_details": completion_details, **extra}


def _chat_cases(key: str, entry: dict[str, Any], provider: str, mode: str) -> Iterator[Case]:
    model = _model(key, provider)
    base = {"key": key, "provider": provider, "model": model, "mode": mode,
            "call_type": "responses" if mode == "responses" else "completion"}
    yield Case(**base, pattern="plain", usage=_usage(1200, 300))
    yield Case(**base, pattern="cache_read", usage=_usage(50_000, 800, read=40_000))
    yield Case(**base, pattern="cache_write", usage=_usage(12_000, 500, write=10_000))
    yield Case(**base, pattern="cache_write_1h",
               usage=_usage(30_000, 400, read=20_000, write=8_000, write_1h=3_000))
    yield Case(**base, pattern="reasoning", usage=_usage(3_000, 4_000, reasoning=3_000))
    if _has(entry, "input_cost_per_audio_token", "output_cost_per_audio_token"):
        yield Case(**base, pattern="audio", usage=_usage(1_500, 600, audio_in=500, audio_out=200))
    if _has(entry, "output_cost_per_image_token"):
        yield Case(**base, pattern="image_tokens", usage=_usage(200, 1_400, image_out=1_290))
    for start in _thresholds(entry, provider):
        yield Case(**base, pattern=f"band_{start}",
                   usage=_usage(start, 1_000, read=start // 10, reasoning=200))
    tiers = sorted({t for t in ("priority", "flex", "balanced", "ultrafast")
                    if any(k.endswith("_" + t) or f"_{t}_" in k for k in entry)})
    for tier in tiers:
        yield Case(**base, pattern=f"tier_{tier}", usage=_usage(1_200, 300, read=200),
                   optional_params={"service_tier": tier})
        for start in _thresholds(entry, provider)[-1:]:
            yield Case(**base, pattern=f"tier_{tier}_band_{start}", usage=_usage(start, 500),
                       optional_params={"service_tier": tier})
    if isinstance(entry.get("off_peak_pricing"), dict):
        for hour in (0, 3, 17, 20):
            yield Case(**base, pattern=f"hour_{hour:02d}", usage=_usage(5_000, 800, read=1_000),
                       start=START.replace(hour=hour, minute=5))
    for region in ("eu", "us"):
        if _has(entry, f"regional_processing_uplift_multiplier_{region}"):
            yield Case(**base, pattern=f"residency_{region}", usage=_usage(1_200, 300),
                       litellm_params={"data_residency": region})
    specific = entry.get("provider_specific_entry")
    if isinstance(specific, dict) and "us" in specific:
        yield Case(**base, pattern="geo_us", usage=_usage(1_200, 300, inference_geo="us"))
    if isinstance(specific, dict) and "fast" in specific:
        yield Case(**base, pattern="fast", usage=_usage(1_200, 300, speed="fast"))


# Providers whose batch output LiteLLM prices (litellm/batches/batch_utils.py), plus any
# entry that states batch rates of its own.
BATCH_PROVIDERS = frozenset({"openai", "azure", "vertex_ai", "anthropic", "bedrock",
                             "hosted_vllm", "mistral"})


def _batch_cases(key: str, entry: dict[str, Any], provider: str, mode: str) -> Iterator[Case]:
    """A batch job of one request to the entry: plain, cache read and write, reasoning,
    image output tokens, and each long-context band (the `…_above_N_tokens_batches` tiers
    among them)."""
    stated = any(k.endswith("_batches") for k in entry)
    if not stated and provider not in BATCH_PROVIDERS and not entry.get("tiered_pricing"):
        return
    base = {"key": key, "provider": provider, "model": _model(key, provider), "mode": mode,
            "call_type": "retrieve_batch", "batch": True}
    if mode == "embedding":
        yield Case(**base, pattern="batch_embedding", usage=_usage(2_000, 0))
        return
    yield Case(**base, pattern="batch_plain", usage=_usage(1200, 300))
    yield Case(**base, pattern="batch_cache_read", usage=_usage(50_000, 800, read=40_000))
    if stated:
        yield Case(**base, pattern="batch_cache_write", usage=_usage(12_000, 500, write=10_000))
        yield Case(**base, pattern="batch_reasoning", usage=_usage(3_000, 4_000, reasoning=3_000))
    for start in _thresholds(entry, provider):
        yield Case(**base, pattern=f"batch_band_{start}", usage=_usage(start, 1_000))
        # Three requests: each above the threshold, and each at it (their sum above it).
        yield Case(**base, pattern=f"batch_band_{start}_x3", usage=_usage(start, 500),
                   requests=3)
        if start > 1:
            yield Case(**base, pattern=f"batch_below_{start}_x3", usage=_usage(start - 1, 500),
                       requests=3)


def cases(entries: dict[str, Any] | None = None) -> list[Case]:
    """Every case of the map (or of `entries`), in the map's order."""
    found: list[Case] = []
    entries = price_map() if entries is None else entries
    for key, entry in entries.items():
        if not isinstance(entry, dict) or key == "sample_spec":
            continue
        provider, mode = calling_provider(key, entry), entry.get("mode")
        if provider is None or re.match(r"^(fireworks-ai|together-ai)-", key):
            continue  # size buckets are prices, not names anyone calls
        found.extend(_cases_of(key, entry, provider, mode))
    return found + fallback_cases(entries)


# Names no map key spells, which LiteLLM prices through its fallbacks (or, unmapped, at $0):
# (name called, provider, the map key LiteLLM prices it at, None: unmapped).
FALLBACK_NAMES: tuple[tuple[str, str, str | None], ...] = (
    ("ft:gpt-4o-2024-08-06:acme::abc123", "openai", "ft:gpt-4o-2024-08-06"),
    ("ft:gpt-4o-mini-2024-07-18:acme:support:abc123", "openai", "ft:gpt-4o-mini-2024-07-18"),
    ("ft:gpt-4.1-nano-2025-04-14:acme::x1", "openai", "ft:gpt-4.1-nano-2025-04-14"),
    ("converse/anthropic.claude-sonnet-4-20250514-v1:0", "bedrock",
     "anthropic.claude-sonnet-4-20250514-v1:0"),
    ("converse/us.anthropic.claude-sonnet-4-20250514-v1:0", "bedrock",
     "us.anthropic.claude-sonnet-4-20250514-v1:0"),
    ("accounts/fireworks/models/acme-13b-instruct", "fireworks_ai",
     "fireworks-ai-4.1b-to-16b"),
    ("accounts/fireworks/models/acme-70b-instruct", "fireworks_ai",
     "fireworks-ai-above-16b"),
    ("accounts/fireworks/models/acme-3b-instruct", "fireworks_ai",
     "fireworks-ai-up-to-4b"),
    ("togethercomputer/acme-13b-chat", "together_ai", "together-ai-8.1b-21b"),
    ("claude-sonnet-4-20250514", "anthropic", None),
    ("claude-opus-4-20250514", "anthropic", None),
)


def fallback_cases(entries: dict[str, Any] | None = None) -> list[Case]:
    """Plain and cache-read calls to the names of FALLBACK_NAMES (their key: the entry
    LiteLLM prices them at, or the name itself when unmapped)."""
    entries = price_map() if entries is None else entries
    found = []
    for name, provider, key in FALLBACK_NAMES:
        if key is not None and key not in entries:
            continue  # a map without this entry
        base = {"key": key or name, "provider": provider, "model": name, "mode": "chat"}
        found.append(Case(**base, pattern="name_plain", usage=_usage(1200, 300)))
        found.append(Case(**base, pattern="name_cache_read",
                          usage=_usage(50_000, 800, read=40_000)))
    return found


def price_signature(key: str, entry: dict[str, Any]) -> str:
    """What decides how an entry bills, besides its name: its provider, mode and every
    price it states. Entries of one signature (regional and dated copies) bill alike."""
    prices = {name: value for name, value in entry.items()
              if "cost" in name or "multiplier" in name
              or name in ("tiered_pricing", "off_peak_pricing", "provider_specific_entry")}
    return json.dumps([calling_provider(key, entry), entry.get("mode"), prices], sort_keys=True,
                      default=str)


def every_shape(found: list[Case], always: Iterable[str] = ()) -> list[Case]:
    """Every case of the first entry of each price signature, of the entries in `always`
    and of the names outside the map; the first case (LiteLLM's lookup of the name) of
    every other entry. The whole map bills no shape that this leaves out."""
    entries = price_map()
    first: dict[str, str] = {}
    full = set(always)
    for key, entry in entries.items():
        if (isinstance(entry, dict) and key != "sample_spec"
                and first.setdefault(price_signature(key, entry), key) == key):
            full.add(key)
    first_case: dict[str, Case] = {}
    for case in found:
        first_case.setdefault(case.key, case)
    return [c for c in found if c.key in full or c.key not in entries
            or c.pattern.startswith("name_") or first_case[c.key] is c]


def _cases_of(key: str, entry: dict[str, Any], provider: str, mode: Any) -> Iterator[Case]:
    model = _model(key, provider)
    base = {"key": key, "provider": provider, "mode": mode}
    if mode in CHAT_MODES:
        yield from _chat_cases(key, entry, provider, mode)
        yield from _batch_cases(key, entry, provider, mode)
    elif mode == "embedding":
        yield Case(**base, model=model, pattern="embedding", call_type="embedding",
                   usage={"prompt_tokens": 2_000, "completion_tokens": 0, "total_tokens": 2_000})
        yield from _batch_cases(key, entry, provider, mode)
    elif mode == "rerank":
        yield Case(**base, model=model, pattern="rerank", call_type="rerank", search_units=3)
    elif mode == "audio_speech":
        yield Case(**base, model=model, pattern="speech", call_type="speech",
                   text=("The quick brown fox jumps over the lazy dog. " * 23)[:1000])
    elif mode == "audio_transcription":
        yield Case(**base, model=model, pattern="transcription_seconds",
                   call_type="transcription", audio_seconds=60.0)
        if _has(entry, "input_cost_per_token", "input_cost_per_audio_token"):
            yield Case(**base, model=model, pattern="transcription_tokens",
                       call_type="transcription", audio_seconds=60.0,
                       usage=_usage(1_000, 150, audio_in=1_000))
    elif mode == "image_generation":
        sized = _SIZE_KEY.match(model)
        if sized:
            head = sized.group("head") or ""
            if "/" in head or "steps" in head or "steps" in sized.group("model"):
                return  # Bedrock step-count variants: not a size/quality LiteLLM derives
            size = sized.group("size").replace("-x-", "x")
            width, height = (int(n) for n in size.split("x"))
            # fal.ai takes the size as `image_size` (LiteLLM's fal_ai calculator reads it).
            params = ({"image_size": {"width": width, "height": height}} if provider == "fal_ai"
                      else {"size": size}) | ({"quality": head} if head else {})
            yield Case(**base, model=sized.group("model"), pattern=f"image_{head or 'any'}_{size}",
                       call_type="image_generation", images=1, optional_params=params)
            return
        yield Case(**base, model=model, pattern="images", call_type="image_generation", images=2)
        if _has(entry, "output_cost_per_image_token", "input_cost_per_token"):
            yield Case(**base, model=model, pattern="image_usage", call_type="image_generation",
                       images=1, usage={"input_tokens": 50, "output_tokens": 4_160,
                                        "total_tokens": 4_210,
                                        "input_tokens_details": {"text_tokens": 50,
                                                                 "image_tokens": 0}})


def _response(case: Case) -> Any:
    from litellm.types.utils import (
        EmbeddingResponse,
        ImageResponse,
        ModelResponse,
        TranscriptionResponse,
        Usage,
    )

    if case.call_type in ("completion", "responses"):
        return ModelResponse(model=case.model, choices=[
            {"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            usage=Usage(**(case.usage or {})))
    if case.call_type == "embedding":
        response = EmbeddingResponse(model=case.model, data=[{"embedding": [0.0], "index": 0}])
        response.usage = Usage(**(case.usage or {}))
        return response
    if case.call_type == "image_generation":
        return ImageResponse(created=1, data=[{"b64_json": "AA=="}] * case.images,
                             usage=case.usage)
    if case.call_type == "transcription":
        response = TranscriptionResponse(text="ok")
        response._hidden_params = {"audio_transcription_duration": case.audio_seconds}
        if case.usage:
            response.usage = Usage(**case.usage)  # type: ignore[attr-defined]
        return response
    if case.call_type == "rerank":
        from litellm.types.rerank import RerankResponse

        return RerankResponse(id="r", results=[{"index": 0, "relevance_score": 0.5}],
                              meta={"billed_units": {"search_units": case.search_units}})
    if case.call_type == "speech":
        import httpx
        from litellm.types.llms.openai import HttpxBinaryResponseContent

        return HttpxBinaryResponseContent(response=httpx.Response(200, content=b"\0" * 64))
    raise ValueError(case.call_type)


@dataclass
class Billed:
    case: Case
    litellm_cost: float | None
    event_id: str | None


def bill(case: Case, index: int, callback: Any) -> Billed:
    """LiteLLM prices the case through its logging object; llmstats' callback captures
    the same call. Returns LiteLLM's cost (None: LiteLLM could not price it)."""
    from litellm._internal_context import pinned_billing_time
    from litellm.litellm_core_utils.litellm_logging import Logging

    call_type = case.call_type
    messages: Any = [{"role": "user", "content": "hello"}]
    if call_type == "speech":
        messages = case.text
    logging = Logging(model=case.model, messages=messages, stream=False, call_type=call_type,
                      start_time=case.start, litellm_call_id=f"case-{index}",
                      function_id="cost-accuracy")
    logging.update_environment_variables(
        model=case.model, user=None, optional_params=dict(case.optional_params),
        litellm_params={"custom_llm_provider": case.provider, "metadata": {},
                        **case.litellm_params},
        custom_llm_provider=case.provider,
        **({"input": case.text} if call_type == "speech" else {}),
    )
    end = case.start + dt.timedelta(seconds=case.seconds)
    response = _response(case)
    try:
        with pinned_billing_time(case.start):
            logging._success_handler_helper_fn(result=response, start_time=case.start,
                                               end_time=end, cache_hit=False)
    except Exception:
        return Billed(case, None, None)
    kwargs = logging.model_call_details
    payload = kwargs.get("standard_logging_object")
    if not isinstance(payload, dict):
        return Billed(case, None, None)
    cost = payload.get("response_cost")
    callback.log_success_event(kwargs, response, case.start, end)
    start_us = int(case.start.timestamp() * 1_000_000)
    return Billed(case, float(cost) if cost is not None else None, f"case-{index}@{start_us}")


def _batch_output_line(case: Case) -> dict[str, Any]:
    """The case's request as one line of the batch's output file, in the provider's own
    format (LiteLLM reads Anthropic's and Bedrock's results lines apart)."""
    usage = dict(case.usage or {})
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    details = usage.get("prompt_tokens_details") or {}
    read, write = details.get("cached_tokens", 0), details.get("cache_creation_tokens", 0)
    if case.provider == "anthropic":
        return {"custom_id": "r", "result": {"type": "succeeded", "message": {
            "id": "m", "type": "message", "role": "assistant", "model": case.model,
            "content": [], "stop_reason": "end_turn",
            "usage": {"input_tokens": prompt - read - write, "output_tokens": completion,
                      "cache_read_input_tokens": read, "cache_creation_input_tokens": write}}}}
    if case.provider == "bedrock":
        return {"recordId": "r", "modelInput": {}, "modelOutput": {"usage": {
            "inputTokens": prompt - read - write, "outputTokens": completion,
            "totalTokens": prompt + completion, "cacheReadInputTokens": read,
            "cacheWriteInputTokens": write}}}
    if write:
        usage["cache_creation_input_tokens"] = write
    body: dict[str, Any] = {"id": "c", "object": "chat.completion", "created": 1,
                            "model": case.model, "usage": usage,
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": "ok"}}]}
    if case.mode == "embedding":
        body = {"object": "list", "model": case.model, "data": [],
                "usage": {"prompt_tokens": prompt, "total_tokens": prompt}}
    return {"id": "b", "custom_id": "r", "error": None,
            "response": {"status_code": 200, "request_id": "q", "body": body}}


async def _bill_batch(case: Case, index: int, callback: Any) -> Billed:
    """LiteLLM prices the batch's output file (batch_utils, the code its retrieve_batch
    logging runs once a batch completes; only the download is left out) and logs the
    retrieve_batch call that reports it; llmstats' callback captures that call."""
    from litellm._internal_context import pinned_billing_time
    from litellm.batches.batch_utils import _aggregate_batch_cost_usage_models
    from litellm.litellm_core_utils.litellm_logging import Logging
    from litellm.types.utils import LiteLLMBatch

    try:
        totals = _aggregate_batch_cost_usage_models(
            entries=[_batch_output_line(case)] * case.requests,
            custom_llm_provider=case.provider,  # type: ignore[arg-type]
            model_name=case.model)
    except Exception:
        return Billed(case, None, None)
    logging = Logging(model=case.model, messages=[], stream=False, call_type="aretrieve_batch",
                      start_time=case.start, litellm_call_id=f"case-{index}",
                      function_id="cost-accuracy")
    logging.update_environment_variables(
        model=case.model, user=None, optional_params={},
        litellm_params={"custom_llm_provider": case.provider, "metadata": {}},
        custom_llm_provider=case.provider)
    result = LiteLLMBatch(id=f"batch_{index}", object="batch", endpoint="/v1/chat/completions",
                          completion_window="24h", created_at=1, status="completed",
                          input_file_id="file-in", output_file_id="file-out")
    end = case.start + dt.timedelta(seconds=case.seconds)
    try:
        with pinned_billing_time(case.start):
            await logging.async_success_handler(
                result=result, start_time=case.start, end_time=end, cache_hit=False,
                batch_cost=totals.cost, batch_usage=totals.usage, batch_models=totals.models,
                batch_successful_requests=totals.successful_requests,
                batch_failed_requests=totals.failed_requests,
                batch_prompt_cost=totals.prompt_cost,
                batch_completion_cost=totals.completion_cost)
    except Exception:
        return Billed(case, None, None)
    kwargs = logging.model_call_details
    payload = kwargs.get("standard_logging_object")
    if not isinstance(payload, dict) or payload.get("response_cost") is None:
        return Billed(case, None, None)
    callback.log_success_event(kwargs, result, case.start, end)
    start_us = int(case.start.timestamp() * 1_000_000)
    return Billed(case, float(payload["response_cost"]), f"case-{index}@{start_us}")


async def _bill_batches(selected: list[tuple[int, Case]], callback: Any) -> list[Billed]:
    return [await _bill_batch(case, index, callback) for index, case in selected]


@dataclass
class Outcome:
    case: Case
    litellm_cost: float
    ours: float | None
    priced_by: str | None
    reason: str | None
    """Why LiteLLM is off its own map here (docs/pricing.md), or None: it follows it."""
    reconciled: str | None = None
    """The reason `llmstats report reconcile` gives the event."""
    event_id: str | None = None

    @property
    def agrees(self) -> bool:
        return self.ours is not None and abs(self.ours - self.litellm_cost) <= (
            TOLERANCE * abs(self.litellm_cost) + 1e-12)

    @property
    def silent_zero(self) -> bool:
        """An event at $0 that no flagged $0 price explains."""
        return self.ours == 0 and self.priced_by not in ("catalog_zero",)


# Providers whose LiteLLM cost function takes no service tier (cost_calculator.py calls
# them without it): their `_priority` / `_flex` rates are never billed.
_TIERLESS_CALCULATORS = frozenset({"fireworks_ai", "deepseek", "tencent", "perplexity", "xai",
                                   "lemonade", "dashscope", "qwencloud", "qwen_ai_platform"})


def litellm_off_map(case: Case, entry: dict[str, Any] | None, litellm_cost: float) -> str | None:
    """The classes where LiteLLM's own cost functions do not bill what its map says
    (docs/pricing.md names each with the map entry): llmstats keeps the map's price, and
    `llmstats report reconcile` gives the same name to an event of the class. None:
    LiteLLM follows its map here, and so must llmstats."""
    from llmstats.analytics.pricing.price_rules import prices_anything

    if entry is None:
        return "litellm_unmapped"  # LiteLLM bills $0; llmstats the flagged default
    if not prices_anything(entry) and litellm_cost == 0:
        if case.pattern.startswith("image_") and case.pattern != "image_usage":
            # A size/quality entry without a price: the call's model has one, which
            # LiteLLM's image calculator does not reach ($0); llmstats' flagged default.
            return "litellm_priced_zero"
        return "litellm_no_price"  # LiteLLM bills $0; llmstats the flagged default
    if case.batch and (entry.get("input_cost_per_token") or entry.get("tiered_pricing")):
        batch_input = entry.get("input_cost_per_token_batches") is not None
        if entry.get("tiered_pricing") and entry.get("input_cost_per_token") is None:
            return "litellm_batch_tiered_zero"  # no flat input rate: the batch path bills $0
        if (not batch_input and entry.get("cache_read_input_token_cost") is None
                and "cache_read" in case.pattern):
            return "litellm_batch_cache_read_zero"  # cached tokens billed $0
        if case.pattern.startswith("batch_band_") and not any(
                key.startswith("input_cost_per_token_above_") and key.endswith("_batches")
                for key in entry):
            return "litellm_batch_flat_rates"  # half the flat rates, not the band's
    if litellm_cost == 0 and any(
            isinstance(v, int | float) and v > 0 for k, v in entry.items() if "cost" in k):
        return "litellm_priced_zero"  # LiteLLM's calculator raised or skipped the entry
    if case.provider == "perplexity" and case.pattern not in ("plain", "reasoning"):
        return "litellm_perplexity"  # ignores cache and long-context rates
    if case.pattern.startswith("tier_") and case.provider in _TIERLESS_CALCULATORS:
        return "litellm_ignores_service_tier"
    return None


def run(selected: Iterable[Case], data_dir: str) -> list[Outcome]:
    """Bill every case through LiteLLM and llmstats; compare per event."""
    import asyncio
    import logging

    from llmstats.analytics.connection import connect
    from llmstats.analytics.report.reports import reconcile_reasons
    from llmstats.plugin.config import load_settings
    from llmstats.plugin.litellm_logger import LLMStatsLogger

    # LiteLLM warns about every call it prices at $0; the comparison counts those itself.
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    entries = price_map()
    callback = LLMStatsLogger(load_settings(flush_seconds=3600, data_dir=data_dir))
    numbered = list(enumerate(selected))
    billed = [bill(case, index, callback) for index, case in numbered if not case.batch]
    billed += asyncio.run(_bill_batches([(i, c) for i, c in numbered if c.batch], callback))
    assert callback.flush(timeout=300), "the writer did not flush"
    con = connect(data_dir)
    ours = {row[0]: row[1:] for row in con.execute(
        "SELECT event_id, cost_usd, priced_by, reason FROM "
        + reconcile_reasons("event_costs")).fetchall()}
    con.close()
    outcomes = []
    for item in billed:
        if item.litellm_cost is None or item.event_id is None:
            continue
        cost, priced_by, reconciled = ours.get(item.event_id, (None, None, None))
        outcomes.append(Outcome(item.case, item.litellm_cost, cost, priced_by,
                                litellm_off_map(item.case, entries.get(item.case.key),
                                                item.litellm_cost), reconciled, item.event_id))
    return outcomes
