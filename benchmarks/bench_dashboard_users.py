"""Dashboard under many users: N people clicking through pages at once, for a while.

Issue 22's goal: 20 concurrent users clicking through pages for 2 minutes, p95 ≤ 1 s, no
error, server memory ≤ 1 GB. A real `llmstats serve` process on the data dir; each user is
a thread with its own loopback source address (127.0.0.2, .3, …: the server bounds
queries per client address, as it would per person), that opens a page's data, waits a
think time (1–4 s, as a person reads), polls `/api/version` as the page does every 3 s,
and clicks on: the overview (with one of its spender tabs), the engineering page, the
segments page, the requests page, a value picker, or a drill-down (a page with one or two
filters on a team, model, provider, key or user picked from the data). Every user runs
its own seeded script, so two runs click the same way. Time per click is the client's
wall time for the answer (the browser's drawing is bench_dashboard.py's). The server's
resident memory is sampled every half second.

    python benchmarks/bench_dashboard_users.py --data-dir DIR [--users 20] [--seconds 120]
        [--connections N]   # the server's pool of DuckDB connections (default: serve's)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
FILTER_DIMENSIONS = ("team", "model", "provider", "key", "user")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class User(threading.Thread):
    def __init__(self, index: int, port: int, pool: dict[str, list[str]], until: float) -> None:
        super().__init__(daemon=True)
        self.rng = random.Random(index)
        self.port = port
        self.source = f"127.0.0.{2 + index}"
        self.pool = pool
        self.until = until
        self.times: dict[str, list[float]] = {}
        self.errors: list[str] = []

    def get(self, path: str) -> float:
        began = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120,
                                                source_address=(self.source, 0))
        try:
            connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                self.errors.append(f"{answer.status} {path}")
        except OSError as exc:
            self.errors.append(f"{type(exc).__name__} {path}")
        finally:
            connection.close()
        return time.perf_counter() - began

    def click(self) -> tuple[str, str]:
        rng = self.rng
        where = [f"{d}={rng.choice(self.pool[d])}"
                 for d in rng.sample(FILTER_DIMENSIONS, rng.choice((1, 1, 2)))
                 if self.pool[d]]
        kind = rng.choice(("overview", "overview", "spenders", "engineering", "segments",
                           "requests", "picker", "drill", "drill"))
        if kind == "overview":
            return kind, "/api/page/overview"
        if kind == "spenders":
            tab = rng.choice(("key", "user", "tag", "model", "provider", "end_user"))
            return kind, "/api/page/overview?" + urlencode({"spenders": tab})
        if kind in ("engineering", "segments"):
            return kind, f"/api/page/{kind}"
        if kind == "requests":
            return kind, "/api/requests?" + urlencode({"offset": rng.choice((0, 0, 50, 500))})
        if kind == "picker":
            return kind, "/api/values?" + urlencode({"dim": rng.choice(FILTER_DIMENSIONS),
                                                     "q": rng.choice(("", "a", "1"))})
        page = rng.choice(("overview", "overview", "engineering", "segments"))
        return kind, f"/api/page/{page}?" + urlencode([("where", w) for w in where])

    def run(self) -> None:
        next_poll = time.monotonic()
        while time.monotonic() < self.until:
            kind, path = self.click()
            self.times.setdefault(kind, []).append(self.get(path))
            think = time.monotonic() + self.rng.uniform(1.0, 4.0)
            while time.monotonic() < min(think, self.until):
                if time.monotonic() >= next_poll:
                    self.times.setdefault("version poll", []).append(self.get("/api/version"))
                    next_poll = time.monotonic() + 3.0
                time.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--connections", type=int, default=None)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-users-"))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "LLMSTATS_CONFIG": str(scratch / "no-config.toml"),
           "XDG_CACHE_HOME": str(scratch / "cache"), "XDG_STATE_HOME": str(scratch / "state")}
    port = 8800 + os.getpid() % 1000
    server = subprocess.Popen([str(BIN / "llmstats"), "serve", "--port", str(port),
                               "--data-dir", str(Path(args.data_dir).resolve()),
                               *(["--connections", str(args.connections)]
                                 if args.connections else [])], env=env)
    try:
        probe = User(-1, port, {}, 0.0)
        for _ in range(600):
            probe.errors.clear()
            probe.get("/api/dimensions")
            if not probe.errors:
                break
            time.sleep(0.1)
        pool: dict[str, list[str]] = {}
        for dim in FILTER_DIMENSIONS:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            connection.request("GET", "/api/values?" + urlencode({"dim": dim, "limit": 8}))
            found = json.loads(connection.getresponse().read())
            pool[dim] = [str(v["value"]) for v in found.get("values", []) if v["value"] is not None]
        until = time.monotonic() + args.seconds
        users = [User(i, port, pool, until) for i in range(args.users)]
        began = time.monotonic()
        for user in users:
            user.start()
        peak = 0.0
        while any(u.is_alive() for u in users):
            peak = max(peak, rss_mb(server.pid))
            time.sleep(0.5)
        elapsed = time.monotonic() - began
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        connection.request("GET", "/api/page/health")
        answers: dict[str, Any] = json.loads(connection.getresponse().read()).get("answers", {})
    finally:
        server.terminate()
        server.wait(30)
    times: dict[str, list[float]] = {}
    for user in users:
        for kind, values in user.times.items():
            times.setdefault(kind, []).extend(values)
    clicks = [t for kind, values in times.items() if kind != "version poll" for t in values]
    errors = [e for u in users for e in u.errors]
    print(f"{args.users} users, {elapsed:.0f} s, connections {args.connections or 'default'}, load {os.getloadavg()[0]:.2f} at the end; "
          f"server peak RSS {peak:.0f} MB; errors {len(errors)}; answers kept {answers}")
    print("| click | n | median ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    for kind, values in [*sorted(times.items()), ("all clicks", clicks)]:
        print(f"| {kind} | {len(values)} | {1000 * statistics.median(values):.0f} | "
              f"{1000 * percentile(values, 0.95):.0f} | {1000 * max(values):.0f} |")
    for error in errors[:10]:
        print("error:", error)


if __name__ == "__main__":
    main()
