-- pricing: the resolved rates of every (provider, model) seen in events, and the cost macro.
-- Answers: which catalog entry prices a model, and at what rates.
-- Tables it reads (registered by llmstats.analytics.connection):
--   price_catalog   one row per LiteLLM price-map key, rates in USD per token/image/second
--   price_overrides the data dir's pricing/overrides.toml, rates in USD per token
--   event_models    the distinct (provider, model) pairs in the event files, numbered
--                   (pair_id): costs group on this small integer rather than two strings
-- default_rates columns: input, output (USD per token) — the conservative rate for models
--   no catalog entry or override prices: $3 / $15 per million tokens in / out.
-- model_prices columns: pair_id, provider, model, catalog_key (NULL: not in the catalog).
--   Matching follows LiteLLM's map: `provider/model` first, then `model` under the same
--   provider, then `model` under any provider.
-- pair_rates columns: pair_id, provider, model, catalog_key, priced_by (catalog | catalog_zero |
--   default), context_window, threshold, threshold_inclusive, r_image, r_second, and per
--   rate component X in (in, out, cache_read, cache_write, cache_write_1h, reasoning,
--   audio_in, audio_out), in USD per token:
--     s_X   the standard rate          d_X   above the long-context threshold minus s_X
--     sb_X  the batch rate             db_X  the batch rate above the threshold minus sb_X
--   (deltas, so a call's rate is s_X + long_context * d_X: plain arithmetic per event.)
--   Fallbacks are LiteLLM's (generic_cost_per_token): a missing cache rate is the
--   (tiered) input rate, a missing 1-hour write rate the write rate, a missing reasoning
--   or audio rate the output / input rate. Batch rates: the catalog's *_batches rate,
--   else half the standard rate (LiteLLM's batch_cost_calculator); with a batch input
--   rate, cache reads/writes use their batch rates, else the batch input rate.
--   Resolved once per model, not once per event.
CREATE OR REPLACE VIEW default_rates AS
SELECT 3e-6 AS input, 15e-6 AS output;

CREATE OR REPLACE VIEW model_prices AS
SELECT
    p.pair_id,
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
GROUP BY p.pair_id, p.provider, p.model;

CREATE OR REPLACE VIEW pair_rates AS
WITH base AS (
    SELECT
        mp.pair_id, mp.provider, mp.model, c.*,
        CASE WHEN c.key IS NULL THEN (SELECT input FROM default_rates)
             ELSE COALESCE(c.input, 0) END AS s_in,
        CASE WHEN c.key IS NULL THEN (SELECT output FROM default_rates)
             ELSE COALESCE(c.output, 0) END AS s_out
    FROM model_prices AS mp
    LEFT JOIN price_catalog AS c ON c.key = mp.catalog_key
),
standard AS (
    SELECT
        *,
        COALESCE(cache_read, s_in) AS s_cache_read,
        COALESCE(cache_write, s_in) AS s_cache_write,
        COALESCE(cache_write_1h, cache_write, s_in) AS s_cache_write_1h,
        COALESCE(reasoning, s_out) AS s_reasoning,
        COALESCE(audio_input, s_in) AS s_audio_in,
        COALESCE(audio_output, s_out) AS s_audio_out,
        COALESCE(input_above, s_in) AS a_in,
        COALESCE(output_above, s_out) AS a_out
    FROM base
),
tiers AS (
    SELECT
        *,
        COALESCE(cache_read_above, cache_read, a_in) AS a_cache_read,
        COALESCE(cache_write_above, cache_write, a_in) AS a_cache_write,
        COALESCE(cache_write_1h_above, cache_write_1h, cache_write_above, cache_write, a_in)
            AS a_cache_write_1h,
        COALESCE(reasoning, a_out) AS a_reasoning,
        COALESCE(audio_input, a_in) AS a_audio_in,
        COALESCE(audio_output, a_out) AS a_audio_out
    FROM standard
),
batched AS (
    SELECT
        *,
        COALESCE(input_batches, s_in / 2) AS sb_in,
        COALESCE(output_batches, s_out / 2) AS sb_out,
        COALESCE(input_batches, a_in / 2) AS ab_in,
        COALESCE(output_batches, a_out / 2) AS ab_out,
        CASE WHEN input_batches IS NOT NULL THEN COALESCE(cache_read_batches, input_batches)
             ELSE s_cache_read / 2 END AS sb_cache_read,
        CASE WHEN input_batches IS NOT NULL THEN COALESCE(cache_read_batches, input_batches)
             ELSE a_cache_read / 2 END AS ab_cache_read,
        CASE WHEN input_batches IS NOT NULL THEN COALESCE(cache_write_batches, input_batches)
             ELSE s_cache_write / 2 END AS sb_cache_write,
        CASE WHEN input_batches IS NOT NULL THEN COALESCE(cache_write_batches, input_batches)
             ELSE a_cache_write / 2 END AS ab_cache_write
    FROM tiers
)
SELECT
    pair_id, provider, model, key AS catalog_key,
    CASE WHEN key IS NULL THEN 'default' WHEN is_zero THEN 'catalog_zero' ELSE 'catalog' END
        AS priced_by,
    max_input_tokens AS context_window, threshold,
    COALESCE(threshold_inclusive, FALSE) AS threshold_inclusive,
    COALESCE(per_image, 0) AS r_image,
    COALESCE(input_per_second, input_per_audio_second, 0) AS r_second,
    s_in, a_in - s_in AS d_in,
    s_out, a_out - s_out AS d_out,
    s_cache_read, a_cache_read - s_cache_read AS d_cache_read,
    s_cache_write, a_cache_write - s_cache_write AS d_cache_write,
    s_cache_write_1h, a_cache_write_1h - s_cache_write_1h AS d_cache_write_1h,
    s_reasoning, a_reasoning - s_reasoning AS d_reasoning,
    s_audio_in, a_audio_in - s_audio_in AS d_audio_in,
    s_audio_out, a_audio_out - s_audio_out AS d_audio_out,
    sb_in, ab_in - sb_in AS db_in,
    sb_out, ab_out - sb_out AS db_out,
    sb_cache_read, ab_cache_read - sb_cache_read AS db_cache_read,
    sb_cache_write, ab_cache_write - sb_cache_write AS db_cache_write,
    -- Batch bills the 1-hour write tier, reasoning and audio at the batch write / output /
    -- input rate.
    sb_cache_write AS sb_cache_write_1h, ab_cache_write - sb_cache_write AS db_cache_write_1h,
    sb_out AS sb_reasoning, ab_out - sb_out AS db_reasoning,
    sb_in AS sb_audio_in, ab_in - sb_in AS db_audio_in,
    sb_out AS sb_audio_out, ab_out - sb_out AS db_audio_out
FROM batched;

-- override_rates: price_overrides with every rate component resolved (o_X) and its batch
--   rate (ob_X: half), in USD per token; plus override_id, model, provider, valid_from,
--   valid_to, per_image, per_second.
CREATE OR REPLACE VIEW override_rates AS
WITH resolved AS (
    SELECT
        row_number() OVER () AS override_id,
        model, provider, valid_from, valid_to, per_image, per_second,
        input AS o_in, output AS o_out,
        COALESCE(cache_read, input) AS o_cache_read,
        COALESCE(cache_write, input) AS o_cache_write,
        COALESCE(cache_write_1h, cache_write, input) AS o_cache_write_1h,
        COALESCE(reasoning, output) AS o_reasoning,
        input AS o_audio_in, output AS o_audio_out
    FROM price_overrides
)
SELECT
    *,
    o_in / 2 AS ob_in,
    o_out / 2 AS ob_out,
    o_cache_read / 2 AS ob_cache_read,
    o_cache_write / 2 AS ob_cache_write,
    o_cache_write / 2 AS ob_cache_write_1h,
    o_out / 2 AS ob_reasoning,
    o_in / 2 AS ob_audio_in,
    o_out / 2 AS ob_audio_out
FROM resolved;

-- token_cost: USD for one call's token counts at the given per-token rates.
CREATE OR REPLACE MACRO token_cost(
    uncached, audio_in, cache_read, cache_write_5m, cache_write_1h, text_out, audio_out,
    reasoning, r_in, r_audio_in, r_cache_read, r_cache_write, r_cache_write_1h, r_out,
    r_audio_out, r_reasoning
) AS
    uncached * r_in + audio_in * r_audio_in + cache_read * r_cache_read
    + cache_write_5m * r_cache_write + cache_write_1h * r_cache_write_1h
    + text_out * r_out + audio_out * r_audio_out + reasoning * r_reasoning;
