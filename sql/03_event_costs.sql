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
        pr.catalog_key AS pr_catalog_key,
        o.model IS NOT NULL AS has_override,
        CASE WHEN o.model IS NOT NULL THEN 'override' ELSE COALESCE(pr.priced_by, 'default') END
            AS priced_by,
        o.model IS NULL AND pr.threshold IS NOT NULL AND (
            COALESCE(e.input_tokens, 0) > pr.threshold
            OR (pr.threshold_inclusive AND COALESCE(e.input_tokens, 0) = pr.threshold)
        ) AS long_context,
        COALESCE(o.per_image, pr.r_image, 0) AS r_image,
        COALESCE(o.per_second, pr.r_second, 0) AS r_second,
        pr.s_in, pr.s_out, pr.s_cache_read, pr.s_cache_write, pr.s_cache_write_1h,
        pr.s_reasoning, pr.s_audio_in, pr.s_audio_out, pr.a_in, pr.a_out, pr.a_cache_read,
        pr.a_cache_write, pr.a_cache_write_1h, pr.a_reasoning, pr.a_audio_in, pr.a_audio_out,
        pr.bat_in, pr.bat_out, pr.bat_cache_read, pr.bat_cache_write,
        o.input AS o_in, o.output AS o_out,
        COALESCE(o.cache_read, o.input) AS o_cache_read,
        COALESCE(o.cache_write, o.input) AS o_cache_write,
        COALESCE(o.cache_write_1h, o.cache_write, o.input) AS o_cache_write_1h,
        COALESCE(o.reasoning, o.output) AS o_reasoning
    FROM events AS e
    LEFT JOIN pair_rates AS pr
        ON pr.provider IS NOT DISTINCT FROM e.provider AND pr.model IS NOT DISTINCT FROM e.model
    LEFT JOIN price_overrides AS o
        ON o.model = e.model
        AND (o.provider IS NULL OR o.provider = e.provider)
        AND e.ts >= o.valid_from AND e.ts < o.valid_to
),
rates AS (
    SELECT
        *,
        -- The rate set that applies: an override, the long-context tier, or the standard one.
        CASE WHEN has_override THEN o_in WHEN long_context THEN a_in
             ELSE COALESCE(s_in, (SELECT input FROM default_rates)) END AS r_in,
        CASE WHEN has_override THEN o_out WHEN long_context THEN a_out
             ELSE COALESCE(s_out, (SELECT output FROM default_rates)) END AS r_out,
        CASE WHEN has_override THEN o_cache_read WHEN long_context THEN a_cache_read
             ELSE COALESCE(s_cache_read, (SELECT input FROM default_rates)) END AS r_cache_read,
        CASE WHEN has_override THEN o_cache_write WHEN long_context THEN a_cache_write
             ELSE COALESCE(s_cache_write, (SELECT input FROM default_rates)) END AS r_cache_write,
        CASE WHEN has_override THEN o_cache_write_1h WHEN long_context THEN a_cache_write_1h
             ELSE COALESCE(s_cache_write_1h, (SELECT input FROM default_rates)) END AS r_cache_write_1h,
        CASE WHEN has_override THEN o_reasoning WHEN long_context THEN a_reasoning
             ELSE COALESCE(s_reasoning, (SELECT output FROM default_rates)) END AS r_reasoning,
        CASE WHEN has_override THEN o_in WHEN long_context THEN a_audio_in
             ELSE COALESCE(s_audio_in, (SELECT input FROM default_rates)) END AS r_audio_in,
        CASE WHEN has_override THEN o_out WHEN long_context THEN a_audio_out
             ELSE COALESCE(s_audio_out, (SELECT output FROM default_rates)) END AS r_audio_out,
        GREATEST(COALESCE(input_tokens, 0) - COALESCE(cache_read_tokens, 0)
                 - COALESCE(cache_write_tokens, 0) - COALESCE(audio_input_tokens, 0), 0) AS t_uncached,
        COALESCE(audio_input_tokens, 0) AS t_audio_in,
        COALESCE(cache_read_tokens, 0) AS t_cache_read,
        LEAST(COALESCE(cache_write_1h_tokens, 0), COALESCE(cache_write_tokens, 0)) AS t_cache_write_1h,
        COALESCE(reasoning_tokens, 0) AS t_reasoning,
        COALESCE(audio_output_tokens, 0) AS t_audio_out,
        COALESCE(batch, FALSE) AS is_batch,
        COALESCE(proxy_cache_hit, FALSE) AS is_proxy_hit
    FROM joined
),
components AS (
    SELECT
        *,
        COALESCE(cache_write_tokens, 0) - t_cache_write_1h AS t_cache_write_5m,
        GREATEST(COALESCE(output_tokens, 0) - t_reasoning - t_audio_out, 0) AS t_text_out,
        -- Batch rates: the catalog's *_batches rate, else half the standard rate (as
        -- LiteLLM's batch_cost_calculator assumes).
        COALESCE(CASE WHEN NOT has_override THEN bat_in END, r_in / 2) AS b_in,
        COALESCE(CASE WHEN NOT has_override THEN bat_out END, r_out / 2) AS b_out,
        CASE WHEN NOT has_override AND bat_in IS NOT NULL THEN COALESCE(bat_cache_read, bat_in)
             ELSE r_cache_read / 2 END AS b_cache_read,
        CASE WHEN NOT has_override AND bat_in IS NOT NULL THEN COALESCE(bat_cache_write, bat_in)
             ELSE r_cache_write / 2 END AS b_cache_write,
        CASE WHEN call_type = 'image' THEN COALESCE(image_count, 0) * r_image ELSE 0 END
            AS image_cost_usd,
        COALESCE(audio_seconds, 0) * r_second AS audio_cost_usd
    FROM rates
),
priced AS (
    SELECT
        *,
        token_cost(t_uncached, t_audio_in, t_cache_read, t_cache_write_5m, t_cache_write_1h,
                   t_text_out, t_audio_out, t_reasoning, r_in, r_audio_in, r_cache_read,
                   r_cache_write, r_cache_write_1h, r_out, r_audio_out, r_reasoning)
            + image_cost_usd + audio_cost_usd AS list_cost_usd
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
        pr_catalog_key, has_override, r_image, r_second, s_in, s_out, s_cache_read,
        s_cache_write, s_cache_write_1h, s_reasoning, s_audio_in, s_audio_out, a_in, a_out,
        a_cache_read, a_cache_write, a_cache_write_1h, a_reasoning, a_audio_in, a_audio_out,
        bat_in, bat_out, bat_cache_read, bat_cache_write, o_in, o_out, o_cache_read,
        o_cache_write, o_cache_write_1h, o_reasoning, r_in, r_out, r_cache_read,
        r_cache_write, r_cache_write_1h, r_reasoning, r_audio_in, r_audio_out, t_uncached,
        t_audio_in, t_cache_read, t_cache_write_1h, t_reasoning, t_audio_out, is_batch,
        is_proxy_hit, t_cache_write_5m, t_text_out, b_in, b_out, b_cache_read, b_cache_write,
        image_cost_usd, audio_cost_usd, list_cost_usd, billed_cost_usd
    ),
    CASE WHEN priced_by IN ('catalog', 'catalog_zero') THEN pr_catalog_key END AS catalog_key,
    CASE WHEN is_batch THEN t_uncached * b_in + t_audio_in * b_in
         ELSE t_uncached * r_in + t_audio_in * r_audio_in END AS input_cost_usd,
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
    CASE WHEN is_proxy_hit THEN 0.0
         WHEN is_batch THEN
            t_cache_read * (b_in - b_cache_read)
            - (t_cache_write_5m + t_cache_write_1h) * (b_cache_write - b_in)
         ELSE
            t_cache_read * (r_in - r_cache_read) - t_cache_write_5m * (r_cache_write - r_in)
            - t_cache_write_1h * (r_cache_write_1h - r_in)
    END AS prompt_cache_savings_usd,
    CASE WHEN is_proxy_hit THEN list_cost_usd ELSE 0.0 END AS proxy_cache_savings_usd,
    CASE WHEN is_batch AND NOT is_proxy_hit THEN list_cost_usd - billed_cost_usd ELSE 0.0 END
        AS batch_savings_usd,
    prompt_cache_savings_usd + proxy_cache_savings_usd + batch_savings_usd AS savings_usd
FROM effective;
