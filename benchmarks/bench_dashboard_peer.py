"""The dashboard beside its peer: the same questions asked of `llmstats serve` and of
LiteLLM's PostgreSQL `LiteLLM_SpendLogs` (issue 22: the dashboard ≥ 20× faster on each).

    python benchmarks/bench_dashboard_peer.py --data-dir DIR [--runs 3]
    python benchmarks/bench_dashboard_peer.py --data-dir DIR --skip-postgres   # dashboard only

The data dir is only read (it must hold events; build its rollups beforehand).

1. The dashboard: a real `llmstats serve` over the data dir (bench_dashboard.serve) with
   its answer cache off (`--cache-mb 0`: every call is a query); for each call below its
   server time (Server-Timing) on a first call, then the median of --runs more.
2. The peer: PostgreSQL on loopback in a temporary dir with LiteLLM's table, indexes and
   the same events (bench_report.spend_logs_postgres), asked bench_report's eight peer
   questions (PG_NOTEBOOK_QUERIES: the SQL behind LiteLLM's spend endpoints), and for the
   drill-downs the same SQL restricted to the team or the user; median of --runs through
   psql after a warm-up run.
3. Prints a Markdown section for benchmarks/RESULTS.md: per question the two medians,
   their ratio and whether it is ≥ 20×, with the load average before and after each side.

Which peer queries answer the same question as each dashboard call (QUESTIONS):

- The overview page (cards, cost and savings trends per day, top spenders by team) asks
  one call; the peer needs `totals` + `daily by model` + `by team`: the dashboard's time
  is compared to the sum of the three. Each top-spenders tab (key, user, tag) asks the
  overview again with `spenders=…`: `totals` + `daily by model` + `top keys` / `top
  users` / `spend by tag`.
- The engineering page (one call: traffic, errors, latency, context) against `error
  rate by model` + `latency quantiles by model`.
- A drill-down: the overview (or the engineering page) with the top team or the top
  user as a filter, against the same peer queries with `WHERE team_id = …` (LiteLLM
  keeps the team's id; the dashboard filters on the name, one id per name in the
  generator's data) or `WHERE "user" = …`.
- One question per call: `/api/report/…`, the report library the pages are built on, as
  the dashboard's API serves it to scripts, each against the one peer query that answers
  it (totals, daily by model, by team, top 20 keys, top 20 users, spend by tag, error rate
  by model, latency quantiles by model).

Every dashboard call answers more than its peer queries (tokens, cache savings, error
classes, p99, time to first token, …): the peer is asked the least that shows the same
numbers, which favours it. The peer's figure is a psql process's wall time (its start,
~10 ms, included); the dashboard's is the server's own time, not the HTTP round trip.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: benchmarks.*
from benchmarks.bench_dashboard import (
    measure_calls,
    peak_rss_mb,
    quiet_env,
    serve,
    top_value,
)
from benchmarks.bench_report import PG_NOTEBOOK_QUERIES, spend_logs_postgres

GOAL_RATIO = 20.0
OVERVIEW = ("totals", "daily by model")


@dataclass(frozen=True)
class Question:
    name: str
    path: str  # the dashboard's API call; {team} / {user} are the drill-down's filter
    peer: tuple[str, ...]  # names in PG_NOTEBOOK_QUERIES, summed
    scope: str = ""  # "", "team" or "user": the drill-down's filter on both sides


QUESTIONS = (
    Question("overview page (cards, trends, top teams)", "/api/page/overview",
             (*OVERVIEW, "by team")),
    Question("overview, top keys tab", "/api/page/overview?spenders=key", (*OVERVIEW, "top keys")),
    Question("overview, top users tab", "/api/page/overview?spenders=user",
             (*OVERVIEW, "top users")),
    Question("overview, top tags tab", "/api/page/overview?spenders=tag",
             (*OVERVIEW, "spend by tag")),
    Question("engineering page (errors, latency)", "/api/page/engineering",
             ("error rate by model", "latency quantiles by model")),
    Question("drill-down: overview, top team", "/api/page/overview?{team}",
             (*OVERVIEW, "by team"), "team"),
    Question("drill-down: overview, top user", "/api/page/overview?{user}",
             (*OVERVIEW, "by team"), "user"),
    Question("drill-down: engineering, top team", "/api/page/engineering?{team}",
             ("error rate by model", "latency quantiles by model"), "team"),
    Question("totals", "/api/report/usage", ("totals",)),
    Question("daily by model", "/api/report/usage?by=day,model", ("daily by model",)),
    Question("by team", "/api/report/usage?by=team", ("by team",)),
    Question("top 20 keys", "/api/report/usage?by=key&top=20", ("top keys",)),
    Question("top 20 users", "/api/report/usage?by=user&top=20", ("top users",)),
    Question("spend by tag", "/api/report/usage?by=tag", ("spend by tag",)),
    Question("error rate by model", "/api/report/errors?by=model", ("error rate by model",)),
    Question("latency quantiles by model", "/api/report/latency?by=model",
             ("latency quantiles by model",)),
)


def quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def restricted(sql: str, condition: str) -> str:
    """The peer query over only the rows that meet `condition` (PostgreSQL flattens the
    subquery: the plan is that of a WHERE on the table)."""
    if not condition:
        return sql
    table = '"LiteLLM_SpendLogs"'
    return sql.replace(f"FROM {table}", f"FROM (SELECT * FROM {table} WHERE {condition}) AS {table}")


def team_id_of(base: str, team: str) -> str:
    """The id LiteLLM keeps for the team the dashboard names (asked of the server)."""
    query = urlencode({"by": "team_id", "where": f"team={team}", "top": 1})
    with urllib.request.urlopen(f"{base}/api/report/usage?{query}", timeout=600) as r:
        return str(json.load(r)["rows"][0]["team_id"])


def seconds(value: float) -> str:
    return f"{value:,.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache-mb", type=int, default=0,
                        help="the server's answer cache (default 0: every call queries)")
    parser.add_argument("--skip-postgres", action="store_true", help="the dashboard's side only")
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    if not (data_dir / "events").is_dir():
        sys.exit(f"bench_dashboard_peer: no events in {data_dir.name} (generate them first)")
    scratch = Path(tempfile.mkdtemp(prefix="bench-dashboard-peer-"))
    env = quiet_env(scratch)
    began = dt.datetime.now(dt.UTC)
    try:
        with serve(data_dir, args.cache_mb, env) as (base, server):
            team, user = top_value(base, "team"), top_value(base, "user")
            team_id = team_id_of(base, team)
            fill = {"team": urlencode({"where": f"team={team}"}),
                    "user": urlencode({"where": f"user={user}"})}
            load_ours = os.getloadavg()
            calls = measure_calls(base, {q.name: q.path.format(**fill) for q in QUESTIONS},
                                  args.runs)
            load_ours_after = os.getloadavg()
            rss = peak_rss_mb(server.pid)
        ours = {name: statistics.median(times) / 1000 for name, _, times in calls}
        conditions = {"": "", "team": f"team_id = {quoted(team_id)}",
                      "user": f'"user" = {quoted(user)}'}
        theirs: dict[tuple[str, str], list[float]] = {}
        peer_facts = ""
        if not args.skip_postgres:
            # Its own temporary dir: the server runs as `postgres` when this runs as root.
            with (tempfile.TemporaryDirectory(prefix="llmstats-pg-") as pg_dir,
                  spend_logs_postgres(str(data_dir), Path(pg_dir)) as peer):
                load_peer = os.getloadavg()
                for q in QUESTIONS:
                    for name in q.peer:
                        if (name, q.scope) not in theirs:
                            sql = restricted(PG_NOTEBOOK_QUERIES[name], conditions[q.scope])
                            theirs[name, q.scope] = peer.timed(sql, args.runs)
                            print(f"peer {name} {q.scope}: {theirs[name, q.scope]}",
                                  file=sys.stderr, flush=True)
                load_peer_after = os.getloadavg()
                version = peer.sql("SHOW server_version").strip()
                peer_facts = (f"PostgreSQL {version}: {peer.rows:,} rows, "
                              f"{peer.bytes / 1e9:.1f} GB with LiteLLM's indexes (CSV export "
                              f"{peer.export_s:.0f} s, COPY + indexes + VACUUM ANALYZE "
                              f"{peer.load_s:.0f} s); load average during its queries "
                              f"{load_peer[0]:.2f} before, {load_peer_after[0]:.2f} after.")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ended = dt.datetime.now(dt.UTC)
    print_results(args, data_dir, began, ended, team, team_id, user, calls, ours, theirs,
                  load_ours[0], load_ours_after[0], rss, peer_facts)


def print_results(args: argparse.Namespace, data_dir: Path, began: dt.datetime,
                  ended: dt.datetime, team: str, team_id: str, user: str,
                  calls: list[tuple[str, float, list[float]]], ours: dict[str, float],
                  theirs: dict[tuple[str, str], list[float]], load_before: float,
                  load_after: float, rss: float, peer_facts: str) -> None:
    import duckdb

    print(f"\n## Dashboard beside LiteLLM's PostgreSQL ({began:%Y-%m-%d, %H:%M}–{ended:%H:%M} UTC)\n")
    print(f"`python benchmarks/bench_dashboard_peer.py --data-dir {data_dir.name} --runs "
          f"{args.runs}`: Python {platform.python_version()}, duckdb {duckdb.__version__}, "
          f"{os.cpu_count()} cores. Dashboard: `llmstats serve --cache-mb {args.cache_mb}`, "
          f"server time (Server-Timing), median of {args.runs} after a first call; load "
          f"average {load_before:.2f} before, {load_after:.2f} after; server peak RSS "
          f"{rss:,.0f} MB.{' ' + peer_facts if peer_facts else ''} "
          f"Drill-downs: team {team!r} (`team_id = {team_id!r}` in PostgreSQL), user "
          f"{user!r}.\n")
    print("| question | dashboard call | dashboard, median (min–max) | peer queries | peer "
          "(median) | ratio | ≥ 20× |")
    print("|---|---|---|---|---|---|---|")
    by_name = {name: times for name, _, times in calls}
    for q in QUESTIONS:
        times = by_name[q.name]
        path = q.path.format(team="where=team=…", user="where=user=…")
        mine = f"{statistics.median(times):,.0f} ms ({min(times):,.0f}–{max(times):,.0f})"
        where = f", where {q.scope}" if q.scope else ""
        asked = " + ".join(q.peer) + where
        if all((n, q.scope) in theirs for n in q.peer):
            peer = sum(statistics.median(theirs[n, q.scope]) for n in q.peer)
            ratio = peer / ours[q.name]
            peer_text = seconds(peer) + (" (sum)" if len(q.peer) > 1 else "")
            verdict = "met" if ratio >= GOAL_RATIO else "**not met**"
            print(f"| {q.name} | `{path}` | {mine} | {asked} | {peer_text} | {ratio:,.1f}× "
                  f"| {verdict} |")
        else:
            print(f"| {q.name} | `{path}` | {mine} | {asked} | — | — | — |")
    if theirs:
        print("\nThe peer's queries, median (min–max) of "
              f"{args.runs} after a warm-up:\n\n| peer query | rows | median (min–max) |\n|---|---|---|")
        for (name, scope), samples in theirs.items():
            print(f"| {name} | {scope or 'all'} | {seconds(statistics.median(samples))} "
                  f"({min(samples):,.2f}–{max(samples):,.2f}) |")


if __name__ == "__main__":
    main()
