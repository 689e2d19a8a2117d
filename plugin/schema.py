"""The event schema (version SCHEMA_VERSION): the contract between capture and every reader.

Column names are fixed once shipped: add columns, never rename or retype them. Readers
must tolerate files written before a column existed (DuckDB's `union_by_name` does).
The `date` hive partition key lives in the path, not in the files.
"""

from __future__ import annotations

import pyarrow as pa

from .versions import SCHEMA_VERSION

__all__ = ["COLUMN_NAMES", "EVENT_SCHEMA", "SCHEMA_VERSION", "SEGMENT_TYPE", "SPOOL_SCHEMA"]

SEGMENT_TYPE = pa.struct([("role", pa.string()), ("kind", pa.string()), ("tokens", pa.int64())])

_TS = pa.timestamp("us", tz="UTC")

EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("trace_id", pa.string()),
        ("call_id", pa.string()),
        ("session_id", pa.string()),
        ("ts", _TS),
        ("end_ts", _TS),
        ("latency_ms", pa.float64()),
        ("ttft_ms", pa.float64()),
        ("call_type", pa.string()),
        ("stream", pa.bool_()),
        ("status", pa.string()),
        ("error_class", pa.string()),
        ("error_code", pa.string()),
        ("http_status", pa.int32()),
        ("provider", pa.string()),
        ("model", pa.string()),
        ("model_group", pa.string()),
        ("deployment_id", pa.string()),
        ("api_base_host", pa.string()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("total_tokens", pa.int64()),
        ("cache_read_tokens", pa.int64()),
        ("cache_write_tokens", pa.int64()),
        ("reasoning_tokens", pa.int64()),
        ("audio_input_tokens", pa.int64()),
        ("audio_output_tokens", pa.int64()),
        ("image_count", pa.int64()),
        ("audio_seconds", pa.float64()),
        ("reported_cost_usd", pa.float64()),
        ("proxy_cache_hit", pa.bool_()),
        ("key_hash", pa.string()),
        ("key_alias", pa.string()),
        ("team_id", pa.string()),
        ("team_alias", pa.string()),
        ("org_id", pa.string()),
        ("user_id", pa.string()),
        ("end_user_hash", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("route", pa.string()),
        ("retries", pa.int32()),
        ("fallbacks", pa.int32()),
        ("max_input_tokens", pa.int64()),
        ("tool_call_count", pa.int32()),
        ("segments", pa.list_(SEGMENT_TYPE)),
        ("privacy_level", pa.string()),
        ("schema_version", pa.int32()),
        ("llmstats_version", pa.string()),
        ("writer_id", pa.string()),
        # Additions beyond the v1 table (allowed: the schema only grows).
        ("segments_estimated", pa.bool_()),
        ("service_tier", pa.string()),
        ("litellm_overhead_ms", pa.float64()),
        ("first_token_ts", _TS),
        ("cache_write_1h_tokens", pa.int64()),
        ("batch", pa.bool_()),
        ("search_units", pa.int64()),
        # privacy=full only
        ("tool_names", pa.list_(pa.string())),
        ("user_agent", pa.string()),
        ("requester_ip_hash", pa.string()),
        ("param_temperature", pa.float64()),
        ("param_top_p", pa.float64()),
        ("param_max_tokens", pa.int64()),
        ("param_n", pa.int64()),
        ("response_id", pa.string()),
        ("capture", pa.string()),
        # What LiteLLM prices by besides tokens (request parameters and usage fields,
        # never content): image size and quality as requested, image tokens of the
        # output, non-whitespace characters of a speech input (a count), the region and
        # speed the call was served at.
        ("image_size", pa.string()),
        ("image_quality", pa.string()),
        ("image_output_tokens", pa.int64()),
        ("input_characters", pa.int64()),
        ("data_residency", pa.string()),
        ("vertex_location", pa.string()),
        ("inference_geo", pa.string()),
        ("speed", pa.string()),
        # Schema version 2.
        ("client_retry_count", pa.int32()),
        ("error_code_source", pa.string()),
        # The requests a finished batch's output file priced (LiteLLM's count): a batch
        # event's long-context band is decided on its mean prompt.
        ("batch_requests", pa.int64()),
    ]
)

TIMESTAMP_COLUMNS = ("ts", "end_ts", "first_token_ts")

# Columns the hot path does not write: the same for every row of a writer (kept once per
# spool folder in meta.json) or derived from the timestamps when a segment is converted.
# Each one left out is a key less to encode per call.
WRITER_COLUMNS = ("privacy_level", "schema_version", "llmstats_version", "writer_id")
DERIVED_COLUMNS = ("latency_ms", "ttft_ms")

# The spool stores timestamps as integer microseconds since the epoch (cheap to
# produce on the hot path, exact, and parsed natively by pyarrow's JSON reader).
SPOOL_SCHEMA = pa.schema(
    [
        pa.field(f.name, pa.int64()) if f.name in TIMESTAMP_COLUMNS else f
        for f in EVENT_SCHEMA
        if f.name not in WRITER_COLUMNS and f.name not in DERIVED_COLUMNS
    ]
)

COLUMN_NAMES: tuple[str, ...] = tuple(EVENT_SCHEMA.names)

# What the hot path's fast row (raw_row.py) spools in place of a normalised column, as
# read from LiteLLM's payload; raw_columns.py turns them into the columns above when a
# segment is converted. A line has either these or the columns they stand for.
RAW_FIELDS = pa.schema(
    [
        ("end_s", pa.float64()),  # → end_ts
        ("first_token_s", pa.float64()),  # → first_token_ts
        ("cache_read_a", pa.int64()),  # usage.cache_read_input_tokens → cache_read_tokens
        ("cache_read_b", pa.int64()),  # prompt_tokens_details.cached_tokens
        ("cache_write_a", pa.int64()),  # usage.cache_creation_input_tokens → cache_write_tokens
        ("cache_write_b", pa.int64()),  # prompt_tokens_details.cache_creation_tokens
        ("cache_write_c", pa.int64()),  # prompt_tokens_details.cache_write_tokens
        ("retries_a", pa.int64()),  # metadata.attempted_retries → retries (int32)
        ("fallbacks_a", pa.int64()),  # metadata.attempted_fallbacks → fallbacks (int32)
        ("fallback_depth", pa.int64()),  # kwargs.fallback_depth, when the first says nothing
        ("client_retry_s", pa.string()),  # x-stainless-retry-count → client_retry_count
    ]
)

# What a carry file adds: the ids of rows converted already (convert.RECENT_IDS).
CARRY_FIELDS = pa.schema(
    [("seen_events", pa.list_(pa.string())), ("seen_calls", pa.list_(pa.string()))]
)

SPOOL_READ_SCHEMA = pa.schema(list(SPOOL_SCHEMA) + list(RAW_FIELDS) + list(CARRY_FIELDS))
