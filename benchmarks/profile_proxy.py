"""Where a loaded proxy spends its CPU: per thread, per configuration, optionally sampled.

bench_proxy.py answers "how many requests/s"; this script answers "which thread of the
proxy process burns the CPU, and in which frames". It starts the fake provider and one
LiteLLM proxy per configuration (the same ones as `bench_proxy.py --mode segments`: none,
llmstats-nosegments, llmstats), warms each up, then loads them one after the other for
`--seconds` per phase, `--rounds` times, and reads every thread's user + system CPU from
/proc/<pid>/task/*/stat before and after each phase. The proxy's threads are named by
py-spy (`py-spy dump`), since CPython does not name OS threads.

With `--py-spy DIR`, each llmstats phase is also sampled by py-spy (`record --threads
--nonblocking --format raw`, idle samples left out) and the samples are attributed: per
thread, to frames of llmstats' plugin, and the top leaf frames. py-spy needs ptrace rights
(root, or kernel.yama.ptrace_scope=0).

Figures are CPU milliseconds per request (steady under other load, unlike requests/s); the
conversion in the converter child process is not counted here (bench_proxy.py counts it).

    .venv/bin/python benchmarks/profile_proxy.py [--configs llmstats-nosegments,llmstats]
        [--rounds 2] [--seconds 20] [--concurrency 24] [--prompt-tokens 20000]
        [--py-spy DIR] [--rate 100]
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch prices

import argparse
import asyncio
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from llmstats.analytics.demo.litellm_proxy import LiteLLMProxy
from llmstats.analytics.demo.proxy_config import CALLBACK, proxy_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*
from benchmarks.bench_proxy import (
    big_body,
    chat_body,
    cpu_ticks,
    drive,
    fake_provider,
    parquet_rows,
    wait_count,
)

CONFIGS = ("none", "llmstats-nosegments", "llmstats")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each live thread of `pid`, by native thread id."""
    ticks = os.sysconf("SC_CLK_TCK")
    result = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            user, system, _, _ = cpu_ticks(task / "stat")
        except OSError:
            continue  # the thread ended meanwhile
        result[int(task.name)] = (user + system) / ticks
    return result


def children_cpu(pid: int) -> float:
    """CPU seconds of the children `pid` has waited for (llmstats' converter rounds)."""
    _, _, children_user, children_system = cpu_ticks(f"/proc/{pid}/stat")
    return (children_user + children_system) / os.sysconf("SC_CLK_TCK")


def thread_names(py_spy: str, pid: int) -> dict[int, str]:
    """Native thread id → Python thread name, from `py-spy dump`."""
    out = subprocess.run(
        [py_spy, "dump", "--pid", str(pid), "--nonblocking"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    names = {}
    for match in re.finditer(r'^Thread (0x[0-9A-Fa-f]+|\d+) \((?:\w+)\): "([^"]*)"', out, re.M):
        ident = match.group(1)
        names[int(ident, 16) if ident.startswith("0x") else int(ident)] = match.group(2)
    return names


def attribute(raw: Path, top: int = 25) -> dict[str, object]:
    """py-spy raw (collapsed) samples: shares per thread, in llmstats frames, top leaves."""
    threads: collections.Counter[str] = collections.Counter()
    llmstats: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0]
        total += count
        threads[thread] += count
        # The outermost llmstats frame says which part of ours the sample is in.
        ours = next((f for f in frames[1:] if "(plugin/" in f or "llmstats" in f), None)
        if ours is not None:
            llmstats[f"{thread.rpartition(': ')[2]} {ours}"] += count
        leaves[frames[-1]] += count
    share = lambda n: round(100 * n / total, 1) if total else 0.0  # noqa: E731
    return {
        "samples": total,
        "threads_pct": {k: share(v) for k, v in threads.most_common()},
        "llmstats_pct": {k: share(v) for k, v in llmstats.most_common(top)},
        "leaves_pct": {k: share(v) for k, v in leaves.most_common(top)},
    }


def rows_of(config: str, workdir: Path, sent: int, flush_seconds: float) -> None:
    """Wait (bounded) until an llmstats proxy's Parquet holds a row per request sent."""
    if config != "none":
        data_dir = workdir / config / "data"
        found, _ = wait_count(lambda: parquet_rows(data_dir), sent, 3 * flush_seconds + 30)
        if found != sent:
            print(f"{config}: {found} rows for {sent} requests", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", default="llmstats-nosegments,llmstats")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--round-warmup", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument(
        "--prompt-tokens", type=int, default=20_000, help="0: the capture benchmark's bodies"
    )
    parser.add_argument("--py-spy", type=Path, default=None, help="sample into this folder")
    parser.add_argument("--flush-seconds", type=float, default=10.0, help="LLMSTATS_FLUSH_SECONDS")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    args = parser.parse_args()
    configs = [c for c in args.configs.split(",") if c]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configs: {', '.join(sorted(unknown))}")
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    def body(index: int) -> bytes:
        if args.prompt_tokens == 0:  # bench_proxy --mode capture's bodies
            return json.dumps(chat_body(index)).encode()
        return json.dumps(big_body(index, args.prompt_tokens)).encode()

    with tempfile.TemporaryDirectory(prefix="profile-proxy-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        provider = stack.enter_context(fake_provider())
        proxies: dict[str, LiteLLMProxy] = {}
        for config in configs:
            env = {}
            if config != "none":
                env = {
                    "LLMSTATS_DATA_DIR": str(workdir / config / "data"),
                    "LLMSTATS_CONFIG": str(workdir / "no-config.toml"),
                    "LLMSTATS_FLUSH_SECONDS": str(args.flush_seconds),
                }
                if config == "llmstats-nosegments":
                    env["LLMSTATS_SEGMENTS"] = "false"
            callbacks = [CALLBACK] if config != "none" else []
            proxy = LiteLLMProxy(proxy_config(provider, callbacks), workdir / config, env=env)
            stack.callback(proxy.kill)
            stack.callback(proxy.stop)
            proxies[config] = proxy.start()
        sent = dict.fromkeys(configs, 0)
        for config in configs:
            warm = asyncio.run(
                drive(proxies[config].url, body, 0, args.warmup, args.concurrency, 120.0)
            )
            sent[config] += warm.sent
        for config in configs:
            rows_of(config, workdir, sent[config], args.flush_seconds)
        totals: dict[str, dict[str, list[float]]] = {c: {} for c in configs}
        for number in range(1, args.rounds + 1):
            for config in configs:
                process = proxies[config].process
                assert process is not None
                pid = process.pid
                # Unmeasured: code paged out while the proxy waited comes back first (see
                # bench_proxy.py's --round-warmup).
                warm = asyncio.run(
                    drive(
                        proxies[config].url,
                        body,
                        sent[config],
                        args.round_warmup,
                        args.concurrency,
                        60.0,
                    )
                )
                sent[config] += warm.sent
                names = thread_names(py_spy, pid)
                recorder = None
                raw = None
                if args.py_spy is not None and config != "none":
                    args.py_spy.mkdir(parents=True, exist_ok=True)
                    raw = args.py_spy / f"{config}-round{number}.txt"
                    recorder = subprocess.Popen(
                        [
                            py_spy,
                            "record",
                            "--pid",
                            str(pid),
                            "--threads",
                            "--nonblocking",
                            "--format",
                            "raw",
                            "--rate",
                            str(args.rate),
                            "--duration",
                            str(int(args.seconds)),
                            "--output",
                            str(raw),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                converter_before = children_cpu(pid)
                before = thread_cpu(pid)
                load = os.getloadavg()[0]
                result = asyncio.run(
                    drive(
                        proxies[config].url,
                        body,
                        sent[config],
                        None,
                        args.concurrency,
                        args.seconds,
                    )
                )
                after = thread_cpu(pid)
                per_thread: dict[str, float] = collections.defaultdict(float)
                sent[config] += result.sent
                rows_of(config, workdir, sent[config], args.flush_seconds)
                # Conversions of this phase's rows, in child processes (a share of the
                # warm-up's or the previous phase's when one straddled the boundary).
                per_thread["converter"] = children_cpu(pid) - converter_before
                if recorder is not None:
                    recorder.wait(60)
                names.update(thread_names(py_spy, pid))
                for tid, seconds in after.items():
                    per_thread[names.get(tid, "other")] += seconds - before.get(tid, 0.0)
                total = sum(per_thread.values())
                print(
                    f"round {number} {config:19s} {result.rate:6.1f} req/s, {result.errors} "
                    f"errors, load {load:.2f}; CPU {1000 * total / result.sent:6.2f} ms/req: "
                    + ", ".join(
                        f"{name} {1000 * s / result.sent:.2f}"
                        for name, s in sorted(per_thread.items(), key=lambda x: -x[1])
                        if s > 0
                    ),
                    flush=True,
                )
                for name, seconds in per_thread.items():
                    totals[config].setdefault(name, []).append(1000 * seconds / result.sent)
                totals[config].setdefault("ALL", []).append(1000 * total / result.sent)
                if raw is not None and raw.exists():
                    print(json.dumps(attribute(raw), indent=1), flush=True)
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for config in configs:
            print(
                f"{config}: "
                + ", ".join(
                    f"{name} {sorted(v)[len(v) // 2]:.2f}"
                    for name, v in sorted(totals[config].items(), key=lambda x: -max(x[1]))
                )
                + " ms/req (median over rounds)"
            )


if __name__ == "__main__":
    main()
