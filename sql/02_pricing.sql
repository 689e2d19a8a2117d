-- pricing: rates for every (provider, model) seen in events, and the cost macro.
-- Answers: which catalog entry prices a model, and at what rates.
-- Tables it reads (registered by llmstats.analytics.connection):
--   price_catalog   one row per LiteLLM price-map key, rates in USD per token/image/second
--   price_overrides the data dir's pricing/overrides.toml, rates in USD per token
-- default_rates columns: input, output (USD per token) — the conservative rate for models
--   no catalog entry or override prices: $3 / $15 per million tokens in / out.
-- model_prices columns: provider, model, catalog_key (NULL: not in the catalog).
--   Matching follows LiteLLM's map: `provider/model` first, then `model` under the same
--   provider, then `model` under any provider.
CREATE OR REPLACE VIEW default_rates AS
SELECT 3e-6 AS input, 15e-6 AS output;

CREATE OR REPLACE VIEW model_prices AS
WITH pairs AS (
    SELECT DISTINCT provider, model FROM events
)
SELECT
    p.provider,
    p.model,
    COALESCE(
        ANY_VALUE(c1.key),
        ANY_VALUE(c2.key) FILTER (WHERE starts_with(c2.provider, p.provider)),
        MIN(c2.key)
    ) AS catalog_key
FROM pairs AS p
LEFT JOIN price_catalog AS c1 ON c1.key = p.provider || '/' || p.model
LEFT JOIN price_catalog AS c2 ON c2.key = p.model
GROUP BY p.provider, p.model;

-- token_cost: USD for one call's token counts at the given per-token rates.
CREATE OR REPLACE MACRO token_cost(
    uncached, audio_in, cache_read, cache_write_5m, cache_write_1h, text_out, audio_out,
    reasoning, r_in, r_audio_in, r_cache_read, r_cache_write, r_cache_write_1h, r_out,
    r_audio_out, r_reasoning
) AS
    uncached * r_in + audio_in * r_audio_in + cache_read * r_cache_read
    + cache_write_5m * r_cache_write + cache_write_1h * r_cache_write_1h
    + text_out * r_out + audio_out * r_audio_out + reasoning * r_reasoning;
