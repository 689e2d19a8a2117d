-- segments: one row per event × prompt segment (where the input tokens went).
-- Answers: what share of input tokens and input cost goes to system prompts, tool
--   definitions, code, JSON, images, tool results…; how much of each is served from the
--   provider's prompt cache.
-- Columns: every `event_costs` column except the `segments` list, plus
--   segment_pos     1-based position of the segment in the prompt (prompt order)
--   role            system | user | assistant | tool
--   kind            text | code | json | markdown | image | audio | file |
--                   tool_definitions | tool_result | tool_call
--   segment_tokens  input tokens of the segment (a call's segments sum to input_tokens)
--   segment_cached_tokens  tokens of the segment read from the prompt cache: a cache
--                   covers a prompt prefix, so the cache reads are given to the earliest
--                   segments first
--   segment_input_cost_usd  the segment's share of the call's input-side cost (cache
--                   reads at the cache-read rate, the rest at the uncached / write rate)
-- Only calls whose segments were counted appear (chat, responses, embeddings).
CREATE OR REPLACE VIEW segments AS
WITH unnested AS (
    SELECT
        * EXCLUDE (segments),
        UNNEST(segments) AS seg,
        generate_subscripts(segments, 1) AS segment_pos
    FROM event_costs
    WHERE len(segments) > 0
),
placed AS (
    SELECT
        * EXCLUDE (seg),
        seg.role AS role,
        seg.kind AS kind,
        seg.tokens AS segment_tokens,
        COALESCE(sum(seg.tokens) OVER (
            PARTITION BY event_id ORDER BY segment_pos
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ), 0) AS tokens_before
    FROM unnested
)
SELECT
    * EXCLUDE (tokens_before),
    greatest(0, least(segment_tokens, COALESCE(cache_read_tokens, 0) - tokens_before))
        AS segment_cached_tokens,
    COALESCE(
        greatest(0, least(segment_tokens, COALESCE(cache_read_tokens, 0) - tokens_before))
            * cache_read_cost_usd / NULLIF(cache_read_tokens, 0),
        0
    ) + COALESCE(
        (segment_tokens - greatest(0, least(segment_tokens, COALESCE(cache_read_tokens, 0) - tokens_before)))
            * (COALESCE(input_cost_usd, 0) + COALESCE(cache_write_cost_usd, 0))
            / NULLIF(input_tokens - COALESCE(cache_read_tokens, 0), 0),
        0
    ) AS segment_input_cost_usd
FROM placed;
