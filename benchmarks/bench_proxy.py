"""Proxy throughput: the real LiteLLM proxy with and without capture, interleaved in one run.

Two modes:
- `--mode capture` (issue 2): requests/s with `callbacks: ["llmstats.plugin.callback"]` ≥ 97%
  of the same proxy without a callback. LiteLLM's own S3 logger (`callbacks: ["s3_v2"]`,
  writing to a moto S3 server on loopback) runs in the same harness as the peer figure.
- `--mode segments` (issue 4): 20,000-token prompts (a long system prompt, a pasted
  document, code, JSON and tool definitions); requests/s of the llmstats proxy with
  segments on ≥ 95% of the same proxy with `LLMSTATS_SEGMENTS=false`; no callback as a
  reference. Whether the segmenter counted exactly or fell back to estimates under its
  CPU budget is read from the writer's heartbeat and printed: a ratio bought by estimating
  everything would not be the figure the issue asks for.

Set-up, all on 127.0.0.1:
- the fake provider (`python -m llmstats.analytics.demo.fake_provider`) in its own process, so it
  never shares a GIL with the client or a proxy;
- one LiteLLM proxy per configuration (`litellm --config`, one worker each), started once
  and kept for the whole run, llmstats with its default settings (flush every 60 s, a
  converter child process per round). Rounds are interleaved (none, llmstats, …, in an
  order rotated at random each round) instead of restarting proxies: a start costs ~7 s and
  neither logger accumulates state that grows with the run. Only one proxy is loaded at a
  time; the idle ones only run timers.
- the load: one asyncio client (aiohttp) with a fixed number of connections, sending
  non-streaming chat completions with realistic bodies (model mix of OpenAI and Anthropic
  aliases, team/user keys) for the length of a round (60 s by default: llmstats converts
  once a minute, so a round pays for one conversion, as a proxy does; shorter rounds would
  charge llmstats' per-round child process to fewer requests than a proxy does).

Every proxy gets a warm-up before the first round, and `--round-warmup` unmeasured requests
before each round: this machine's kernel pages out file pages (the interpreter's and the
libraries' code among them) that went unused for a minute (DAMON), and a proxy waits minutes
between its rounds, so without it the first seconds of a round run on cold code, for
whichever configuration happens to come next. After each llmstats round the benchmark
waits (bounded) until the Parquet files hold exactly one row per request sent so far; after
each s3_v2 round until the bucket holds one object per request. A round whose rows or
objects do not arrive is reported as void.

Figures: requests/s per configuration (median over rounds) and its ratio to the peer, the
ratio round by round (each round against the peer's round of the same number, so a noisy
stretch hits both), client latency p50/p99, and the proxy's CPU time per request. On a
shared 2-core machine requests/s moves with whatever else runs; CPU per request hardly
does, so it is the second, steadier estimate of the same ratio (the proxy is CPU-bound on
one core at this concurrency). CPU per request counts the proxy process and its waited-for
children (llmstats' converter runs there), from the start of a round until its rows are
durable (the conversion and the S3 upload happen after the round), less the proxy's own
idle CPU rate over that wait, measured at the start. The load average is printed at the
start and at the end: a run under load is not a figure of record.

    .venv/bin/python benchmarks/bench_proxy.py [--mode capture|segments] [--rounds 6]
        [--configs none,llmstats]
        [--round-seconds 60] [--requests N] [--concurrency 24] [--prompt-tokens 20000]
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

from llmstats.analytics.demo.identities import token_for
from llmstats.analytics.demo.litellm_proxy import LiteLLMProxy, free_port
from llmstats.analytics.demo.proxy_config import CALLBACK, proxy_config
from llmstats.plugin.config import Settings

# The tests' moto server helper: one way to start S3 on loopback, not two.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*, tests.support.*
from tests.support.moto_server import create_bucket, moto_s3

CAPTURE_CONFIGS = ("none", "llmstats", "s3_v2")
SEGMENT_CONFIGS = ("none", "llmstats-nosegments", "llmstats")
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
        [sys.executable, "-m", "llmstats.analytics.demo.fake_provider", "--port", str(port)],
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


DOCUMENT = (
    "The quarterly operations review covers order volumes, delivery times, returns and the "
    "support backlog for each region, with the actions agreed for the next quarter. "
)
CODE = (
    "```python\ndef delivery_days(order, region):\n    base = REGION_DAYS[region]\n"
    "    if order.express:\n        return max(1, base // 2)\n    return base + order.delay\n```\n"
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": f"lookup_{name}",
            "description": f"Look up the {name} of an order by its number; returns JSON.",
            "parameters": {
                "type": "object",
                "properties": {"order": {"type": "string", "description": "order number"}},
                "required": ["order"],
            },
        },
    }
    for name in ("status", "address", "invoice", "items", "carrier", "refund")
]


PHRASES = (
    "order volumes rose in the north",
    "delivery times fell after the new carrier started",
    "returns stayed flat",
    "the support backlog halved in March",
    "express orders doubled",
    "two warehouses moved to a later cut-off",
    "invoices were late for a week",
    "the east region missed its target",
)


def big_body(index: int, tokens: int) -> dict[str, Any]:
    """About `tokens` prompt tokens (the fake provider counts four characters a token): a
    system prompt and tool definitions that every request shares (as an application's do),
    and a pasted document, code and JSON data of its own (no two requests alike)."""
    chars = 4 * tokens
    data = json.dumps(
        {"orders": [{"order": f"{index}-{i}", "qty": i % 7, "region": i % 5} for i in range(60)]}
    )
    system = SYSTEM_PROMPT + " " + DOCUMENT * (chars // 10 // len(DOCUMENT))
    sentences = []
    size = 0
    number = index * 7919
    while size < chars * 6 // 10:
        number = (number * 1103515245 + 12345) % 2**31
        sentence = (
            f"In week {number % 53}, {PHRASES[number % len(PHRASES)]} ({number % 997} cases). "
        )
        sentences.append(sentence)
        size += len(sentence)
    code = CODE.replace("order.delay", f"order.delay_{index}") * (chars // 10 // len(CODE))
    return {
        "model": MODELS[index % len(MODELS)],
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": f"Report {index}:\n{''.join(sentences)}\n{code}\n{data}"},
            {"role": "user", "content": "Summarise the report in three bullet points."},
        ],
        "tools": TOOLS,
        "max_tokens": 120,
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
    cpu_seconds: float = 0.0  # the proxy (and its children): user + system, round + wait

    @property
    def rate(self) -> float:
        return (self.sent - self.errors) / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Proxy CPU per request: unlike requests/s, barely moved by other load on the box."""
        return 1000 * self.cpu_seconds / self.sent


Body = Callable[[int], bytes]


async def drive(
    url: str, body: Body, first: int, requests: int | None, concurrency: int, time_limit: float
) -> Round:
    """Send chat completions over `concurrency` connections for `time_limit` seconds (or
    until `requests` are sent), the bodies of requests `first`, `first + 1`, …"""
    cap = requests if requests is not None else 2**62
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
            while next_index < cap and time.perf_counter() < deadline:
                index = next_index
                next_index += 1
                sent_at = time.perf_counter()
                try:
                    async with session.post(
                        url + "/chat/completions",
                        data=body(first + index),
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
    complete = requests is None or next_index == requests
    return Round("", next_index, errors, elapsed, latencies, complete=complete)


def cpu_ticks(stat_path: str | Path) -> list[int]:
    """utime, stime, cutime and cstime of a /proc/.../stat file (Linux), in clock ticks."""
    with open(stat_path) as stat:
        fields = stat.read().rpartition(")")[2].split()
    return [int(f) for f in fields[11:15]]


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process, all its threads and the children it waited for
    (llmstats' converter rounds), from /proc (Linux)."""
    if pid is None:
        return 0.0
    return sum(cpu_ticks(f"/proc/{pid}/stat")) / os.sysconf("SC_CLK_TCK")


def idle_cpu_rate(pid: int, seconds: float = 5.0) -> float:
    """CPU seconds per second the proxy spends with no traffic (timers, health loops)."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def run_round(
    url: str,
    config: str,
    args: argparse.Namespace,
    body: Body,
    first: int,
    requests: int | None,
    seconds: float | None = None,
) -> Round:
    limit = seconds if seconds is not None else args.round_seconds
    result = asyncio.run(drive(url, body, first, requests, args.concurrency, limit))
    result.config = config
    return result


# ---- report -------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(rounds: list[Round], configs: tuple[str, ...]) -> dict[str, dict[str, float]]:
    figures = {}
    for config in configs:
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


def heartbeat_totals(data_dir: Path) -> dict[str, int]:
    """Segmenter and writer counters summed over the heartbeats in a data dir."""
    totals: dict[str, int] = {}
    for path in (data_dir / "writers").glob("*.json"):
        beat = json.loads(path.read_text())
        for key in ("segments_counted", "segments_estimated", "segments_skipped", "written"):
            totals[key] = totals.get(key, 0) + int(beat.get(key) or 0)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("capture", "segments"), default="capture")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument(
        "--requests", type=int, default=None, help="cap on requests per round (default: none)"
    )
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--prompt-tokens", type=int, default=20_000, help="segments mode")
    parser.add_argument(
        "--round-seconds",
        type=float,
        default=60.0,
        help="length of a round; the default, llmstats' flush interval, charges each round "
        "one conversion, as a proxy pays one a minute",
    )
    parser.add_argument("--warmup", type=int, default=300, help="requests per proxy before round 1")
    parser.add_argument(
        "--round-warmup", type=int, default=150, help="unmeasured requests before each round"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--configs", default=None, help="a subset of the mode's configurations (the peer kept)"
    )
    args = parser.parse_args()
    segments_mode = args.mode == "segments"
    configs = SEGMENT_CONFIGS if segments_mode else CAPTURE_CONFIGS
    peer = "llmstats-nosegments" if segments_mode else "none"
    if args.configs:
        chosen = set(args.configs.split(",")) | {peer}
        if chosen - set(configs):
            parser.error(f"--configs: {args.mode} mode has {', '.join(configs)}")
        configs = tuple(c for c in configs if c in chosen)
    goal = 0.95 if segments_mode else 0.97
    requests = args.requests

    def body(index: int) -> bytes:
        content = big_body(index, args.prompt_tokens) if segments_mode else chat_body(index)
        return json.dumps(content).encode()

    flush_seconds = Settings.flush_seconds  # the default the llmstats proxies run with
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        provider = stack.enter_context(fake_provider())
        endpoint = stack.enter_context(moto_s3_with_bucket()) if not segments_mode else ""

        # The provider alone: it must be far faster than any proxy, or it is the bottleneck.
        direct = run_round(provider + "/v1", "provider", args, body, 0, 2000, 30.0)
        print(f"fake provider alone: {direct.rate:,.0f} requests/s", flush=True)

        def llmstats_env(config: str) -> dict[str, str]:
            env = {
                "LLMSTATS_DATA_DIR": str(workdir / config / "data"),
                "LLMSTATS_CONFIG": str(workdir / "no-config.toml"),
            }
            if config == "llmstats-nosegments":
                env["LLMSTATS_SEGMENTS"] = "false"
            return env

        settings: dict[str, tuple[list[str], dict[str, Any], dict[str, str]]] = {
            "none": ([], {}, {}),
            "llmstats": ([CALLBACK], {}, llmstats_env("llmstats")),
            "llmstats-nosegments": ([CALLBACK], {}, llmstats_env("llmstats-nosegments")),
            "s3_v2": (
                ["s3_v2"],
                {"s3_callback_params": s3_callback_params(endpoint)},
                {"AWS_EC2_METADATA_DISABLED": "true"},
            ),
        }
        proxies: dict[str, LiteLLMProxy] = {}
        idle: dict[str, float] = {}
        for config in configs:
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

        sent = dict.fromkeys(configs, 0)
        for config in configs:
            warm = run_round(proxies[config].url, config, args, body, 0, args.warmup, 120.0)
            sent[config] += warm.sent
            print(
                f"{config}: warm-up {warm.rate:,.0f} requests/s, {warm.errors} errors", flush=True
            )
        # After the warm-up's flushes and conversions have settled.
        time.sleep(2)
        for config in configs:
            process = proxies[config].process
            assert process is not None
            idle[config] = idle_cpu_rate(process.pid)
        print(
            "idle CPU rate: " + ", ".join(f"{c} {1000 * r:.1f} ms/s" for c, r in idle.items()),
            flush=True,
        )

        rounds: list[Round] = []
        order = list(configs)
        rng = random.Random(args.seed)
        for number in range(1, args.rounds + 1):
            # The same cyclic order every round would always put one config after the
            # other; rotating the start spreads any warm-up or neighbour effect.
            shift = rng.randrange(len(order))
            for config in order[shift:] + order[:shift]:
                proxy = proxies[config]
                assert proxy.process is not None
                pid = proxy.process.pid
                if args.round_warmup:
                    warm = run_round(proxy.url, config, args, body, sent[config], args.round_warmup)
                    sent[config] += warm.sent
                cpu_before = cpu_seconds(pid)
                result = run_round(proxy.url, config, args, body, sent[config], requests)
                sent[config] += result.sent
                waited = 0.0
                if config.startswith("llmstats"):
                    data_dir = workdir / config / "data"
                    found, waited = wait_count(
                        lambda d=data_dir: parquet_rows(d), sent[config], flush_seconds + 30
                    )
                    result.verified = found == sent[config]
                    result.note = f"{found} Parquet rows for {sent[config]} sent (+{waited:.0f} s)"
                elif config == "s3_v2":
                    found, waited = wait_count(
                        lambda: s3_objects(endpoint), sent[config], S3_FLUSH_SECONDS + 60
                    )
                    result.verified = found == sent[config]
                    result.note = f"{found} S3 objects for {sent[config]} sent (+{waited:.0f} s)"
                result.cpu_seconds = cpu_seconds(pid) - cpu_before - idle[config] * waited
                if result.errors or not result.complete:
                    result.verified = False
                    result.note += f"; {result.errors} errors, complete={result.complete}"
                rounds.append(result)
                print(
                    f"round {number} {config:19s} {result.rate:7,.1f} requests/s "
                    f"p50 {1000 * percentile(result.latencies, 0.5):6.1f} ms "
                    f"p99 {1000 * percentile(result.latencies, 0.99):6.1f} ms "
                    f"cpu {result.cpu_ms:6.2f} ms/req "
                    f"{'' if result.verified is None else ('ok' if result.verified else 'VOID')} "
                    f"{result.note}",
                    flush=True,
                )

        # SIGTERM: llmstats flushes on the graceful path; every request must be one row.
        final_rows: dict[str, int] = {}
        health: dict[str, dict[str, int]] = {}
        for config in configs:
            if config.startswith("llmstats"):
                proxies[config].stop()
                final_rows[config] = parquet_rows(workdir / config / "data")
                health[config] = heartbeat_totals(workdir / config / "data")
                print(
                    f"{config} after SIGTERM: {final_rows[config]} rows for {sent[config]} "
                    f"requests; writer: {health[config]}"
                )

    figures = summary(rounds, configs)
    base = figures[peer]["rps_median"]
    print(
        f"\n{platform.python_version()}, {os.cpu_count()} cores, mode {args.mode}, concurrency "
        f"{args.concurrency}, {args.rounds} rounds of {args.round_seconds:g} s"
        f"{f' (at most {requests} requests)' if requests else ''}, 1 proxy worker each; "
        f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    for config in configs:
        f = figures[config]
        print(
            f"{config:19s} median {f['rps_median']:7,.1f} requests/s "
            f"(min {f['rps_min']:,.1f}, max {f['rps_max']:,.1f}, {f['rounds']:.0f} rounds) "
            f"ratio to {peer} {f['rps_median'] / base:.3f}  p50 {f['p50_ms']:.1f} ms  "
            f"p99 {f['p99_ms']:.1f} ms  proxy CPU {f['cpu_ms_median']:.2f} ms/request "
            f"(capacity ratio {peer}/this {figures[peer]['cpu_ms_median'] / f['cpu_ms_median']:.3f})"
        )
    ratios = {
        config: [
            r.rate / n.rate
            for r, n in zip(
                [r for r in rounds if r.config == config],
                [r for r in rounds if r.config == peer],
                strict=True,
            )
        ]
        for config in configs
        if config != peer
    }
    for config, values in ratios.items():
        print(
            f"{config}/{peer} per round: {', '.join(f'{v:.3f}' for v in values)} "
            f"(median {statistics.median(values):.3f})"
        )
    complete = all(final_rows[c] == sent[c] for c in final_rows)
    ok = figures["llmstats"]["rps_median"] / base >= goal and complete
    print(f"goal llmstats/{peer} ≥ {goal}: {'met' if ok else 'NOT met'} in this run")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "mode": args.mode,
                    "figures": figures,
                    "ratios": ratios,
                    "final_rows": final_rows,
                    "sent": sent,
                    "writer": health,
                    "load_average_end": os.getloadavg(),
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
