-- pricing: the resolved rates of every (provider, model) seen in events, and the cost macro.
-- Answers: which catalog entry prices a model, and at what rates.
-- Tables it reads (registered by llmstats.analytics.connection):
--   price_catalog   one row per LiteLLM price-map key, rates in USD per token/image/second
--   price_overrides the data dir's pricing/overrides.toml, rates in USD per token
--   event_models    the distinct (provider, model) pairs in the event files
-- default_rates columns: input, output (USD per token) — the conservative rate for models
--   no catalog entry or override prices: $3 / $15 per million tokens in / out.
-- model_prices columns: provider, model, catalog_key (NULL: not in the catalog).
--   Matching follows LiteLLM's map: `provider/model` first, then `model` under the same
--   provider, then `model` under any provider.
-- pair_rates columns: provider, model, catalog_key, priced_by (catalog | catalog_zero |
--   default), context_window, threshold, threshold_inclusive, r_image, r_second, the
--   standard per-token rates s_in, s_out, s_cache_read, s_cache_write, s_cache_write_1h,
--   s_reasoning, s_audio_in, s_audio_out, the same above the long-context threshold
--   (a_*), and the catalog's batch rates bat_in, bat_out, bat_cache_read, bat_cache_write.
--   Fallbacks are LiteLLM's (generic_cost_per_token): a missing cache rate is the
--   (tiered) input rate, a missing 1-hour write rate the write rate, a missing reasoning
--   or audio rate the output / input rate. Resolved once per model, not once per event.
CREATE OR REPLACE VIEW default_rates AS
SELECT 3e-6 AS input, 15e-6 AS output;

CREATE OR REPLACE VIEW model_prices AS
SELECT
    p.provider,
    p.model,
    COALESCE(
        ANY_VALUE(c1.key),
        ANY_VALUE(c2.key) FILTER (WHERE starts_with(c2.provider, p.provider)),
        MIN(c2.key)
    ) AS catalog_key
FROM event_models AS p
LEFT JOIN price_catalog AS c1 ON c1.key = p.provider || '/' || p.model
LEFT JOIN price_catalog AS c2 ON c2.key = p.model
GROUP BY p.provider, p.model;

CREATE OR REPLACE VIEW pair_rates AS
WITH base AS (
    SELECT
        mp.provider, mp.model, c.*,
        CASE WHEN c.key IS NULL THEN (SELECT input FROM default_rates)
             ELSE COALESCE(c.input, 0) END AS s_in,
        CASE WHEN c.key IS NULL THEN (SELECT output FROM default_rates)
             ELSE COALESCE(c.output, 0) END AS s_out
    FROM model_prices AS mp
    LEFT JOIN price_catalog AS c ON c.key = mp.catalog_key
),
tiered AS (
    SELECT
        *,
        COALESCE(cache_write, s_in) AS s_cache_write,
        COALESCE(input_above, s_in) AS a_in,
        COALESCE(output_above, s_out) AS a_out
    FROM base
)
SELECT
    provider, model, key AS catalog_key,
    CASE WHEN key IS NULL THEN 'default' WHEN is_zero THEN 'catalog_zero' ELSE 'catalog' END
        AS priced_by,
    max_input_tokens AS context_window, threshold, COALESCE(threshold_inclusive, FALSE) AS threshold_inclusive,
    COALESCE(per_image, 0) AS r_image,
    COALESCE(input_per_second, input_per_audio_second, 0) AS r_second,
    s_in, s_out,
    COALESCE(cache_read, s_in) AS s_cache_read,
    s_cache_write,
    COALESCE(cache_write_1h, s_cache_write) AS s_cache_write_1h,
    COALESCE(reasoning, s_out) AS s_reasoning,
    COALESCE(audio_input, s_in) AS s_audio_in,
    COALESCE(audio_output, s_out) AS s_audio_out,
    a_in, a_out,
    COALESCE(cache_read_above, cache_read, a_in) AS a_cache_read,
    COALESCE(cache_write_above, cache_write, a_in) AS a_cache_write,
    COALESCE(cache_write_1h_above, cache_write_1h, cache_write_above, cache_write, a_in) AS a_cache_write_1h,
    COALESCE(reasoning, a_out) AS a_reasoning,
    COALESCE(audio_input, a_in) AS a_audio_in,
    COALESCE(audio_output, a_out) AS a_audio_out,
    input_batches AS bat_in, output_batches AS bat_out,
    cache_read_batches AS bat_cache_read, cache_write_batches AS bat_cache_write
FROM tiered;

-- token_cost: USD for one call's token counts at the given per-token rates.
CREATE OR REPLACE MACRO token_cost(
    uncached, audio_in, cache_read, cache_write_5m, cache_write_1h, text_out, audio_out,
    reasoning, r_in, r_audio_in, r_cache_read, r_cache_write, r_cache_write_1h, r_out,
    r_audio_out, r_reasoning
) AS
    uncached * r_in + audio_in * r_audio_in + cache_read * r_cache_read
    + cache_write_5m * r_cache_write + cache_write_1h * r_cache_write_1h
    + text_out * r_out + audio_out * r_audio_out + reasoning * r_reasoning;
