"""Cost accuracy over LiteLLM's whole bundled price map (issue 21).

Every entry and every pattern its rates support, batch jobs and fallback names included
(tests/support/litellm_cases.py), is billed by
LiteLLM's own logging object (billing time pinned to the call's start) and captured by
llmstats' callback → converter → Parquet → event_costs. Prints and, with --write, adds to
benchmarks/RESULTS.md: the share of cases within 0.5 % of LiteLLM where LiteLLM follows
its own map, the cases per class where it does not, and the count of events at $0 with
no flagged $0 price.

    python benchmarks/bench_cost_accuracy.py [--write]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repo root: benchmarks.*, tests.support.*

COMMAND = "python benchmarks/bench_cost_accuracy.py --write"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="append the figures to RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmstats-cost-") as tmp:
        for name, value in {"LLMSTATS_DATA_DIR": f"{tmp}/data", "LLMSTATS_CONFIG": f"{tmp}/none.toml",
                            "XDG_CACHE_HOME": f"{tmp}/cache", "XDG_STATE_HOME": f"{tmp}/state",
                            "LLMSTATS_CONVERTER": "inline",
                            "LITELLM_LOCAL_MODEL_COST_MAP": "True"}.items():
            os.environ[name] = value
        from tests.support import litellm_cases

        load = os.getloadavg()[0]
        started = time.perf_counter()
        outcomes = litellm_cases.run(litellm_cases.cases(), f"{tmp}/data")
        seconds = time.perf_counter() - started
    follows = [o for o in outcomes if o.reason is None]
    agree = sum(o.agrees for o in follows)
    off = collections.Counter(o.reason for o in outcomes if o.reason)
    silent = sum(o.silent_zero for o in outcomes)
    misnamed = sum(o.reason is not None and not o.agrees and o.reconciled != o.reason
                   for o in outcomes)
    by_mode: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for o in follows:
        by_mode[o.case.mode][0] += o.agrees
        by_mode[o.case.mode][1] += 1
    missed = collections.Counter((o.case.mode, o.case.pattern.split("_")[0], o.priced_by)
                                 for o in follows if not o.agrees)
    entries = len({o.case.key for o in outcomes})
    lines = [
        f"- **Cost accuracy, whole price map** — `{COMMAND}` "
        f"({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, litellm "
        f"{metadata.version('litellm')}, duckdb {metadata.version('duckdb')}; "
        f"{seconds:.0f} s, load average {load:.1f} before the run): {len(outcomes):,} cases over {entries:,} map entries; where "
        f"LiteLLM follows its own map, **{agree:,} of {len(follows):,} within 0.5 % "
        f"({agree / len(follows):.2%})**; **{silent} events at $0** without a flagged $0 "
        "price. Goal ≥ 99.5 % and 0: " + ("**met**." if agree / len(follows) >= 0.995
                                          and silent == 0 else "**not met**."),
        "  By mode: " + "; ".join(f"{mode} {a:,}/{n:,}" for mode, (a, n) in sorted(by_mode.items()))
        + ".",
        "  LiteLLM off its own map (ours kept, docs/pricing.md; the reconcile reason of "
        f"each, {misnamed} named otherwise by `report reconcile`): "
        + ", ".join(f"{reason} {count:,}" for reason, count in off.most_common()) + ".",
        "  Left over: " + (", ".join(f"{m}/{p}/{b} {c}" for (m, p, b), c in missed.most_common())
                           or "none") + ".",
    ]
    print("\n".join(lines))
    if args.write:
        results = HERE / "RESULTS.md"
        results.write_text(results.read_text().rstrip("\n") + "\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
