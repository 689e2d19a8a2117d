"""Report speed at scale, side by side with LiteLLM's own PostgreSQL spend logs.

    python benchmarks/bench_report.py --data-dir benchmarks/out/data10m [--events 10000000]

1. (If the data dir is empty) generates `--events` synthetic events (benchmarks/generate.py).
2. llmstats: wall time (median of --runs) and peak RSS of each `llmstats` report command
   as a fresh process (what a user waits for), `llmstats --help`, bytes per event on disk.
3. PostgreSQL (initdb + postgres on loopback in a temporary dir): LiteLLM's
   `LiteLLM_SpendLogs` table and indexes (translated from litellm/proxy/schema.prisma),
   the same events loaded with COPY, the same questions as SQL; table + index bytes.

Prints a Markdown section for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

LLMSTATS_COMMANDS = {
    "overview": ["report", "-f", "json"],
    "by model,day": ["report", "--by", "model,day", "-f", "json"],
    "by team": ["report", "--by", "team", "-f", "json"],
    "savings": ["report", "savings", "-f", "json"],
    "latency": ["report", "latency", "-f", "json"],
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


def run_timed(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(wall seconds, peak RSS KiB) of one fresh process, via GNU time."""
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M", *args], env=env,
                            capture_output=True, text=True, check=True)
    wall, rss = result.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss)


def bench_llmstats(data_dir: str, runs: int) -> dict[str, tuple[float, int]]:
    env = {**os.environ, "LLMSTATS_DATA_DIR": data_dir, "NO_COLOR": "1"}
    exe = str(BIN / "llmstats")
    results = {}
    run_timed([exe, *LLMSTATS_COMMANDS["overview"]], env)  # warm the page cache and schema cache
    for name, args in LLMSTATS_COMMANDS.items():
        samples = [run_timed([exe, *args], env) for _ in range(runs)]
        results[name] = (statistics.median(s[0] for s in samples), max(s[1] for s in samples))
    helps = [run_timed([exe, "--help"], env) for _ in range(10)]
    results["--help"] = (statistics.median(h[0] for h in helps), max(h[1] for h in helps))
    return results


def psql(port: int, host: str, sql: str, *, db: str = "postgres") -> str:
    return subprocess.run(["psql", "-h", host, "-p", str(port), "-U", "postgres", "-d", db,
                           "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, check=True).stdout


def bench_postgres(data_dir: str, runs: int, workdir: Path) -> dict[str, object]:
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
    port = 55432
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
        times = {}
        for name, sql in PG_QUERIES.items():
            psql(port, "127.0.0.1", sql)  # warm
            samples = []
            for _ in range(runs):
                began = time.perf_counter()
                psql(port, "127.0.0.1", sql)
                samples.append(time.perf_counter() - began)
            times[name] = statistics.median(samples)
        return {"bytes": size, "rows": rows, "times": times, "load_s": load_s, "export_s": export_s}
    finally:
        subprocess.run([*as_pg, "pg_ctl", "-D", str(pgdata), "-m", "fast", "stop"], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from generate import generate

    from llmstats.analytics.dataset import event_files

    if not event_files(args.data_dir):
        generate(args.data_dir, args.events)
    files = event_files(args.data_dir)
    parquet_bytes = sum(f.size for f in files)
    from llmstats.analytics.connection import connect

    row = connect(args.data_dir).execute("SELECT count(*) FROM events").fetchone()
    events = int(row[0]) if row else 0
    load_before = os.getloadavg()
    ours = bench_llmstats(args.data_dir, args.runs)
    load_after = os.getloadavg()
    theirs = None
    if not args.skip_postgres and shutil.which("initdb"):
        with tempfile.TemporaryDirectory(prefix="llmstats-pg-") as tmp:
            theirs = bench_postgres(args.data_dir, args.runs, Path(tmp))

    print(f"## Report benchmark ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)\n")
    print(f"{events:,} events in {len(files)} Parquet files, {parquet_bytes / 1e6:,.1f} MB "
          f"({parquet_bytes / events:.1f} bytes/event). Load average before / after the "
          f"llmstats runs: {load_before[0]:.2f} / {load_after[0]:.2f} (2 cores).\n")
    print("| question | llmstats wall (median) | llmstats peak RSS | PostgreSQL (median) | ratio |")
    print("|---|---|---|---|---|")
    for name, (wall, rss) in ours.items():
        pg = theirs["times"].get(name) if theirs else None  # type: ignore[union-attr]
        ratio = f"{pg / wall:.1f}×" if pg else "—"
        pg_text = f"{pg:.2f} s" if pg else "—"
        print(f"| {name} | {wall:.2f} s | {rss / 1024:,.0f} MiB | {pg_text} | {ratio} |")
    if theirs:
        pg_bytes = int(theirs["bytes"])  # type: ignore[call-overload]
        print(f"\nPostgreSQL `LiteLLM_SpendLogs` (table + indexes): {pg_bytes / 1e6:,.1f} MB "
              f"({pg_bytes / int(theirs['rows']):.1f} bytes/event, {pg_bytes / parquet_bytes:.1f}× "  # type: ignore[call-overload]
              f"the Parquet); CSV export {theirs['export_s']:.0f} s, COPY + indexes + "
              f"VACUUM ANALYZE {theirs['load_s']:.0f} s.")


if __name__ == "__main__":
    main()
