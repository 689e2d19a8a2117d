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
--   image_cost_usd       generated images (per image)
--   audio_cost_usd       audio input priced per second (transcription)
--   list_cost_usd        the call at standard rates: no batch discount, no proxy cache
--   cost_usd             what the call cost: batch rates for batch calls, 0 for a proxy
--                        cache hit (no provider call was made)
--   prompt_cache_savings_usd  cache reads saved vs uncached input, net of the write premium
--   proxy_cache_savings_usd   list cost of a call served from LiteLLM's response cache
--   batch_savings_usd         list cost minus batch cost
--   savings_usd          the three savings summed
CREATE OR REPLACE VIEW event_costs AS
WITH joined AS (
    SELECT
        e.*,
        c.key AS catalog_key_,
        c.is_zero AS cat_is_zero,
        o.model IS NOT NULL AS has_override,
        CASE
            WHEN o.model IS NOT NULL THEN 'override'
            WHEN c.key IS NULL THEN 'default'
            WHEN c.is_zero THEN 'catalog_zero'
            ELSE 'catalog'
        END AS priced_by,
        o.model IS NULL AND c.threshold IS NOT NULL AND (
            COALESCE(e.input_tokens, 0) > c.threshold
            OR (c.threshold_inclusive AND COALESCE(e.input_tokens, 0) = c.threshold)
        ) AS long_context,
        c.input AS c_input, c.output AS c_output, c.cache_read AS c_cache_read,
        c.cache_write AS c_cache_write, c.cache_write_1h AS c_cache_write_1h,
        c.reasoning AS c_reasoning, c.audio_input AS c_audio_input,
        c.audio_output AS c_audio_output, c.input_above AS c_input_above,
        c.output_above AS c_output_above, c.cache_read_above AS c_cache_read_above,
        c.cache_write_above AS c_cache_write_above,
        c.cache_write_1h_above AS c_cache_write_1h_above,
        c.input_batches AS c_input_batches, c.output_batches AS c_output_batches,
        c.cache_read_batches AS c_cache_read_batches,
        c.cache_write_batches AS c_cache_write_batches,
        COALESCE(o.per_image, c.per_image, 0) AS r_image,
        COALESCE(o.per_second, c.input_per_second, c.input_per_audio_second, 0) AS r_second,
        o.input AS o_input, o.output AS o_output, o.cache_read AS o_cache_read,
        o.cache_write AS o_cache_write, o.cache_write_1h AS o_cache_write_1h,
        o.reasoning AS o_reasoning
    FROM events AS e
    LEFT JOIN model_prices AS mp
        ON mp.provider IS NOT DISTINCT FROM e.provider AND mp.model IS NOT DISTINCT FROM e.model
    LEFT JOIN price_catalog AS c ON c.key = mp.catalog_key
    LEFT JOIN price_overrides AS o
        ON o.model = e.model
        AND (o.provider IS NULL OR o.provider = e.provider)
        AND e.ts >= o.valid_from AND e.ts < o.valid_to
),
rates AS (
    SELECT
        *,
        -- Standard per-token rates, resolved the way LiteLLM's generic_cost_per_token
        -- does: a missing cache rate falls back to the (tiered) input rate, a missing
        -- reasoning / audio rate to the output / input rate.
        CASE
            WHEN has_override THEN o_input
            WHEN priced_by = 'default' THEN (SELECT input FROM default_rates)
            WHEN long_context THEN COALESCE(c_input_above, c_input, 0)
            ELSE COALESCE(c_input, 0)
        END AS r_in,
        CASE
            WHEN has_override THEN o_output
            WHEN priced_by = 'default' THEN (SELECT output FROM default_rates)
            WHEN long_context THEN COALESCE(c_output_above, c_output, 0)
            ELSE COALESCE(c_output, 0)
        END AS r_out
    FROM joined
),
rates2 AS (
    SELECT
        *,
        CASE
            WHEN has_override THEN COALESCE(o_cache_read, r_in)
            WHEN long_context THEN COALESCE(c_cache_read_above, c_cache_read, r_in)
            ELSE COALESCE(c_cache_read, r_in)
        END AS r_cache_read,
        CASE
            WHEN has_override THEN COALESCE(o_cache_write, r_in)
            WHEN long_context THEN COALESCE(c_cache_write_above, c_cache_write, r_in)
            ELSE COALESCE(c_cache_write, r_in)
        END AS r_cache_write,
        CASE WHEN has_override THEN COALESCE(o_reasoning, r_out)
             ELSE COALESCE(c_reasoning, r_out) END AS r_reasoning,
        CASE WHEN has_override THEN r_in ELSE COALESCE(c_audio_input, r_in) END AS r_audio_in,
        CASE WHEN has_override THEN r_out ELSE COALESCE(c_audio_output, r_out) END AS r_audio_out
    FROM rates
),
rates3 AS (
    SELECT
        *,
        CASE
            WHEN has_override THEN COALESCE(o_cache_write_1h, r_cache_write)
            WHEN long_context THEN COALESCE(c_cache_write_1h_above, c_cache_write_1h, r_cache_write)
            ELSE COALESCE(c_cache_write_1h, r_cache_write)
        END AS r_cache_write_1h,
        -- Batch rates: the catalog's *_batches rate, else half the standard rate (as
        -- LiteLLM's batch_cost_calculator assumes).
        COALESCE(CASE WHEN NOT has_override THEN c_input_batches END, r_in / 2) AS b_in,
        COALESCE(CASE WHEN NOT has_override THEN c_output_batches END, r_out / 2) AS b_out,
        GREATEST(COALESCE(input_tokens, 0) - COALESCE(cache_read_tokens, 0)
                 - COALESCE(cache_write_tokens, 0) - COALESCE(audio_input_tokens, 0), 0) AS t_uncached,
        COALESCE(audio_input_tokens, 0) AS t_audio_in,
        COALESCE(cache_read_tokens, 0) AS t_cache_read,
        LEAST(COALESCE(cache_write_1h_tokens, 0), COALESCE(cache_write_tokens, 0)) AS t_cache_write_1h,
        COALESCE(reasoning_tokens, 0) AS t_reasoning,
        COALESCE(audio_output_tokens, 0) AS t_audio_out
    FROM rates2
),
components AS (
    SELECT
        *,
        COALESCE(cache_write_tokens, 0) - t_cache_write_1h AS t_cache_write_5m,
        GREATEST(COALESCE(output_tokens, 0) - t_reasoning - t_audio_out, 0) AS t_text_out,
        CASE
            WHEN NOT has_override AND c_input_batches IS NOT NULL
                THEN COALESCE(c_cache_read_batches, b_in)
            ELSE r_cache_read / 2
        END AS b_cache_read,
        CASE
            WHEN NOT has_override AND c_input_batches IS NOT NULL
                THEN COALESCE(c_cache_write_batches, b_in)
            ELSE r_cache_write / 2
        END AS b_cache_write,
        CASE WHEN call_type = 'image' THEN COALESCE(image_count, 0) * r_image ELSE 0 END
            AS image_cost_usd,
        COALESCE(audio_seconds, 0) * r_second AS audio_cost_usd
    FROM rates3
),
priced AS (
    SELECT
        *,
        token_cost(t_uncached, t_audio_in, t_cache_read, t_cache_write_5m, t_cache_write_1h,
                   t_text_out, t_audio_out, t_reasoning, r_in, r_audio_in, r_cache_read,
                   r_cache_write, r_cache_write_1h, r_out, r_audio_out, r_reasoning)
            + image_cost_usd + audio_cost_usd AS list_cost_usd,
        COALESCE(batch, FALSE) AS is_batch,
        COALESCE(proxy_cache_hit, FALSE) AS is_proxy_hit
    FROM components
),
effective AS (
    SELECT
        *,
        CASE WHEN is_batch THEN
            token_cost(t_uncached, t_audio_in, t_cache_read, t_cache_write_5m, t_cache_write_1h,
                       t_text_out, t_audio_out, t_reasoning, b_in, b_in, b_cache_read,
                       b_cache_write, b_cache_write, b_out, b_out, b_out)
            + image_cost_usd + audio_cost_usd
        ELSE list_cost_usd END AS billed_cost_usd
    FROM priced
)
SELECT
    * EXCLUDE (
        catalog_key_, cat_is_zero, has_override, c_input, c_output, c_cache_read,
        c_cache_write, c_cache_write_1h, c_reasoning, c_audio_input, c_audio_output,
        c_input_above, c_output_above, c_cache_read_above, c_cache_write_above,
        c_cache_write_1h_above, c_input_batches, c_output_batches, c_cache_read_batches,
        c_cache_write_batches, r_image, r_second, o_input, o_output, o_cache_read,
        o_cache_write, o_cache_write_1h, o_reasoning, r_in, r_out, r_cache_read,
        r_cache_write, r_reasoning, r_audio_in, r_audio_out, r_cache_write_1h, b_in, b_out,
        t_uncached, t_audio_in, t_cache_read, t_cache_write_1h, t_reasoning, t_audio_out,
        t_cache_write_5m, t_text_out, b_cache_read, b_cache_write, is_batch, is_proxy_hit,
        billed_cost_usd, image_cost_usd, audio_cost_usd, list_cost_usd
    ),
    CASE WHEN priced_by IN ('catalog', 'catalog_zero') THEN catalog_key_ END AS catalog_key,
    CASE WHEN is_batch THEN t_uncached * b_in ELSE t_uncached * r_in END
        + t_audio_in * CASE WHEN is_batch THEN b_in ELSE r_audio_in END AS input_cost_usd,
    t_cache_read * CASE WHEN is_batch THEN b_cache_read ELSE r_cache_read END
        AS cache_read_cost_usd,
    CASE WHEN is_batch THEN (t_cache_write_5m + t_cache_write_1h) * b_cache_write
         ELSE t_cache_write_5m * r_cache_write + t_cache_write_1h * r_cache_write_1h END
        AS cache_write_cost_usd,
    CASE WHEN is_batch THEN (t_text_out + t_audio_out) * b_out
         ELSE t_text_out * r_out + t_audio_out * r_audio_out END AS output_cost_usd,
    t_reasoning * CASE WHEN is_batch THEN b_out ELSE r_reasoning END AS reasoning_cost_usd,
    image_cost_usd,
    audio_cost_usd,
    list_cost_usd,
    CASE WHEN is_proxy_hit THEN 0.0 ELSE billed_cost_usd END AS cost_usd,
    CASE WHEN is_proxy_hit THEN 0.0 ELSE
        CASE WHEN is_batch THEN
            t_cache_read * (b_in - b_cache_read) - (t_cache_write_5m + t_cache_write_1h) * (b_cache_write - b_in)
        ELSE
            t_cache_read * (r_in - r_cache_read) - t_cache_write_5m * (r_cache_write - r_in)
            - t_cache_write_1h * (r_cache_write_1h - r_in)
        END
    END AS prompt_cache_savings_usd,
    CASE WHEN is_proxy_hit THEN list_cost_usd ELSE 0.0 END AS proxy_cache_savings_usd,
    CASE WHEN is_batch AND NOT is_proxy_hit THEN list_cost_usd - billed_cost_usd ELSE 0.0 END
        AS batch_savings_usd,
    prompt_cache_savings_usd + proxy_cache_savings_usd + batch_savings_usd AS savings_usd
FROM effective;
