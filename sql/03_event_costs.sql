-- event_costs: every event with what it cost, by component, and how it was priced.
-- Answers: what did each call cost (ours vs LiteLLM's), and what did caching save.
-- Token convention: input_tokens INCLUDES cache reads and cache writes (OTel GenAI);
--   cache_read_tokens / cache_write_tokens say how many; cache_write_1h_tokens is the
--   part of cache_write_tokens written with the 1-hour TTL.
-- Columns: every `events` column, plus
--   priced_by            override | catalog | catalog_zero (a catalog price of $0) | default
--   catalog_key          the LiteLLM price-map key used (NULL for override / default)
--   long_context         the prompt crossed the model's long-context price threshold
--   input_cost_usd       uncached input tokens (text and audio)
--   cache_read_cost_usd  prompt-cache reads
--   cache_write_cost_usd prompt-cache writes (5-minute and 1-hour tiers)
--   output_cost_usd      output tokens other than reasoning
--   reasoning_cost_usd   reasoning tokens (at the reasoning rate where one is priced)
--   image_cost_usd       generated images (per image, at the requested size and quality)
--   audio_cost_usd       transcribed audio per second, speech per input character, and
--                        calls of models priced per second of call time
--   query_cost_usd       rerank search units priced per query (input_cost_per_query)
--   list_cost_usd        the call at standard rates: no batch discount, no proxy cache
--   cost_usd             what the call cost: batch rates for batch calls, 0 for a proxy
--                        cache hit (no provider call was made)
--   prompt_cache_savings_usd  cache reads saved vs uncached input, net of the write premium
--   proxy_cache_savings_usd   list cost of a call served from LiteLLM's response cache
--   batch_savings_usd         list cost minus batch cost
--   savings_usd          the three savings summed

-- token_basis: every `events` column plus the price-free quantities pricing and reports
--   sum, one row per event: is_batch, is_proxy_hit, the token counts each rate applies to
--   (t_uncached, t_audio_in, t_cache_read, t_cache_write_5m, t_cache_write_1h, t_text_out,
--   t_audio_out, t_reasoning, t_image_out; image_units, image_units_untokened (images of a
--   call that reported no tokens), audio_units, audio_units_untokened (audio seconds of a
--   transcription that reported no tokens), wall_seconds (the call's duration, for
--   models priced per second of it), char_units (a speech call's input characters),
--   query_units), calls (1), failures (1 for a
--   failed attempt), io_tokens (input + output) and input_tokens_lo / input_tokens_hi
--   (both the call's input tokens, a batch's mean per request: a rollup row keeps the
--   range of the calls it sums, so the long-context tier can be decided at read time; see
--   priced_basis).
-- Rollups (llmstats.analytics.rollups.spec) store exactly these columns summed per group.
-- event_tokens(tbl): the same over any relation of `events` columns (connect() prices
--   the days the priced copy does not hold through it: analytics/rollups/copy_views.py).
CREATE OR REPLACE MACRO event_tokens(tbl) AS TABLE
WITH counted AS (
    SELECT
        e.*,
        COALESCE(e.batch, FALSE) AS is_batch,
        COALESCE(e.proxy_cache_hit, FALSE) AS is_proxy_hit,
        COALESCE(e.cache_write_tokens, 0) AS t_cache_write,
        LEAST(COALESCE(e.cache_write_1h_tokens, 0), COALESCE(e.cache_write_tokens, 0)) AS t_cache_write_1h,
        COALESCE(e.reasoning_tokens, 0) AS t_reasoning,
        COALESCE(e.audio_output_tokens, 0) AS t_audio_out,
        -- An image call's output tokens are image tokens (OpenAI's images API reports
        -- them without a breakdown; LiteLLM bills them at the image-token rate).
        CASE WHEN e.call_type = 'image' THEN COALESCE(e.image_output_tokens, e.output_tokens, 0)
             ELSE COALESCE(e.image_output_tokens, 0) END AS t_image_out,
        COALESCE(e.input_tokens, 0) + COALESCE(e.output_tokens, 0) = 0 AS untokened
    FROM query_table(tbl) AS e
)
SELECT
    * EXCLUDE (t_cache_write, untokened, prompt_per_request),
    GREATEST(COALESCE(input_tokens, 0) - COALESCE(cache_read_tokens, 0) - t_cache_write
             - COALESCE(audio_input_tokens, 0), 0) AS t_uncached,
    COALESCE(audio_input_tokens, 0) AS t_audio_in,
    COALESCE(cache_read_tokens, 0) AS t_cache_read,
    t_cache_write - t_cache_write_1h AS t_cache_write_5m,
    GREATEST(COALESCE(output_tokens, 0) - t_reasoning - t_audio_out - t_image_out, 0) AS t_text_out,
    CASE WHEN call_type = 'image' THEN COALESCE(image_count, 0) ELSE 0 END AS image_units,
    CASE WHEN call_type = 'image' AND untokened THEN COALESCE(image_count, 0) ELSE 0 END
        AS image_units_untokened,
    COALESCE(audio_seconds, 0) AS audio_units,
    CASE WHEN untokened THEN COALESCE(audio_seconds, 0) ELSE 0 END AS audio_units_untokened,
    COALESCE(latency_ms, 0) / 1000.0 AS wall_seconds,
    CASE WHEN call_type = 'speech' THEN COALESCE(input_characters, 0) ELSE 0 END AS char_units,
    CASE WHEN call_type = 'rerank' THEN COALESCE(search_units, 0) ELSE 0 END AS query_units,
    1 AS calls,
    CAST(status = 'failure' AS INTEGER) AS failures,
    COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) AS io_tokens,
    prompt_per_request AS input_tokens_lo,
    prompt_per_request AS input_tokens_hi
FROM (
    -- A batch event sums its requests' tokens; LiteLLM decides each request's band on its
    -- own prompt, so the band here is decided on the mean prompt per request.
    SELECT *, CASE WHEN is_batch AND batch_requests > 1
                   THEN COALESCE(input_tokens, 0) // batch_requests
                   ELSE COALESCE(input_tokens, 0) END AS prompt_per_request
    FROM counted
);

CREATE OR REPLACE VIEW token_basis AS SELECT * FROM event_tokens('events');

-- cost_basis: every token_basis column plus the pricing key of priced_basis (pair_id,
--   override_id, priced_by, rate_id, long_context, uplift, image_rate, bill_kind,
--   time_priced), one row per event.
CREATE OR REPLACE VIEW cost_basis AS
SELECT * FROM priced_basis('token_basis');

-- event_costs_of(tbl): the event_costs columns of price_groups over `tbl` (cost_basis, or
--   priced_basis over event_tokens of any relation of `events` columns).
CREATE OR REPLACE MACRO event_costs_of(tbl) AS TABLE
SELECT * EXCLUDE (pair_id, override_id, rate_id, uplift, image_rate, image_priced_by, bill_kind,
                  time_priced,
                  is_batch, is_proxy_hit, calls, failures, io_tokens, input_tokens_lo,
                  input_tokens_hi)
FROM price_groups(tbl);

-- event_costs (columns above): price_groups over cost_basis, one event per group.
CREATE OR REPLACE VIEW event_costs AS SELECT * FROM event_costs_of('cost_basis');
