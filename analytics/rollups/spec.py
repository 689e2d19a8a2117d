"""What a rollup holds: its cubes (group keys and time grain), their measures, and the key
that ties a rollup file to the exact event files it summarises.

A rollup is derived data, kept per cube in parts: plain Parquet files
`<data dir>/rollups/v2/<cube>/part-<time>-<id>.parquet`, each holding the rows of some
partitions (a `date` column), with a JSON manifest next to it naming, per partition, the
`key` of the event files those rows were computed from (a digest of their names and
sizes). A reader uses a part's rows of a partition only while the partition's files
today give the same key; any change (a late event, a compaction, a prune, a file moved
aside) makes the key differ, and that partition is read from the events again until a
newer part covers it. Deleting `rollups/` loses nothing but speed.

Two kinds of cube:
- `sums` cubes keep, per group, the summed token_basis counts (calls, final attempts,
  failures, tokens, the token counts each rate applies to, LiteLLM's reported cost) and
  the range of input tokens: no price is stored, so reports price the sums with today's
  catalog and overrides (cost is linear in token counts).
- `sketch` cubes keep, per group and sketch bucket (sql/00_measures.sql), how many calls
  had a latency, TTFT or output speed in that bucket: mergeable, so p50/p95/p99 come from
  them within 1 %.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from llmstats.plugin.rollup_files import ROLLUPS_FOLDER, part_name

from ..store.files import FileEntry

__all__ = ["CUBES", "ROLLUPS_FOLDER", "Cube", "part_name"]


@dataclass(frozen=True)
class Cube:
    name: str
    kind: str
    """`sums`, `sketch`, `quantiles` (SKETCH_QUANTILES read from the sketch cube
    `source` per day (or hour) and group, for reports grouped exactly by its columns and
    the day (or hour)), or
    `rows` (the priced copy: one row per event, serving both sums and sketches), or
    `priced_sums` (the priced copy's counts and prices summed per day and group: sums
    only, with nothing left to price), or
    `errors` / `context` / `reconcile` (the cells of `report errors` / `context` /
    `reconcile`: per day and group, the CALL_CELLS of that report merged; see
    CallCells)."""
    grain: str
    """`day` (one row per UTC day and group), `hour` (per UTC hour: serves time zones
    whose day starts on a whole hour, and windows that start or end on one) or `event`
    (a row per event with its own `ts`: any window, any zone)."""
    columns: tuple[str, ...]
    """Event columns kept as group keys."""
    source: str | None = None
    """The cube this one is computed from (its rows grouped more coarsely: exact, as
    sums, counts and ranges add up), or None: from the partition's calls."""

    @property
    def priced(self) -> bool:
        """Whether it stores prices (the priced copy, and the `priced_sums` cubes summed
        from it): read only for days priced as today's pricing prices them (the
        fingerprints its manifests name, rollups/pricing_key.py)."""
        return self.kind in ("rows", "priced_sums", "context", "reconcile")


_MODEL = ("provider", "model", "model_group", "call_type", "status", "service_tier")
_TEAM = ("org_id", "team_id", "team_alias")

CUBES: tuple[Cube, ...] = (
    # In the order a report prefers them when several cover it (smallest first; at
    # 10 M synthetic events over 90 days: 20 k, 60 k, 260 k, 310 k and 1.2 M rows).
    # The priced sums come first: their rows need no pricing at read time. They cover
    # groupings the usage cubes hold in many rows (a key: 1.2 M) or not at all (a user,
    # a tag: the priced copy's 10 M rows), for whole UTC days priced as today.
    # A day's calls by provider and model, priced (the overview's trends and unpriced
    # models, the HTML report's): ~6 k rows at 10 M events, where usage_compact's 20 k
    # are priced at read time (~100 ms of the overview's 200 ms at 10 M events).
    Cube("priced_models", "priced_sums", "day", ("provider", "model"), "priced_team_models"),
    Cube("priced_team", "priced_sums", "day", _TEAM, "priced_keys"),
    Cube("priced_keys", "priced_sums", "day", (*_TEAM, "key_hash", "key_alias"),
         "priced_events"),
    Cube("priced_tags", "priced_sums", "day", ("tags",), "priced_events"),
    Cube("priced_users", "priced_sums", "day", ("user_id",), "priced_events"),
    # End users (the `user` field of an OpenAI request, hashed): as many as users or far
    # more; `--by end_user` summed the copy's 10 M rows (0.56 s at 10 M events).
    Cube("priced_end_users", "priced_sums", "day", ("end_user_hash",), "priced_events"),
    Cube("usage_compact", "sums", "day", _MODEL, "usage_model"),
    Cube(
        "usage_model",
        "sums",
        "day",
        (*_MODEL, "deployment_id", "api_base_host", "stream", "route", "error_class"),
    ),
    Cube("usage_hourly", "sums", "hour", _MODEL),
    # A team's calls by provider and model (the overview drilled into one team: its
    # trends by model, its unpriced models): 190 k rows at 10 M events, fewer than
    # usage_team's 310 k and priced, so nothing to price at read time (usage_team's took
    # ~150 ms of a 200 ms page at 10 M events). usage_team keeps what this drops (a
    # call's status, type, tier and model group).
    Cube("priced_team_models", "priced_sums", "day", (*_TEAM, "provider", "model"),
         "priced_key_models"),
    Cube("usage_team", "sums", "day", (*_MODEL, *_TEAM), "usage_key"),
    # A key's calls by provider and model (`--by key,model`, a dashboard drilled into one
    # key): 1.1 M rows at 10 M events, as many as usage_key's 1.2 M, but priced: nothing
    # to price at read time (usage_key's took 0.2-0.5 s a report at 10 M events). After
    # the team cubes, which serve `--by team,model` from fewer rows.
    Cube("priced_key_models", "priced_sums", "day",
         (*_TEAM, "key_hash", "key_alias", "provider", "model"), "priced_events"),
    # The overview drilled into a tag: its trends by model and its top teams (the copy's
    # 10 M rows read three times: 1.1-1.5 s at 10 M events), and `--by tag,model`:
    # 1.0 M and 1.5 M rows at 10 M events (an event's tags are one list, as in
    # priced_tags).
    Cube("priced_tag_models", "priced_sums", "day", ("tags", "provider", "model"),
         "priced_events"),
    Cube("priced_tag_teams", "priced_sums", "day", ("tags", *_TEAM), "priced_events"),
    Cube("usage_key", "sums", "day", (*_MODEL, *_TEAM, "key_hash", "key_alias")),
    Cube("latency_total", "sketch", "day", (), "latency_model"),
    Cube("latency_model", "sketch", "day", ("model",), "latency_provider_model"),
    Cube("latency_provider_model", "sketch", "day", ("provider", "model")),
    Cube("latency_team", "sketch", "day", ("team_id", "team_alias")),
    # The call's shape and route: few values each, so every one of them (alone or in
    # pairs) is served from 340 k rows at 10 M events rather than the priced copy's 10 M.
    Cube("latency_calls", "sketch", "day", (
        "call_type", "status", "service_tier", "stream", "route", "error_class",
        "deployment_id", "api_base_host", "org_id")),
    # Per UTC hour: `--by hour`, a local zone's days, a window cut on an hour.
    Cube("latency_hourly", "sketch", "hour", ()),
    Cube("quantiles_total", "quantiles", "day", (), "latency_total"),
    Cube("quantiles_model", "quantiles", "day", ("model",), "latency_model"),
    Cube("quantiles_provider_model", "quantiles", "day", ("provider", "model"),
         "latency_provider_model"),
    Cube("quantiles_team", "quantiles", "day", ("team_id", "team_alias"), "latency_team"),
    # Per UTC hour (`--by hour`: merging 890 k sketch rows per hour took 0.4 s at 10 M events).
    Cube("quantiles_hourly", "quantiles", "hour", (), "latency_hourly"),
    # A user's calls by provider and model (`--where user=… --by model`, `--by user,model`):
    # 2.9 M rows at 10 M events, so after every cube that serves a question from fewer
    # (`--by model` from usage_compact, not from here), before the copy's 10 M.
    Cube("priced_user_models", "priced_sums", "day", ("user_id", "provider", "model"),
         "priced_events"),
    # A user's calls by team (the dashboard drilled into one user: its top teams). A user
    # works in a team or a few, so this is about priced_users' size; the generator's
    # users call from every team (3.2 M rows at 10 M events), still a third of the copy.
    Cube("priced_user_teams", "priced_sums", "day", ("user_id", *_TEAM), "priced_events"),
    # `report errors` and `report context` (the dashboard's engineering page) per day
    # and group: 36 k and 780 k rows at 10 M events instead of the copy's 10 M. Errors
    # read nothing priced (from the calls); the context bands and windows are the
    # copy's (the catalog's window: priced, read under the copy's fingerprints).
    Cube("errors_calls", "errors", "day",
         (*_MODEL, "deployment_id", "api_base_host", "stream", "route", "error_class")),
    Cube("context_model", "context", "day", _MODEL, "priced_events"),
    # `report reconcile`'s cells per day, provider and model (a few hundred rows a day),
    # grouped from the copy: it read and priced every event of the window (4.5 s at 10 M).
    Cube("reconcile_calls", "reconcile", "day", ("provider", "model"), "priced_events"),
    # A team's errors by provider, model and class (the engineering page drilled into a
    # team): 250 k rows, 1 MB at 10 M events, where errors_calls keeps no team and the
    # copy's 10 M were read (0.2-0.3 s). The context cells of a team by model would be
    # 5.3 M rows (28 MB) for 0.1 s: not kept.
    Cube("errors_team", "errors", "day", (*_TEAM, "provider", "model", "error_class")),
    # Last: a cube above serves what it covers from far fewer rows.
    Cube("priced_events", "rows", "event", (
        *_MODEL, *_TEAM, "key_hash", "key_alias", "deployment_id", "api_base_host", "stream",
        "route", "error_class", "user_id", "end_user_hash", "session_id", "tags")),
)
CUBES_BY_NAME = {cube.name: cube for cube in CUBES}

# token_basis columns (and FINAL_ATTEMPT as `requests`) a sums cube stores summed (BIGINT), plus the two
# floating-point sums. Names are the same in events-derived rows and in rollup rows, so a
# report sums either with the same SQL.
COUNT_SUMS = (
    "calls",
    "requests",
    "failures",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "io_tokens",
    "t_uncached",
    "t_audio_in",
    "t_cache_read",
    "t_cache_write_5m",
    "t_cache_write_1h",
    "t_reasoning",
    "t_audio_out",
    "t_text_out",
    "image_units",
    "query_units",
    "t_image_out",
    "image_units_untokened",
    "char_units",
)
FLOAT_SUMS = ("reported_cost_usd", "audio_units", "audio_units_untokened", "wall_seconds")
PRICING_KEYS = ("is_batch", "is_proxy_hit", "image_size", "image_quality", "data_residency",
                "vertex_location", "inference_geo", "speed")
"""Price-free parts of the pricing key kept as group keys (the pair and the override
follow from provider, model and day; the service tier and call type are cube columns;
the long-context tier from input_tokens_lo/hi; the rest decide an image's price and the
regional multipliers)."""

# name → (value, which calls count). The conditions use token_basis columns.
_DIRECT = "status = 'success' AND NOT is_proxy_hit"
SKETCH_MEASURES: dict[str, tuple[str, str]] = {
    # The overview: latency of successful calls, TTFT of every stream.
    "latency": ("latency_ms", "status = 'success'"),
    "ttft": ("ttft_ms", "TRUE"),
    # The latency report (the `latency` view): successful calls a provider answered.
    "latency_direct": ("latency_ms", _DIRECT),
    "ttft_direct": ("ttft_ms", _DIRECT),
    "output_speed": ("output_tokens_per_second(latency_ms, ttft_ms, output_tokens)", _DIRECT),
}

FINAL_ATTEMPT = """CAST(trace_id IS NULL OR row_number() OVER (
    PARTITION BY date, trace_id ORDER BY ts DESC, event_id DESC) = 1 AS INTEGER)"""
"""SQL over token_basis rows: 1 on the final attempt of a client request (the latest ts,
then event_id, of its trace_id within the UTC day; a call without a trace id is a request
of its own), else 0. Summed over any grouping it counts each request once, in the group
of the attempt that ended it (the model that answered after a fallback, the final
status). The window sorts the columns it carries: apply it to a narrow projection."""

SKETCH_QUANTILES: dict[str, tuple[float, ...]] = {
    "latency": (0.5, 0.95),
    "ttft": (0.5, 0.95),
    "latency_direct": (0.5, 0.95, 0.99),
    "ttft_direct": (0.5, 0.95),
    "output_speed": (0.5,),
}
"""The quantiles the reports show, per measure: what quantiles cubes precompute."""

FIXED_THRESHOLDS = (32_000, 64_000, 100_000, 128_000, 200_000, 256_000, 272_000, 400_000, 512_000, 1_000_000)
"""Input-token counts at which sums cube groups are split (with the catalog's own
long-context thresholds at build time), so that a group's calls sit on one side of every
threshold a price uses. Readers check this (`priced_basis` gives NULL otherwise) and read
the events of a partition whose rollup cannot decide it."""


def source_name(entry: FileEntry) -> str:
    """An event file's name as a rollup records it: an object-store input compaction hid
    under `_replaced-<name>` (a copy of the same bytes) keeps its own name."""
    from llmstats.plugin.manifests import logical_name

    return logical_name(posixpath.basename(entry.path.replace("\\", "/")))


def source_key(entries: Iterable[FileEntry]) -> str:
    """A digest of the partition's event files (name and size: event files never change
    once renamed into place; a crash-recovery rewrite carries the same rows)."""
    lines = sorted(f"{source_name(e)}:{e.size}" for e in entries)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def part_manifest(cube: Cube, partitions: dict[str, dict[str, Any]]) -> bytes:
    """The JSON written next to a part `<stem>.parquet` as `<stem>.json`:
    {"cube", "version", "partitions": {date: {"key", "ladder", "sources"}}}, `ladder` the
    input-token split points as one comma-separated string (days of a build share it).
    A reader uses a part's rows of `date` only while the day's files still give `key`."""
    return json.dumps(
        {"cube": cube.name, "version": 1, "partitions": partitions}, sort_keys=True
    ).encode()


def ladder_text(ladder: list[int]) -> str:
    return ",".join(str(int(p)) for p in ladder)


def part_document(data: bytes | None) -> dict[str, Any] | None:
    """A part manifest's JSON, decoded once for both parsers below (a priced cube's is
    170 kB at 90 days: decoding it twice cost every report ~15 ms per part), or None if
    it is not a JSON object."""
    try:
        document = json.loads(data) if data else None
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def parse_part_manifest(
    document: dict[str, Any] | None,
) -> dict[str, tuple[str, list[int] | None]] | None:
    """{date: (key, ladder)} from a decoded part manifest (part_document), or None if it
    is not one."""
    if not document:
        return None
    try:
        ladders: dict[str, list[int] | None] = {}
        found = {}
        for date, entry in document["partitions"].items():
            text = entry.get("ladder")
            if text not in ladders:
                try:
                    ladders[text] = [int(p) for p in text.split(",")] if text else []
                except (AttributeError, ValueError):
                    ladders[text] = None
            found[str(date)] = (str(entry["key"]), ladders[text])
        return found
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def parse_part_pricing(document: dict[str, Any] | None) -> dict[str, Any]:
    """{date: the `pricing` entry of that date} from a decoded part manifest (the priced
    copy's fingerprints, rollups/pricing_key.py; None where a date has none)."""
    if not document:
        return {}
    try:
        return {str(date): entry.get("pricing") for date, entry in document["partitions"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def splits_every(ladder: Iterable[int], thresholds: Iterable[tuple[int, bool]]) -> bool:
    """Whether groups split at `ladder` never straddle any (threshold, inclusive) tier:
    `> T` needs a split at T, `>= T` one at T − 1."""
    points = set(ladder)
    return all((t - 1 if inclusive else t) in points for t, inclusive in thresholds)


def band_ladder(thresholds: Iterable[int]) -> list[int]:
    """Split points for input tokens: every threshold T and T − 1, so both `> T` (most
    providers) and `>= T` (xAI) leave each group on one side."""
    points = {int(t) for t in (*FIXED_THRESHOLDS, *thresholds) if t is not None and int(t) > 0}
    return sorted(points | {p - 1 for p in points})


def band_expr(ladder: list[int]) -> str:
    """SQL: how many split points lie below a call's input tokens (integers we produced)."""
    if not ladder:
        return "0"
    return " + ".join(f"CAST(input_tokens_lo > {int(p)} AS INTEGER)" for p in ladder)


def period_expr(cube: Cube) -> str:
    """SQL: the start of the row's period (session time zone UTC)."""
    return f"date_trunc('{cube.grain}', ts)"


def basis_columns() -> list[str]:
    """The token_basis columns any cube reads (and `trace_id`, `event_id` for
    FINAL_ATTEMPT): what a builder keeps of a partition, before adding `requests`."""
    used = {"date", "ts", "trace_id", "event_id", "status", "is_proxy_hit", "latency_ms",
            "ttft_ms", "output_tokens", "input_tokens_lo", "input_tokens_hi", *PRICING_KEYS,
            *(c for c in COUNT_SUMS if c != "requests"), *FLOAT_SUMS, *ERROR_COLUMNS,
            *CONTEXT_COLUMNS}
    for cube in CUBES:
        used.update(cube.columns)
    return sorted(used)


def event_cells(dims: str, names: list[str], measures: list[str], source: str) -> str:
    """SQL: one row per call and measure it has a value of (SKETCH_MEASURES), with the
    call's `dims` (`expr AS name, ...`, named `names`), `bucket` and a count column
    `n_<measure>` (1 for its measure, 0 for the others). One scan of `source` for all
    measures."""
    pairs = ", ".join(
        f"{{'bucket': CASE WHEN {condition} THEN sketch_bucket({value}) END, 'm': {i}}}"
        for i, (value, condition) in enumerate(SKETCH_MEASURES[m] for m in measures)
    )
    flags = ", ".join(f"CAST(pair_.m = {i} AS INTEGER) AS n_{m}" for i, m in enumerate(measures))
    keys = "".join(f"{name}, " for name in names)
    head = f"{dims}, " if dims else ""
    return (
        f"SELECT {keys}pair_.bucket AS bucket, {flags} FROM "
        f"(SELECT {head}unnest([{pairs}]) AS pair_ FROM {source}) WHERE pair_.bucket IS NOT NULL"
    )


PRICED_COLUMNS = (
    "priced_by", "input_cost_usd", "cache_read_cost_usd", "cache_write_cost_usd",
    "output_cost_usd", "reasoning_cost_usd", "image_cost_usd", "audio_cost_usd",
    "query_cost_usd", "list_cost_usd", "cost_usd", "prompt_cache_savings_usd",
    "proxy_cache_savings_usd", "batch_savings_usd", "savings_usd",
)
"""What the priced copy keeps of price_groups' output per event (priced under the
pricing its manifest's fingerprint names)."""
ROW_SUMS = {"calls": "calls_", "requests": "requests_", "failures": "failures_",
            "input_tokens": "input_tokens_", "output_tokens": "output_tokens_",
            "cache_read_tokens": "cache_read_tokens_",
            "cache_write_tokens": "cache_write_tokens_", "io_tokens": "tokens_",
            "reported_cost_usd": "reported_cost_usd"}
"""Counts the priced copy keeps per event → the names report aggregates read them by
(report/fetch.py: a priced group's `calls_`, ...)."""


COPY_FORMAT = 6
"""The priced copy's row layout. It is part of every copy's pricing fingerprint
(rollups/pricing_key.py), so a copy written in an older layout is stale, not misread.
2: each quantile measure as its bucket's value (DOUBLE), not the bucket number (turning
10 M bucket numbers into values cost a `--by user` report 0.8 s of its 1.2 s of
quantiles at 10 M events). 3: ERROR_COLUMNS (so `report errors` reads the copy).
4: CONTEXT_COLUMNS (so `report context` does). 5: COPY_CONTEXT_COLUMNS instead (each
call's context band and window, computed as sql/08_context_bands.sql does: banding 10 M
calls at read time cost `report context` 0.8 s of its 1.1 s at 10 M events). 6: every
event column and every event_costs column (COSTS_COLUMNS), so that connect()'s `events`
and `event_costs` read closed days from the copy (rollups/copy_views.py)."""


ERROR_COLUMNS = ("retries", "fallbacks", "http_status", "error_code", "error_code_source",
                 "client_retry_count")
"""What `report errors` reads of a call beyond its dimensions, status and final-attempt
flag: the priced copy keeps them (mostly NULL: a few bytes per event)."""
CONTEXT_COLUMNS = ("max_input_tokens",)
"""What `report context` reads of an event beyond its dimensions and input tokens: the
input window the call reported (the catalog's is joined where it reported none)."""
COPY_CONTEXT_COLUMNS = ("context_band", "context_window")
"""What the priced copy keeps for `report context` instead: `context_coded()`'s band code
(TINYINT; NULL for a call outside the bands) and the window it was banded by (NULL
there too). The window depends on the catalog: its `context_window` is part of the
pricing fingerprint (pair_rates), as is the text of 08_context_bands.sql."""


@dataclass(frozen=True)
class CallCells:
    """What a report over single calls (`report errors`, `report context`) keeps of each
    call, and how those add up: `keys` (`expr AS name`, over a call of the priced copy
    or of the events read through the report's macro) tell a group's calls apart,
    `measures` (name → (expr per call, `sum` or `max`)) are merged per group and key.
    A cube of the report's kind keeps them per day, group and key (cube_sql), so a
    report merges cube rows and single calls with one GROUP BY: the same answer
    whichever source a day comes from (sums of integers and maxima are exact)."""

    keys: tuple[str, ...]
    measures: tuple[tuple[str, str, str], ...]
    """(name, expression over a call, `sum` (of integers) | `total` (of floats: exact
    to rounding, as any sum of money here) | `max` | `min`)."""
    where: str = ""
    """Which calls count (SQL over a call; empty: all)."""
    prepare: str = ""
    """`expr AS name` computed once per call before the keys and measures read it (a
    macro argument is expanded at each use: the share of the window was computed six
    times per call)."""

    def calls(self, source: str) -> str:
        """FROM-able SQL: the calls of `source` that count, with `prepare`."""
        where = f" WHERE {self.where}" if self.where else ""
        extra = f", {self.prepare}" if self.prepare else ""
        return f"(SELECT *{extra} FROM {source}{where})"

    def per_call(self) -> list[str]:
        """`expr AS name` of every key and measure, for one row per call."""
        return [*self.keys, *(f"{expr} AS {name}" for name, expr, _ in self.measures)]

    def key_names(self) -> list[str]:
        return [key.rsplit(" AS ", 1)[-1] for key in self.keys]

    def merged(self) -> list[str]:
        """The aggregates that merge rows of cells (single calls or cube rows)."""
        merge = {"sum": "CAST(sum({}) AS BIGINT)", "total": "sum({})", "max": "max({})",
                 "min": "min({})"}
        return [f"{merge[how].format(n)} AS {n}" for n, _, how in self.measures]


RECONCILE_TOLERANCE = 0.005
"""LiteLLM's response_cost and ours agree within this share of LiteLLM's (`report
reconcile`)."""
_FAILED = "status = 'failure'"
CALL_CELLS: dict[str, CallCells] = {
    # A group's calls by failed or not (and if failed, with which HTTP status and provider
    # code), sent as a client retry or not: a few rows per group.
    "errors": CallCells(
        (f"COALESCE({_FAILED}, FALSE) AS failed_",
         *(f"CASE WHEN {_FAILED} THEN {c} END AS {c}_"
           for c in ("http_status", "error_code", "error_code_source")),
         "COALESCE(client_retry_count > 0, FALSE) AS client_retry_"),
        (("calls_", "1", "sum"), ("retries_", "retries", "sum"),
         ("fallbacks_", "fallbacks", "sum"), ("requests_", "requests", "sum"))),
    # A group's calls by band, window and the sketch bucket of the share of the window
    # used (sql/00_measures.sql: a p95 within 1 %), with the largest share exactly.
    "context": CallCells(
        ("context_band", "context_window", "sketch_bucket(usage_pct_) AS usage_bucket"),
        (("calls_", "1", "sum"), ("max_usage_pct_", "usage_pct_", "max")),
        "context_band IS NOT NULL",
        "context_usage_pct(context_band, context_window, input_tokens) AS usage_pct_"),
    # Per call, what `report reconcile`'s reason and outcome read of it
    # (reports.RECONCILE_REASON, over these keys named as the columns they stand for):
    # its pricing, flags, and a value of its costs and token counts with the same
    # answer to each test the reason makes of them. The reason itself is decided per
    # cell at read time, with today's price-map facts of the model (reports.MAP_FACTS).
    # Manifests do not name the keys: changing them (or RECONCILE_TOLERANCE) needs a
    # cube of another name, or old parts would be read as the new ones.
    "reconcile": CallCells(
        ("priced_by", "proxy_cache_hit", "batch", "long_context", "call_type", "service_tier",
         "CASE WHEN reported_cost_usd IS NULL THEN NULL WHEN reported_cost_usd = 0 THEN 0.0 "
         "ELSE 1.0 END AS reported_cost_",
         "CASE WHEN cost_usd > 0 THEN 1.0 ELSE 0.0 END AS cost_",
         "CAST(COALESCE(cache_read_tokens, 0) > 0 AS INTEGER) AS cache_read_",
         "CAST(COALESCE(cache_write_tokens, 0) > 0 AS INTEGER) AS cache_write_",
         f"(reported_cost_usd IS NULL OR abs(cost_usd - reported_cost_usd) > "
         f"{RECONCILE_TOLERANCE} * abs(reported_cost_usd) + 1e-9) AS mismatch_"),
        (("events_", "1", "sum"), ("cost_usd_", "cost_usd", "total"),
         ("reported_cost_usd_", "reported_cost_usd", "total"),
         ("example_event_id_", "event_id", "min"))),
}
"""Per report kind over single calls (`errors`, `context`, `reconcile`), what its cube
keeps."""


def value_column(measure: str) -> str:
    """The priced copy's column with the value of the event's sketch bucket for `measure`
    (`sketch_value(sketch_bucket(x))`; NULL when the event does not count for it)."""
    return f"v_{measure}"


COPY_EXTRAS = ("is_batch", "is_proxy_hit", "calls", "requests", "failures", "io_tokens")
"""token_basis columns the priced copy keeps beside every event column: what report
aggregates filter on or sum (ROW_SUMS)."""
COSTS_COLUMNS = ("long_context", "catalog_key", *PRICED_COLUMNS)
"""What event_costs (sql/03_event_costs.sql) adds to the event columns; the priced copy
keeps them all, so connect()'s `event_costs` reads a closed day from it
(rollups/copy_views.py)."""


def rows_sql(source: str, event_columns: list[tuple[str, str]]) -> str:
    """SELECT producing the priced copy's rows from `source` (a view of priced_basis over
    the partition's basis with `requests`, its priced_by copied as `basis_priced_by`):
    each event's columns (`event_columns`: the events' contract, (name, DuckDB type), each
    cast to its type so that every day of a part has one layout), its counts, sketch
    bucket values, context band and price components, sorted by time."""
    buckets = ", ".join(
        f"CAST(CASE WHEN {condition} THEN sketch_value(sketch_bucket({value})) END AS DOUBLE) AS "
        f"{value_column(m)}"
        for m, (value, condition) in SKETCH_MEASURES.items()
    )
    events = [f'CAST("{name}" AS {type_}) AS "{name}"' for name, type_ in event_columns]
    keep = [*events, *COSTS_COLUMNS, *COPY_EXTRAS]
    context = ("CAST(context_band AS TINYINT) AS context_band, "
               "CASE WHEN context_band IS NOT NULL THEN context_window END AS context_window")
    # price_groups replaces priced_by (a catalog price that prices none of the call's
    # units becomes `default`); sketches group by the pricing's own (as the events'
    # sketches read cost_basis): keep both.
    return (f"WITH priced_ AS (SELECT * FROM price_groups('{source}')) "
            f"SELECT {', '.join(keep)}, basis_priced_by, {buckets}, {context} "
            "FROM context_coded('priced_') ORDER BY date, ts")


def build_order() -> list[Cube]:
    """CUBES with every cube after the one it is computed from."""
    ordered: list[Cube] = []
    while len(ordered) < len(CUBES):
        for cube in CUBES:
            if cube not in ordered and (cube.source is None or CUBES_BY_NAME[cube.source] in ordered):
                ordered.append(cube)
    return ordered


def cube_sql(cube: Cube, ladder: list[int], source: str) -> str:
    """SELECT producing the cube's rows from `source`: a table of one partition's
    token_basis `basis_columns()` plus `requests` (FINAL_ATTEMPT), or the partition's
    rows of the cube named by `cube.source`."""
    if cube.kind == "quantiles":
        from .quantiles import quantile_sql

        return quantile_sql(source, ["date", "ts", *cube.columns], SKETCH_QUANTILES)
    if cube.kind == "sketch" and cube.source is not None:
        keys = ["date", "ts", *cube.columns, "bucket"]
        counts = ", ".join(f"CAST(sum(n_{m}) AS BIGINT) AS n_{m}" for m in SKETCH_MEASURES)
        return (f"SELECT {', '.join(keys)}, {counts} FROM {source} "
                f"GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}")
    if cube.kind in CALL_CELLS:
        # The report's cells of each call, summed per day, group and key.
        kept = CALL_CELLS[cube.kind]
        names = ["date", "ts", *cube.columns, *kept.key_names()]
        return (f"SELECT {', '.join(names)}, {', '.join(kept.merged())} FROM ("
                f"SELECT date, {period_expr(cube)} AS ts, {', '.join(cube.columns)}, "
                f"{', '.join(kept.per_call())} FROM {kept.calls(source)}) "
                f"GROUP BY ALL ORDER BY {', '.join(names)}")
    keys = ["date", f"{period_expr(cube)} AS ts", *cube.columns]
    group = ["date", period_expr(cube), *cube.columns]
    if cube.kind == "priced_sums":
        # From the priced copy (or a finer priced_sums cube): the counts and prices a
        # report sums, per group and what its aggregates filter on.
        flags = ["is_batch", "is_proxy_hit", "priced_by"]
        sums = [f"CAST(sum({c}) AS BIGINT) AS {c}" for c in ROW_SUMS if c != "reported_cost_usd"]
        sums += [f"sum({c}) AS {c}" for c in ("reported_cost_usd", *PRICED_COLUMNS)
                 if c != "priced_by"]
        return (f"SELECT {', '.join(keys + flags)}, {', '.join(sums)} FROM {source} "
                f"GROUP BY {', '.join(group + flags)} ORDER BY {', '.join(group + flags)}")
    if cube.kind == "sums":
        sums = [f"CAST(sum({c}) AS BIGINT) AS {c}" for c in COUNT_SUMS]
        sums += [f"sum({c}) AS {c}" for c in FLOAT_SUMS]
        return (
            f"SELECT {', '.join(keys + list(PRICING_KEYS))}, "
            "min(input_tokens_lo) AS input_tokens_lo, max(input_tokens_hi) AS input_tokens_hi, "
            f"{', '.join(sums)} FROM {source} "
            f"GROUP BY {', '.join(group + list(PRICING_KEYS))}, {band_expr(ladder)}"
        )
    cells = event_cells(", ".join(f"{c} AS {c}" for c in ["date", "ts", *cube.columns]),
                        ["date", "ts", *cube.columns], list(SKETCH_MEASURES), source)
    counts = ", ".join(f"CAST(sum(n_{m}) AS BIGINT) AS n_{m}" for m in SKETCH_MEASURES)
    return (
        f"SELECT {', '.join(keys)}, bucket, {counts} "
        f"FROM ({cells}) GROUP BY {', '.join([*group, 'bucket'])} "
        f"ORDER BY {', '.join([*group, 'bucket'])}"
    )
