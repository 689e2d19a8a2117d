"""Two versions of llmstats side by side: fresh-process report times, runs interleaved.

    git worktree add --detach ../before <commit>   # then `make .venv/bin/.installed` in it
    python benchmarks/bench_versions.py --before ../before --after . --data-dir DIR [--runs 9]

Each checkout's own `.venv/bin/llmstats` reads its own copy of DIR (copied into a temporary
folder, so a version that writes a rollup or an audit line cannot change what the other
reads) with its own schema cache. One untimed warm-up per command and version, then
`--runs` rounds; in each round every command runs before, then after, one process at a
time, so load on a shared machine falls on both alike. Wall time around the process; CPU
and peak RSS from GNU time (as bench_report.py). Prints, per command: median, min and max
of each version, the difference of medians, whether it exceeds either version's spread,
and whether both versions gave the same answer (JSON compared after parsing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*
from benchmarks.bench_report import LLMSTATS_COMMANDS

# bench_report's questions, plus one high-cardinality grouping, a sub-report that reads
# every event, and start-up alone.
COMMANDS = {
    **LLMSTATS_COMMANDS,
    "by user": ["report", "--by", "user", "-f", "json"],
    "errors": ["report", "errors", "-f", "json"],
    "--help": ["--help"],
}


def run(checkout: Path, data_dir: Path, cache: Path, args: list[str]) -> tuple[float, float, int, str]:
    """(wall s, CPU s, peak RSS KiB, stdout) of one fresh `llmstats` process."""
    env = {**os.environ, "LLMSTATS_DATA_DIR": str(data_dir), "NO_COLOR": "1",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True", "XDG_CACHE_HOME": str(cache)}
    began = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", str(checkout / ".venv/bin/llmstats"),
                           *args], env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"{checkout} {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    user, system, rss = done.stderr.strip().splitlines()[-1].split()
    return wall, float(user) + float(system), int(rss), done.stdout


def same_answer(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


def compare(checkouts: dict[str, Path], data_dir: Path, runs: int, work: Path) -> dict[str, Any]:
    copies = {}
    for name in checkouts:
        copies[name] = work / f"data-{name}"
        shutil.copytree(data_dir, copies[name])
    caches = {name: work / f"cache-{name}" for name in checkouts}
    warm = {name: {cmd: run(tree, copies[name], caches[name], args)[3]
                   for cmd, args in COMMANDS.items()} for name, tree in checkouts.items()}
    samples: dict[str, dict[str, list[tuple[float, float, int]]]] = {n: {} for n in checkouts}
    for round_no in range(runs):
        for cmd, args in COMMANDS.items():
            for name, tree in checkouts.items():
                wall, cpu, rss, _ = run(tree, copies[name], caches[name], args)
                samples[name].setdefault(cmd, []).append((wall, cpu, rss))
        print(f"round {round_no + 1}/{runs}, load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    rows = []
    for cmd in COMMANDS:
        row: dict[str, Any] = {"command": cmd, "same_answer": same_answer(warm["before"][cmd],
                                                                          warm["after"][cmd])}
        for name in checkouts:
            walls = [s[0] for s in samples[name][cmd]]
            row[name] = {"median": statistics.median(walls), "min": min(walls), "max": max(walls),
                         "cpu_median": statistics.median(s[1] for s in samples[name][cmd]),
                         "rss_mib_median": statistics.median(s[2] for s in samples[name][cmd]) / 1024}
        spreads = [row[n]["max"] - row[n]["min"] for n in checkouts]
        row["diff"] = row["after"]["median"] - row["before"]["median"]
        row["beyond_either_spread"] = abs(row["diff"]) > min(spreads)
        rows.append(row)
    return {"runs": runs, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout with its .venv")
    parser.add_argument("--after", type=Path, required=True, help="a checkout with its .venv")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=9)
    options = parser.parse_args()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as work:
        result = compare({"before": options.before.resolve(), "after": options.after.resolve()},
                         options.data_dir, options.runs, Path(work))
    result["load_start"], result["load_end"] = load_start, os.getloadavg()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
