"""The live dashboard's speed: server time of each API call and time to charts drawn.

    python benchmarks/bench_dashboard.py --data-dir benchmarks/out/data1m [--events 1000000]
    python benchmarks/bench_dashboard.py --data-dir ... --rollup --runs 7 --skip-browser

1. (If the data dir is empty) generates `--events` synthetic events with prompt segments
   (benchmarks/generate.py); with --rollup, builds the rollups first (`llmstats rollup`).
2. Starts the real `llmstats serve` on a free loopback port over it.
3. Each API call the pages make: the first call (cold: the dataset opens on it) and the
   median, min and max of --runs more, as the server's own time (its Server-Timing header:
   the queries, the wait for the connection and the JSON, not the network).
4. In Debian's chromium through Playwright: the overview's first load (navigation to every
   chart drawn) and a drill-down (a click on the top team's bar to every chart redrawn),
   median of --runs; as Playwright's wall time and by the page's own clock (the last
   chart marked drawn, from the navigation's start or the mouse going down).
5. The server's peak RSS (VmHWM).

The server runs with `--cache-mb 0` unless asked otherwise: every figure is a query, not
an answer kept from the run before (bench_dashboard_users.py measures the cache at work).

Prints a Markdown section for benchmarks/RESULTS.md, with the load average beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

CALLS = {
    "overview page": "/api/page/overview",
    "overview, 7 days": "/api/page/overview?since=7d",
    "overview, one team": "/api/page/overview?{team}",
    "overview, one model, by week": "/api/page/overview?{model}&bucket=week",
    "engineering page": "/api/page/engineering",
    "segments page": "/api/page/segments",
    "health page": "/api/page/health",
    "requests, page 1": "/api/requests",
    "requests by cost, page 200": "/api/requests?sort=cost_usd&offset=10000",
    "requests by latency, page 1": "/api/requests?sort=latency_ms",
    "value picker (team, 'te')": "/api/values?dim=team&q=te",
    "report --by team": "/api/report/usage?by=team",
    "version poll": "/api/version",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_time(url: str) -> float:
    """ms the server spent on one call (Server-Timing), or the round trip if it has none."""
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as response:
        response.read()
        timing = response.headers.get("server-timing", "")
    if "dur=" in timing:
        return float(timing.split("dur=")[1].split(",")[0])
    return 1000 * (time.perf_counter() - began)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ms ({min(values):,.0f}–{max(values):,.0f})"


# The page's own clock (performance.now(), from the navigation's start): when the last
# chart was marked drawn, and when the mouse went down on the bar. Playwright's waits
# and round trips add a few hundred ms to its wall times on this machine.
IN_PAGE_CLOCK = """
window.__drawnAt = 0; window.__clickedAt = 0;
addEventListener("mousedown", () => { window.__clickedAt = performance.now(); }, true);
new MutationObserver(() => { window.__drawnAt = performance.now(); })
  .observe(document, { subtree: true, attributes: true, attributeFilter: ["data-drawn"] });
"""


def browser_times(base: str, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("LLMSTATS_CHROMIUM") or shutil.which("chromium")
    times: dict[str, list[float]] = {"first load": [], "drill-down": [],
                                     "first load, in the page": [],
                                     "drill-down, in the page": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.add_init_script(IN_PAGE_CLOCK)
            began = time.perf_counter()
            page.goto(base + "/overview")
            page.wait_for_selector('body[data-loads="1"]', timeout=600_000)
            page.wait_for_selector(".plot:not([data-drawn])", state="detached", timeout=600_000)
            times["first load"].append(1000 * (time.perf_counter() - began))
            times["first load, in the page"].append(page.evaluate("window.__drawnAt"))
            bars = page.locator("#chart-spenders-team .trace.bars .point path")
            bar = bars.nth(bars.count() - 1)
            bar.scroll_into_view_if_needed()
            box = bar.bounding_box()
            assert box is not None
            began = time.perf_counter()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_selector('body[data-loads="2"]', timeout=600_000)
            page.wait_for_selector(".plot:not([data-drawn])", state="detached", timeout=600_000)
            times["drill-down"].append(1000 * (time.perf_counter() - began))
            times["drill-down, in the page"].append(
                page.evaluate("window.__drawnAt - window.__clickedAt"))
            context.close()
        browser.close()
    return times


def quiet_env(scratch: Path) -> dict[str, str]:
    """The environment a benchmark's server runs in: no user config, caches in `scratch`."""
    return {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LLMSTATS_CONFIG": str(scratch / "no-config.toml"),
            "XDG_CACHE_HOME": str(scratch / "cache"), "XDG_STATE_HOME": str(scratch / "state")}


@contextmanager
def serve(data_dir: Path, cache_mb: int, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real `llmstats serve` on a free loopback port, answering: its base URL and process."""
    port = free_port()
    server = subprocess.Popen([str(BIN / "llmstats"), "serve", "--port", str(port),
                               "--cache-mb", str(cache_mb), "--data-dir", str(data_dir)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/api/dimensions", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        yield base, server
    finally:
        server.terminate()
        server.wait(30)


def top_value(base: str, dim: str) -> str:
    """The dimension's first value in the value picker (the most calls)."""
    with urllib.request.urlopen(f"{base}/api/values?dim={dim}&limit=1", timeout=600) as r:
        return str(json.load(r)["values"][0]["value"])


def where_first(base: str, dim: str) -> str:
    return urlencode({"where": f"{dim}={top_value(base, dim)}"})


def measure_calls(base: str, paths: dict[str, str], runs: int) -> list[tuple[str, float, list[float]]]:
    """Per call: its server time on the first call (cold) and on --runs more."""
    rows: list[tuple[str, float, list[float]]] = []
    for name, path in paths.items():
        cold = server_time(base + path)
        rows.append((name, cold, [server_time(base + path) for _ in range(runs)]))
        print(f"{name}: first {cold:,.0f} ms, then {summary(rows[-1][2])}",
              file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rollup", action="store_true", help="build the rollups first")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--cache-mb", type=int, default=0,
                        help="the server's answer cache (default 0: every request queries)")
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    scratch = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    env = quiet_env(scratch)
    if not (data_dir / "events").is_dir():
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--data-dir", str(data_dir),
                        "--events", str(args.events), "--segments"], check=True, env=env)
    if args.rollup:
        subprocess.run([str(BIN / "llmstats"), "rollup", "--data-dir", str(data_dir)],
                       check=True, env=env, stdout=subprocess.DEVNULL)
    try:
        with serve(data_dir, args.cache_mb, env) as (base, server):
            load_before = os.getloadavg()[0]
            fill = {"team": where_first(base, "team"), "model": where_first(base, "model")}
            rows = measure_calls(base, {n: p.format(**fill) for n, p in CALLS.items()}, args.runs)
            browser = {} if args.skip_browser else browser_times(base, args.runs)
            rss = peak_rss_mb(server.pid)
            load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    files = list((data_dir / "events").rglob("*.parquet"))
    print(f"\n## Dashboard (`llmstats serve`), {dt.date.today()}\n")
    print(f"`python benchmarks/bench_dashboard.py --data-dir {data_dir.name} --runs {args.runs}"
          f"{' --rollup' if args.rollup else ''}`: {len(files)} event files; load average "
          f"{load_before:.2f} before, {load_after:.2f} after; server peak RSS {rss:,.0f} MB.\n")
    print("| API call | first (cold) | then: median (min–max) |\n|---|---|---|")
    for name, cold, times in rows:
        print(f"| {name} | {cold:,.0f} ms | {summary(times)} |")
    for name, times in browser.items():
        print(f"| chromium: {name}, to every chart drawn | | {summary(times)} |")


if __name__ == "__main__":
    main()
