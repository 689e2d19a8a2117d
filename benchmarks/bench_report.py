"""Report speed at scale, side by side with LiteLLM's own PostgreSQL spend logs.

    python benchmarks/bench_report.py --data-dir benchmarks/out/data10m_daily [--events 10000000]
    python benchmarks/bench_report.py --data-dir ... --skip-postgres   # llmstats only
    python benchmarks/bench_report.py --data-dir ... --no-rollups      # events only
    python benchmarks/bench_report.py --data-dir ... --all --notebook --keep-rollups
    python benchmarks/bench_report.py --data-dir ... --notebook-only --keep-rollups

1. (If the data dir is empty) generates `--events` synthetic events (benchmarks/generate.py).
2. Builds the rollups (`llmstats rollup`, timed) unless they are up to date, or drops them
   with --no-rollups.
3. llmstats: wall time (median, min and max of --runs) and peak RSS of each report the
   goals name, as a fresh `llmstats … -f json` process (what a user waits for), and
   `llmstats --help`; bytes per event on disk (events, and events plus rollups).
4. PostgreSQL (initdb + postgres on loopback in a temporary dir): LiteLLM's
   `LiteLLM_SpendLogs` table and indexes (translated from litellm/proxy/schema.prisma),
   the same events loaded with COPY, the same questions as SQL through psql (median of
   --runs after a warm-up); table + index bytes per event.

Prints a Markdown section for benchmarks/RESULTS.md: each goal with its figure and
whether it is met (≤ 1 s and ≤ 1 GB per report (`--format html` is held to the same 1 s here; its goal is 3 s), `--help` ≤ 0.3 s, ≥ 10× faster and
≥ 10× smaller than PostgreSQL).
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

LLMSTATS_COMMANDS = {
    "overview": ["report", "-f", "json"],
    "by model,day": ["report", "--by", "model,day", "-f", "json"],
    "by team": ["report", "--by", "team", "-f", "json"],
    "savings": ["report", "savings", "-f", "json"],
    "latency": ["report", "latency", "-f", "json"],
}
# `--all`: every `--by` dimension alone, a few pairs, a filter on a dimension no cube
# keeps, and every sub-report (issue 24's list), each a fresh process like the above.
SINGLE_DIMENSIONS = ("model", "provider", "model_group", "deployment", "api_base", "team",
                     "team_id", "org", "key", "key_hash", "user", "end_user", "session", "tag",
                     "call_type", "status", "route", "stream", "error", "service_tier",
                     "priced_by", "hour", "day", "week", "month")
PAIRS = ("key,model", "user,model", "team,day", "tag,model", "provider,error")
SUB_REPORTS = ("savings", "segments", "errors", "latency", "context", "reconcile", "requests")
ALL_COMMANDS = {
    **LLMSTATS_COMMANDS,
    **{f"by {d}": ["report", "--by", d, "-f", "json"] for d in SINGLE_DIMENSIONS},
    **{f"by {p}": ["report", "--by", p, "-f", "json"] for p in PAIRS},
    "by model --where user=user-0001": ["report", "--by", "model", "--where", "user=user-0001",
                                        "-f", "json"],
    **{f"report {r}": ["report", r, "-f", "json"] for r in SUB_REPORTS},
    "report --by user --format html": ["report", "--by", "user", "-f", "html", "-o", os.devnull],
}

# The eight spend questions of the PostgreSQL peer, as a notebook asks them of
# connect()'s views in one session (--notebook): the DuckDB SQL, then LiteLLM's.
NOTEBOOK_QUERIES = {
    "totals": "SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cost_usd) FROM event_costs",
    "daily by model": "SELECT date, model, sum(cost_usd) FROM event_costs GROUP BY ALL",
    "by team": "SELECT team_id, count(*), sum(cost_usd) FROM event_costs GROUP BY ALL",
    "top keys": "SELECT key_hash, sum(cost_usd) AS c FROM event_costs GROUP BY ALL ORDER BY c DESC LIMIT 20",
    "top users": "SELECT user_id, sum(cost_usd) AS c FROM event_costs GROUP BY ALL ORDER BY c DESC LIMIT 20",
    "error rate by model": "SELECT model, avg(CASE WHEN status = 'failure' THEN 1.0 ELSE 0.0 END) FROM events GROUP BY ALL",
    "latency quantiles by model": "SELECT model, quantile_cont(latency_ms, [0.5, 0.95, 0.99]) FROM events WHERE status = 'success' GROUP BY ALL",
    "spend by tag": "SELECT tag, sum(cost_usd) FROM (SELECT unnest(tags) AS tag, cost_usd FROM event_costs) GROUP BY ALL",
}
PG_NOTEBOOK_QUERIES = {
    "totals": 'SELECT count(*), sum(prompt_tokens), sum(completion_tokens), sum(spend) FROM "LiteLLM_SpendLogs"',
    "daily by model": 'SELECT date_trunc(\'day\', "startTime"), model, sum(spend) FROM "LiteLLM_SpendLogs" GROUP BY 1, 2',
    "by team": 'SELECT team_id, count(*), sum(spend) FROM "LiteLLM_SpendLogs" GROUP BY 1',
    "top keys": 'SELECT api_key, sum(spend) AS c FROM "LiteLLM_SpendLogs" GROUP BY 1 ORDER BY c DESC LIMIT 20',
    "top users": 'SELECT "user", sum(spend) AS c FROM "LiteLLM_SpendLogs" GROUP BY 1 ORDER BY c DESC LIMIT 20',
    "error rate by model": 'SELECT model, avg(CASE WHEN status = \'failure\' THEN 1.0 ELSE 0.0 END) FROM "LiteLLM_SpendLogs" GROUP BY 1',
    "latency quantiles by model": 'SELECT model, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY request_duration_ms) FROM "LiteLLM_SpendLogs" WHERE status = \'success\' GROUP BY 1',
    "spend by tag": 'SELECT t, sum(spend) FROM "LiteLLM_SpendLogs", jsonb_array_elements_text(request_tags) AS t GROUP BY 1',
}

# LiteLLM_SpendLogs from schema.prisma (Prisma → PostgreSQL: String → TEXT,
# Float → DOUBLE PRECISION, Int → INTEGER, DateTime → TIMESTAMP(3), Json → JSONB).
SPEND_LOGS_DDL = """
CREATE TABLE "LiteLLM_SpendLogs" (
    "request_id" TEXT NOT NULL,
    "call_type" TEXT NOT NULL,
    "api_key" TEXT NOT NULL DEFAULT '',
    "spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    "total_tokens" INTEGER NOT NULL DEFAULT 0,
    "prompt_tokens" INTEGER NOT NULL DEFAULT 0,
    "completion_tokens" INTEGER NOT NULL DEFAULT 0,
    "startTime" TIMESTAMP(3) NOT NULL,
    "endTime" TIMESTAMP(3) NOT NULL,
    "request_duration_ms" INTEGER,
    "completionStartTime" TIMESTAMP(3),
    "model" TEXT NOT NULL DEFAULT '',
    "model_id" TEXT DEFAULT '',
    "model_group" TEXT DEFAULT '',
    "custom_llm_provider" TEXT DEFAULT '',
    "api_base" TEXT DEFAULT '',
    "user" TEXT DEFAULT '',
    "metadata" JSONB DEFAULT '{}',
    "cache_hit" TEXT DEFAULT '',
    "cache_key" TEXT DEFAULT '',
    "request_tags" JSONB DEFAULT '[]',
    "team_id" TEXT,
    "organization_id" TEXT,
    "end_user" TEXT,
    "requester_ip_address" TEXT,
    "messages" JSONB DEFAULT '{}',
    "response" JSONB DEFAULT '{}',
    "session_id" TEXT,
    "status" TEXT,
    "mcp_namespaced_tool_name" TEXT,
    "billing_agent_id" TEXT,
    "agent_id" TEXT,
    "proxy_server_request" JSONB DEFAULT '{}',
    "litellm_call_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "LiteLLM_SpendLogs_pkey" PRIMARY KEY ("request_id")
);
"""
SPEND_LOGS_INDEXES = """
CREATE INDEX "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs"("startTime");
CREATE INDEX "LiteLLM_SpendLogs_startTime_request_id_idx" ON "LiteLLM_SpendLogs"("startTime", "request_id");
CREATE INDEX "LiteLLM_SpendLogs_end_user_idx" ON "LiteLLM_SpendLogs"("end_user");
CREATE INDEX "LiteLLM_SpendLogs_session_id_idx" ON "LiteLLM_SpendLogs"("session_id");
CREATE INDEX "LiteLLM_SpendLogs_litellm_call_id_idx" ON "LiteLLM_SpendLogs"("litellm_call_id");
CREATE INDEX "LiteLLM_SpendLogs_api_key_startTime_idx" ON "LiteLLM_SpendLogs"("api_key", "startTime");
"""

# The same questions against LiteLLM's table. Cache and latency facts live where LiteLLM
# puts them (metadata JSON, timestamps); spend is LiteLLM's own number.
PG_QUERIES = {
    "overview": """SELECT count(DISTINCT "litellm_call_id"), count(*), sum(prompt_tokens),
        sum(completion_tokens), sum((metadata->'usage_object'->>'cache_read_input_tokens')::bigint),
        sum(spend), avg(CASE WHEN status = 'failure' THEN 1.0 ELSE 0.0 END),
        percentile_cont(0.5) WITHIN GROUP (ORDER BY request_duration_ms),
        percentile_cont(0.95) WITHIN GROUP (ORDER BY request_duration_ms)
        FROM "LiteLLM_SpendLogs" """,
    "by model,day": """SELECT model, date_trunc('day', "startTime") AS day, count(*),
        sum(prompt_tokens), sum(completion_tokens), sum(spend),
        percentile_cont(0.95) WITHIN GROUP (ORDER BY request_duration_ms)
        FROM "LiteLLM_SpendLogs" GROUP BY 1, 2 ORDER BY 6 DESC""",
    "by team": """SELECT team_id, count(*), sum(prompt_tokens), sum(completion_tokens),
        sum(spend), avg(CASE WHEN status = 'failure' THEN 1.0 ELSE 0.0 END),
        percentile_cont(0.95) WITHIN GROUP (ORDER BY request_duration_ms)
        FROM "LiteLLM_SpendLogs" GROUP BY 1 ORDER BY 5 DESC""",
    "savings": """SELECT model, count(*),
        sum((metadata->'usage_object'->>'cache_read_input_tokens')::bigint),
        sum((metadata->'usage_object'->>'cache_creation_input_tokens')::bigint),
        count(*) FILTER (WHERE cache_hit = 'True'), sum(spend)
        FROM "LiteLLM_SpendLogs" GROUP BY 1 ORDER BY 6 DESC""",
    "latency": """SELECT custom_llm_provider, model, count(*),
        percentile_cont(0.5) WITHIN GROUP (ORDER BY request_duration_ms),
        percentile_cont(0.95) WITHIN GROUP (ORDER BY request_duration_ms),
        percentile_cont(0.99) WITHIN GROUP (ORDER BY request_duration_ms),
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "completionStartTime" - "startTime") * 1000),
        percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM "completionStartTime" - "startTime") * 1000)
        FROM "LiteLLM_SpendLogs" WHERE status = 'success' GROUP BY 1, 2 ORDER BY 3 DESC""",
}

# Events → LiteLLM_SpendLogs rows. metadata carries a trimmed version of what LiteLLM
# writes (identity, usage with cache counts); LiteLLM's real rows also embed
# model_map_information and more (several KB), so the PostgreSQL size here is a lower bound.
EXPORT_SQL = """
COPY (
    SELECT event_id AS request_id, 'acompletion' AS call_type, COALESCE(key_hash, '') AS api_key,
        COALESCE(reported_cost_usd, 0) AS spend, COALESCE(total_tokens, 0) AS total_tokens,
        COALESCE(input_tokens, 0) AS prompt_tokens, COALESCE(output_tokens, 0) AS completion_tokens,
        strftime(ts, '%Y-%m-%d %H:%M:%S.%g') AS "startTime",
        strftime(end_ts, '%Y-%m-%d %H:%M:%S.%g') AS "endTime",
        CAST(latency_ms AS INTEGER) AS request_duration_ms,
        strftime(first_token_ts, '%Y-%m-%d %H:%M:%S.%g') AS "completionStartTime",
        model, '' AS model_id, model_group, provider AS custom_llm_provider,
        'https://api.' || provider || '.com' AS api_base, COALESCE(user_id, '') AS "user",
        json_object('user_api_key_alias', key_alias, 'user_api_key_team_id', team_id,
            'user_api_key_team_alias', team_alias, 'user_api_key_org_id', org_id,
            'user_api_key_user_id', user_id, 'status', status,
            'usage_object', json_object('prompt_tokens', input_tokens,
                'completion_tokens', output_tokens, 'total_tokens', total_tokens,
                'cache_read_input_tokens', COALESCE(cache_read_tokens, 0),
                'cache_creation_input_tokens', COALESCE(cache_write_tokens, 0),
                'completion_tokens_details', json_object('reasoning_tokens', reasoning_tokens)),
            'error_information', json_object('error_class', error_class, 'error_code', error_code)
        ) AS metadata,
        CASE WHEN proxy_cache_hit THEN 'True' ELSE 'False' END AS cache_hit, '' AS cache_key,
        to_json(COALESCE(tags, [])) AS request_tags, team_id, org_id AS organization_id,
        end_user_hash AS end_user, '' AS requester_ip_address, '{}' AS messages, '{}' AS response,
        session_id, status, trace_id AS litellm_call_id
    FROM events
) TO '{path}' (FORMAT csv, HEADER true)
"""
PG_COLUMNS = ('request_id, call_type, api_key, spend, total_tokens, prompt_tokens, '
              'completion_tokens, "startTime", "endTime", request_duration_ms, '
              '"completionStartTime", model, model_id, model_group, custom_llm_provider, '
              'api_base, "user", metadata, cache_hit, cache_key, request_tags, team_id, '
              'organization_id, end_user, requester_ip_address, messages, response, '
              'session_id, status, litellm_call_id')


GOAL_SECONDS = 1.0  # issue 24: every report ≤ 1 s (it was 2 s before)
GOAL_RSS_MIB = 1024
GOAL_HELP_SECONDS = 0.3
GOAL_RATIO = 10.0


def run_timed(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS KiB) of one fresh process, via GNU time (a
    child forked from this process would count this process's pages as its own)."""
    began = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - began
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip()}")
    user, system, rss = result.stderr.strip().splitlines()[-1].split()
    return wall, float(user) + float(system), int(rss)


Sample = tuple[float, float, float, float, int]
"""(median wall, min wall, max wall, median CPU, peak RSS KiB)."""


def _summary(samples: list[tuple[float, float, int]]) -> Sample:
    walls = [s[0] for s in samples]
    return (statistics.median(walls), min(walls), max(walls),
            statistics.median(s[1] for s in samples), max(s[2] for s in samples))


def bench_llmstats(data_dir: str, runs: int, commands: dict[str, list[str]] | None = None) -> dict[str, Sample]:
    env = {**os.environ, "LLMSTATS_DATA_DIR": data_dir, "NO_COLOR": "1"}
    exe = str(BIN / "llmstats")
    commands = commands or LLMSTATS_COMMANDS
    results = {}
    for args in LLMSTATS_COMMANDS.values():  # warm the page cache and the local caches
        run_timed([exe, *args], env)
    for name, args in commands.items():
        results[name] = _summary([run_timed([exe, *args], env) for _ in range(runs)])
    results["--help"] = _summary([run_timed([exe, "--help"], env) for _ in range(10)])
    return results


NOTEBOOK_SCRIPT = """
import json, sys, time
began = time.perf_counter()
from llmstats.analytics import connect
con = connect(sys.argv[1])
times = {"connect": time.perf_counter() - began}
for name, sql in json.loads(sys.argv[2]).items():
    began = time.perf_counter()
    con.execute(sql).fetchall()
    times[name] = time.perf_counter() - began
print(json.dumps(times))
"""


def bench_notebook(data_dir: str, runs: int) -> dict[str, tuple[float, float, float]]:
    """The eight peer questions asked of connect()'s views in one fresh session each run
    (as a notebook would): (median, min, max) seconds per question, and `connect`."""
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", NOTEBOOK_SCRIPT, data_dir,
                              json.dumps(NOTEBOOK_QUERIES)], capture_output=True, text=True,
                             check=True, env={**os.environ, "NO_COLOR": "1"})
        for name, seconds in json.loads(out.stdout).items():
            samples.setdefault(name, []).append(seconds)
    return {n: (statistics.median(v), min(v), max(v)) for n, v in samples.items()}


def prepare_rollups(data_dir: str, use_rollups: bool) -> tuple[float | None, int]:
    """Build missing rollups (seconds taken, None when none were missing) or drop them;
    returns that and the rollups' bytes on disk."""
    env = {**os.environ, "NO_COLOR": "1"}
    exe = str(BIN / "llmstats")
    if not use_rollups:
        subprocess.run([exe, "rollup", "--drop", "--data-dir", data_dir], env=env, check=True,
                       capture_output=True)
        return None, 0
    began = time.perf_counter()
    result = subprocess.run([exe, "rollup", "--data-dir", data_dir, "-f", "json"], env=env,
                            check=True, capture_output=True, text=True)
    built = json.loads(result.stdout)["rows"]
    seconds = time.perf_counter() - began if built else None
    return seconds, live_rollup_bytes(data_dir)


def live_rollup_bytes(data_dir: str) -> int:
    """Bytes of the rollup parts reports read (and their manifests); parts replaced
    by a rebuild wait out a grace period before removal and are not counted."""
    from llmstats.analytics.maintenance.rollup_build import readable_partitions
    from llmstats.analytics.rollups.index import index_rollups

    partitions = readable_partitions(data_dir)
    index = index_rollups(data_dir, [e for entries in partitions.values() for e in entries])
    paths = {s.path for served in index.available.values() for s in served.values()}
    return sum(os.path.getsize(p) + os.path.getsize(p[: -len(".parquet")] + ".json") for p in paths)


def psql(port: int, host: str, sql: str, *, db: str = "postgres") -> str:
    return subprocess.run(["psql", "-h", host, "-p", str(port), "-U", "postgres", "-d", db,
                           "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, check=True).stdout


@dataclass
class SpendLogs:
    """A running PostgreSQL with LiteLLM's `LiteLLM_SpendLogs` loaded (spend_logs_postgres)."""

    port: int
    host: str
    bytes: int
    rows: int
    export_s: float
    load_s: float

    def sql(self, sql: str) -> str:
        return psql(self.port, self.host, sql)

    def timed(self, sql: str, runs: int) -> list[float]:
        """Wall seconds of `sql` through psql, --runs times after a warm-up run."""
        self.sql(sql)
        samples = []
        for _ in range(runs):
            began = time.perf_counter()
            self.sql(sql)
            samples.append(time.perf_counter() - began)
        return samples


@contextmanager
def spend_logs_postgres(data_dir: str, workdir: Path) -> Iterator[SpendLogs]:
    """initdb + postgres on loopback in `workdir`, LiteLLM's table and indexes, the data
    dir's events COPYed in and VACUUM ANALYZEd; stopped on exit (the caller deletes
    `workdir`)."""
    from llmstats.analytics.connection import connect

    pgdata = workdir / "pgdata"
    sock = workdir / "sock"
    sock.mkdir()
    # PostgreSQL refuses to run as root: run the server as the `postgres` user then.
    as_pg: list[str] = []
    if os.geteuid() == 0:
        as_pg = ["runuser", "-u", "postgres", "--"]
        shutil.chown(workdir, "postgres")
        shutil.chown(sock, "postgres")
    subprocess.run([*as_pg, "initdb", "-D", str(pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    with socket.socket() as probe:  # a free port: another benchmark may run a peer too
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c shared_buffers=2GB "
               "-c work_mem=256MB -c max_parallel_workers_per_gather=2 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c maintenance_work_mem=1GB")
    subprocess.run([*as_pg, "pg_ctl", "-D", str(pgdata), "-o", options, "-w", "-l",
                    str(workdir / "pg.log"), "start"], check=True, capture_output=True)
    try:
        csv_path = workdir / "spend_logs.csv"
        began = time.perf_counter()
        connect(data_dir).execute(EXPORT_SQL.replace("{path}", str(csv_path)))
        export_s = time.perf_counter() - began
        psql(port, "127.0.0.1", SPEND_LOGS_DDL)
        began = time.perf_counter()
        psql(port, "127.0.0.1",
             f"\\copy \"LiteLLM_SpendLogs\" ({PG_COLUMNS}) FROM '{csv_path}' WITH (FORMAT csv, HEADER true)")
        psql(port, "127.0.0.1", SPEND_LOGS_INDEXES)
        psql(port, "127.0.0.1", 'VACUUM ANALYZE "LiteLLM_SpendLogs"')
        load_s = time.perf_counter() - began
        csv_path.unlink()
        size = int(psql(port, "127.0.0.1",
                        "SELECT pg_total_relation_size('\"LiteLLM_SpendLogs\"')").strip())
        rows = int(psql(port, "127.0.0.1", 'SELECT count(*) FROM "LiteLLM_SpendLogs"').strip())
        yield SpendLogs(port, "127.0.0.1", size, rows, export_s, load_s)
    finally:
        subprocess.run([*as_pg, "pg_ctl", "-D", str(pgdata), "-m", "fast", "stop"], capture_output=True)


def bench_postgres(data_dir: str, runs: int, workdir: Path,
                   notebook_only: bool = False) -> dict[str, object]:
    questions = {} if notebook_only else dict(PG_QUERIES)
    questions.update({f"notebook {n}": q for n, q in PG_NOTEBOOK_QUERIES.items()})
    with spend_logs_postgres(data_dir, workdir) as peer:
        times = {}
        for name, sql in questions.items():
            times[name] = statistics.median(peer.timed(sql, runs))
        return {"bytes": peer.bytes, "rows": peer.rows, "times": times, "load_s": peer.load_s,
                "export_s": peer.export_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-postgres", action="store_true", help="llmstats figures only")
    parser.add_argument("--no-rollups", action="store_true",
                        help="drop the rollups and measure reports read from the events")
    parser.add_argument("--all", action="store_true",
                        help="every --by dimension, pairs, a filter and every sub-report")
    parser.add_argument("--notebook", action="store_true",
                        help="also the eight peer questions asked of connect()'s views")
    parser.add_argument("--notebook-only", action="store_true",
                        help="only the eight peer questions, ours and the peer's (no reports)")
    parser.add_argument("--keep-rollups", action="store_true",
                        help="measure the rollups as they are (no `llmstats rollup` first)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from benchmarks.generate import generate
    from llmstats.analytics.store.dataset import event_files

    if not event_files(args.data_dir):
        generate(args.data_dir, args.events)
    files = event_files(args.data_dir)
    parquet_bytes = sum(f.size for f in files)
    from llmstats.analytics.connection import connect

    row = connect(args.data_dir, use_rollups=False).execute("SELECT count(*) FROM events").fetchone()
    events = int(row[0]) if row else 0
    if args.keep_rollups:
        rollup_seconds, rollup_bytes = None, live_rollup_bytes(args.data_dir)
    else:
        rollup_seconds, rollup_bytes = prepare_rollups(args.data_dir, not args.no_rollups)
    load_before = os.getloadavg()
    ours = ({} if args.notebook_only
            else bench_llmstats(args.data_dir, args.runs, ALL_COMMANDS if args.all else None))
    notebook = bench_notebook(args.data_dir, args.runs) if args.notebook or args.notebook_only else {}
    load_after = os.getloadavg()
    theirs = None
    if not args.skip_postgres and shutil.which("initdb"):
        with tempfile.TemporaryDirectory(prefix="llmstats-pg-") as tmp:
            theirs = bench_postgres(args.data_dir, args.runs, Path(tmp), args.notebook_only)
    if args.notebook_only:
        print(f"## connect() beside the peer ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)\n\n"
              f"{events:,} events; load average (1 min) before / after ours: "
              f"{load_before[0]:.2f} / {load_after[0]:.2f} ({os.cpu_count()} cores)")
    else:
        print_results(args, events, files, parquet_bytes, rollup_seconds, rollup_bytes,
                      ours, theirs, load_before, load_after)
    if notebook:
        print_notebook(args, notebook, theirs)


def print_notebook(args: argparse.Namespace, notebook: dict[str, tuple[float, float, float]],
                   theirs: dict[str, Any] | None) -> None:
    print(f"\nconnect() and the eight peer questions in one session (fresh process, median of "
          f"{args.runs}; the peer's median of {args.runs} after a warm-up):\n")
    print("| question | connect() views, median (min–max) | PostgreSQL | ratio | ≥ 10× |")
    print("|---|---|---|---|---|")
    for name, (median, low, high) in notebook.items():
        pg = theirs["times"].get(f"notebook {name}") if theirs else None
        ratio = f"{pg / median:.1f}×" if pg else "—"
        print(f"| {name} | {median:.2f} s ({low:.2f}–{high:.2f}) | {f'{pg:.2f} s' if pg else '—'} "
              f"| {ratio} | {_met(pg / median >= GOAL_RATIO) if pg else '—'} |")


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def print_results(args: argparse.Namespace, events: int, files: list[Any], parquet_bytes: int,
                  rollup_seconds: float | None, rollup_bytes: int, ours: dict[str, Sample],
                  theirs: dict[str, Any] | None, load_before: tuple[float, ...],
                  load_after: tuple[float, ...]) -> None:
    ours_bytes = parquet_bytes + rollup_bytes
    print(f"## Report benchmark ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)\n")
    print(f"`python benchmarks/bench_report.py --data-dir {args.data_dir} --runs {args.runs}"
          f"{' --skip-postgres' if args.skip_postgres else ''}{' --no-rollups' if args.no_rollups else ''}`\n")
    print(f"{events:,} events in {len(files)} Parquet files: {parquet_bytes / 1e6:,.1f} MB "
          f"({parquet_bytes / max(events, 1):.1f} bytes/event); rollups "
          f"{rollup_bytes / 1e6:,.1f} MB" + (f" (built in {rollup_seconds:.0f} s)" if rollup_seconds else "")
          + f"; together {ours_bytes / max(events, 1):.1f} bytes/event. Load average (1 min) "
          f"before / after the llmstats runs: {load_before[0]:.2f} / {load_after[0]:.2f} "
          f"({os.cpu_count()} cores). Each llmstats figure: a fresh `llmstats … -f json` "
          f"process, median of {args.runs} (min–max), after one warm-up run each.\n")
    print("| question | llmstats wall, median (min–max) | CPU | peak RSS | ≤ 1 s, ≤ 1 GB "
          "| PostgreSQL (median) | ratio | ≥ 10× |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (median, low, high, cpu, rss) in ours.items():
        pg = theirs["times"].get(name) if theirs else None
        goal = GOAL_HELP_SECONDS if name == "--help" else GOAL_SECONDS
        fast = _met(median <= goal and rss / 1024 <= GOAL_RSS_MIB)
        ratio = f"{pg / median:.1f}×" if pg else "—"
        print(f"| {name} | {median:.2f} s ({low:.2f}–{high:.2f}) | {cpu:.2f} s | "
              f"{rss / 1024:,.0f} MiB | {fast} | {f'{pg:.2f} s' if pg else '—'} | {ratio} | "
              f"{_met(pg / median >= GOAL_RATIO) if pg else '—'} |")
    if theirs:
        pg_bytes = int(theirs["bytes"])
        rows = int(theirs["rows"])
        print(f"\nBytes per event: PostgreSQL `LiteLLM_SpendLogs` (table + LiteLLM's indexes) "
              f"{pg_bytes / rows:,.1f}; llmstats {parquet_bytes / max(events, 1):.1f} (events), "
              f"{ours_bytes / max(events, 1):.1f} (events + rollups): "
              f"{pg_bytes / ours_bytes:.1f}× smaller ({_met(pg_bytes / ours_bytes >= GOAL_RATIO)}). "
              f"PostgreSQL load: CSV export {theirs['export_s']:.0f} s, COPY + indexes + "
              f"VACUUM ANALYZE {theirs['load_s']:.0f} s.")


if __name__ == "__main__":
    main()
