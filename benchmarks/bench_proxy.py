"""Proxy throughput: the real LiteLLM proxy with and without capture, interleaved in one run.

Goal (issue 2): requests/s with `callbacks: ["llmstats.plugin.callback"]` ≥ 97% of the same
proxy without a callback. LiteLLM's own S3 logger (`callbacks: ["s3_v2"]`, writing to a
moto S3 server on loopback) runs in the same harness as the peer figure.

Set-up, all on 127.0.0.1:
- the fake provider (`python -m llmstats.analytics.fake_provider`) in its own process, so it
  never shares a GIL with the client or a proxy;
- three LiteLLM proxies (`litellm --config`, one worker each), started once and kept for the
  whole run: `none` (no callback), `llmstats` (data dir in a temp dir, default flush
  settings) and `s3_v2` (LiteLLM's default batch size and flush interval, a moto server
  started here). Rounds are interleaved (none, llmstats, s3_v2, none, …) instead of
  restarting proxies: a start costs ~7 s and neither logger accumulates state that grows
  with the run (llmstats de-duplicates over a bounded window; s3_v2 empties its queue on
  every flush). Only one proxy is loaded at a time; the idle ones only run timers.
- the load: one asyncio client (aiohttp) with a fixed number of connections, sending
  non-streaming chat completions with realistic bodies (system prompt, a few turns, model
  mix of OpenAI and Anthropic aliases, team/user keys) until the round's request count is
  sent or its time limit is reached, whichever comes first.

Every proxy gets a warm-up before the first round. After each llmstats round the benchmark
waits (bounded) until the Parquet files hold exactly one row per request sent so far; after
each s3_v2 round until the bucket holds one object per request. A round whose rows or
objects do not arrive is reported as void. The waits happen between rounds, so the
Parquet conversion (every 60 s by default, off the event loop) is mostly not inside a
measured window; for a few thousand rows it takes tens of milliseconds.

Figures: requests/s per configuration (median over rounds) and its ratio to `none`, client
latency p50/p99 (all measured rounds pooled), and the proxy process's CPU time per request
(user + system, all threads, from /proc). On a shared 2-core machine requests/s moves with
whatever else runs; CPU per request hardly does, so `none`'s CPU per request divided by a
configuration's is the second, steadier estimate of the same ratio (the proxy is CPU-bound
on one core at this concurrency).

    .venv/bin/python benchmarks/bench_proxy.py [--rounds 6] [--requests 2000] [--concurrency 24]
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch prices

import argparse
import asyncio
import json
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pyarrow.parquet as pq

from llmstats.analytics.demo_config import CALLBACK, proxy_config
from llmstats.analytics.litellm_proxy import LiteLLMProxy, free_port
from llmstats.analytics.proxy_identities import token_for
from llmstats.plugin.config import Settings

# The tests' moto server helper: one way to start S3 on loopback, not two.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from moto_server import create_bucket, moto_s3

CONFIGS = ("none", "llmstats", "s3_v2")
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-haiku-4-5")
TEAMS = [("search", "alice"), ("search", "bob"), ("support", "carol"), ("ml", "dave")]
BUCKET = "litellm-logs"
S3_FLUSH_SECONDS = 10  # LiteLLM's DEFAULT_S3_FLUSH_INTERVAL_SECONDS
SYSTEM_PROMPT = (
    "You are a support assistant for an online bookshop. Answer in the customer's language, "
    "in at most five sentences. Never promise refunds; point to the returns page instead. "
    "If an order number is given, repeat it back. Use a friendly, plain tone and avoid "
    "marketing language. When the question is about shipping, mention that standard "
    "delivery takes three to five working days and express delivery one to two."
)
QUESTIONS = [
    "Where is my order 58213? I ordered it last Tuesday and the tracking page shows nothing.",
    "Can I change the delivery address for an order that has already been dispatched?",
    "Do you ship to Norway, and if so how long does it take and what does it cost?",
    "I received the wrong edition of the book. What should I do to get the right one?",
    "Is there a way to buy a gift card and send it by email on a specific date?",
]


# ---- processes on loopback ---------------------------------------------------------


def wait_http(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.1)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextmanager
def fake_provider() -> Iterator[str]:
    """The fake provider in its own process; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmstats.analytics.fake_provider", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/", proc, "fake provider")
        yield url
    finally:
        stop_process(proc)


@contextmanager
def moto_s3_with_bucket() -> Iterator[str]:
    """The tests' moto S3 server on loopback, with the benchmark's bucket; yields its endpoint."""
    with moto_s3() as endpoint:
        create_bucket(endpoint, BUCKET)
        yield endpoint


def s3_callback_params(endpoint: str) -> dict[str, Any]:
    return {
        "s3_bucket_name": BUCKET,
        "s3_region_name": "us-east-1",
        "s3_endpoint_url": endpoint,
        "s3_aws_access_key_id": "testing",
        "s3_aws_secret_access_key": "testing",
        "s3_use_ssl": False,
    }


# ---- verification -----------------------------------------------------------------


def parquet_rows(data_dir: Path) -> int:
    events = data_dir / "events"
    if not events.exists():
        return 0
    # Temporary files are hidden `.name.tmp`: only renamed, complete files match.
    return sum(pq.read_metadata(path).num_rows for path in events.rglob("*.parquet"))


def s3_objects(endpoint: str) -> int:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return sum(page.get("KeyCount", 0) for page in pages)


def wait_count(count: Callable[[], int], expected: int, timeout: float) -> tuple[int, float]:
    """Poll until `count()` reaches `expected` (bounded); the count and seconds waited."""
    start = time.monotonic()
    found = count()
    while found < expected and time.monotonic() - start < timeout:
        time.sleep(0.5)
        found = count()
    return found, time.monotonic() - start


# ---- load ---------------------------------------------------------------------------


def chat_body(index: int) -> dict[str, Any]:
    turns = index % 3
    messages: list[dict[str, str]] = [{"role": "system", "content": SYSTEM_PROMPT}]
    for turn in range(turns):
        messages.append({"role": "user", "content": QUESTIONS[(index + turn) % len(QUESTIONS)]})
        messages.append(
            {
                "role": "assistant",
                "content": "Thanks for your message. Standard delivery takes three to five "
                "working days; I have checked the order and it is on its way.",
            }
        )
    messages.append({"role": "user", "content": f"{QUESTIONS[index % len(QUESTIONS)]} (#{index})"})
    return {
        "model": MODELS[index % len(MODELS)],
        "messages": messages,
        "max_tokens": 80 + 40 * (index % 4),
        "temperature": 0.2,
        "user": f"customer-{index % 50}",
        "metadata": {"tags": ["support", "bench"]},
    }


@dataclass
class Round:
    config: str
    sent: int
    errors: int
    seconds: float
    latencies: list[float] = field(repr=False)
    complete: bool = True
    verified: bool | None = None
    note: str = ""
    cpu_seconds: float = 0.0  # the proxy process's user + system time during the round

    @property
    def rate(self) -> float:
        return (self.sent - self.errors) / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Proxy CPU per request: unlike requests/s, barely moved by other load on the box."""
        return 1000 * self.cpu_seconds / self.sent


async def drive(url: str, requests: int, concurrency: int, time_limit: float) -> Round:
    """Send `requests` chat completions over `concurrency` connections (or stop at the limit)."""
    bodies = [json.dumps(chat_body(i)).encode() for i in range(requests)]
    headers = [
        {"Authorization": f"Bearer {token_for(t, u)}", "Content-Type": "application/json"}
        for t, u in TEAMS
    ]
    latencies: list[float] = []
    errors = 0
    next_index = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    start = time.perf_counter()
    deadline = start + time_limit

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal next_index, errors
            while next_index < requests and time.perf_counter() < deadline:
                index = next_index
                next_index += 1
                sent_at = time.perf_counter()
                try:
                    async with session.post(
                        url + "/chat/completions",
                        data=bodies[index],
                        headers=headers[index % len(headers)],
                    ) as answer:
                        await answer.read()
                        ok = answer.status == 200
                except (TimeoutError, aiohttp.ClientError):
                    ok = False
                latencies.append(time.perf_counter() - sent_at)
                if not ok:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return Round("", next_index, errors, elapsed, latencies, complete=next_index == requests)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process, all its threads, from /proc (Linux)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_round(
    url: str, config: str, args: argparse.Namespace, requests: int, pid: int | None = None
) -> Round:
    cpu_before = cpu_seconds(pid)
    result = asyncio.run(drive(url, requests, args.concurrency, args.round_seconds))
    result.cpu_seconds = cpu_seconds(pid) - cpu_before
    result.config = config
    return result


# ---- report -------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(rounds: list[Round]) -> dict[str, dict[str, float]]:
    figures = {}
    for config in CONFIGS:
        valid = [r for r in rounds if r.config == config and r.verified is not False]
        latencies = [x for r in valid for x in r.latencies]
        figures[config] = {
            "rounds": len(valid),
            "rps_median": statistics.median(r.rate for r in valid),
            "rps_min": min(r.rate for r in valid),
            "rps_max": max(r.rate for r in valid),
            "p50_ms": 1000 * percentile(latencies, 0.50),
            "p99_ms": 1000 * percentile(latencies, 0.99),
            "cpu_ms_median": statistics.median(r.cpu_ms for r in valid),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--round-seconds", type=float, default=90.0, help="time limit per round")
    parser.add_argument("--warmup", type=int, default=300, help="requests per proxy before round 1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    flush_seconds = Settings.flush_seconds  # the default the llmstats proxy runs with

    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        data_dir = workdir / "llmstats-data"
        provider = stack.enter_context(fake_provider())
        endpoint = stack.enter_context(moto_s3_with_bucket())

        # The provider alone: it must be far faster than any proxy, or it is the bottleneck.
        direct = run_round(provider + "/v1", "provider", args, min(args.requests, 2000))
        print(f"fake provider alone: {direct.rate:,.0f} requests/s", flush=True)

        settings: dict[str, tuple[list[str], dict[str, Any], dict[str, str]]] = {
            "none": ([], {}, {}),
            "llmstats": (
                [CALLBACK],
                {},
                {
                    "LLMSTATS_DATA_DIR": str(data_dir),
                    "LLMSTATS_CONFIG": str(workdir / "no-config.toml"),
                },
            ),
            "s3_v2": (
                ["s3_v2"],
                {"s3_callback_params": s3_callback_params(endpoint)},
                {"AWS_EC2_METADATA_DISABLED": "true"},
            ),
        }
        proxies: dict[str, LiteLLMProxy] = {}
        for config in CONFIGS:
            callbacks, extra, env = settings[config]
            proxy = LiteLLMProxy(
                proxy_config(provider, callbacks, **extra),
                workdir / config,
                env=env,
                log_name=f"{config}.log",
            )
            stack.callback(proxy.kill)
            stack.callback(proxy.stop)
            started = time.monotonic()
            proxy.start()
            proxies[config] = proxy
            print(f"{config}: proxy up in {time.monotonic() - started:.1f} s", flush=True)

        sent = dict.fromkeys(CONFIGS, 0)
        for config in CONFIGS:
            warm = run_round(proxies[config].url, config, args, args.warmup)
            sent[config] += warm.sent
            print(
                f"{config}: warm-up {warm.rate:,.0f} requests/s, {warm.errors} errors", flush=True
            )

        rounds: list[Round] = []
        order = list(CONFIGS)
        rng = random.Random(args.seed)
        for number in range(1, args.rounds + 1):
            # The same cyclic order every round would always put one config after the
            # other; rotating the start spreads any warm-up or neighbour effect.
            shift = rng.randrange(len(order))
            for config in order[shift:] + order[:shift]:
                proxy = proxies[config]
                assert proxy.process is not None
                result = run_round(proxy.url, config, args, args.requests, proxy.process.pid)
                sent[config] += result.sent
                if config == "llmstats":
                    found, waited = wait_count(
                        lambda: parquet_rows(data_dir), sent[config], flush_seconds + 30
                    )
                    result.verified = found == sent[config]
                    result.note = f"{found} Parquet rows for {sent[config]} sent (+{waited:.0f} s)"
                elif config == "s3_v2":
                    found, waited = wait_count(
                        lambda: s3_objects(endpoint), sent[config], S3_FLUSH_SECONDS + 60
                    )
                    result.verified = found == sent[config]
                    result.note = f"{found} S3 objects for {sent[config]} sent (+{waited:.0f} s)"
                if result.errors or not result.complete:
                    result.verified = False
                    result.note += f"; {result.errors} errors, complete={result.complete}"
                rounds.append(result)
                print(
                    f"round {number} {config:8s} {result.rate:7,.1f} requests/s "
                    f"p50 {1000 * percentile(result.latencies, 0.5):6.1f} ms "
                    f"p99 {1000 * percentile(result.latencies, 0.99):6.1f} ms "
                    f"cpu {result.cpu_ms:5.2f} ms/req "
                    f"{'' if result.verified is None else ('ok' if result.verified else 'VOID')} "
                    f"{result.note}",
                    flush=True,
                )

        # SIGTERM: llmstats flushes on the graceful path; every request must be one row.
        proxies["llmstats"].stop()
        final_rows = parquet_rows(data_dir)
        print(f"llmstats after SIGTERM: {final_rows} rows for {sent['llmstats']} requests")

    figures = summary(rounds)
    base = figures["none"]["rps_median"]
    print(
        f"\n{platform.python_version()}, {os.cpu_count()} cores, concurrency {args.concurrency}, "
        f"{args.rounds} rounds of {args.requests} requests, 1 proxy worker each"
    )
    for config in CONFIGS:
        f = figures[config]
        print(
            f"{config:8s} median {f['rps_median']:7,.1f} requests/s "
            f"(min {f['rps_min']:,.1f}, max {f['rps_max']:,.1f}, {f['rounds']:.0f} rounds) "
            f"ratio {f['rps_median'] / base:.3f}  p50 {f['p50_ms']:.1f} ms  p99 {f['p99_ms']:.1f} ms  "
            f"proxy CPU {f['cpu_ms_median']:.2f} ms/request "
            f"(capacity ratio none/this {figures['none']['cpu_ms_median'] / f['cpu_ms_median']:.3f})"
        )
    ratios = {
        config: [
            r.rate / n.rate
            for r, n in zip(
                [r for r in rounds if r.config == config],
                [r for r in rounds if r.config == "none"],
                strict=True,
            )
        ]
        for config in ("llmstats", "s3_v2")
    }
    for config, values in ratios.items():
        print(
            f"{config}/none per round: {', '.join(f'{v:.3f}' for v in values)} "
            f"(median {statistics.median(values):.3f})"
        )
    ok = figures["llmstats"]["rps_median"] / base >= 0.97 and final_rows == sent["llmstats"]
    print(f"goal llmstats/none ≥ 0.97: {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"figures": figures, "ratios": ratios, "final_rows": final_rows, "sent": sent},
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
