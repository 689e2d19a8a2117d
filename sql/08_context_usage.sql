-- context_usage: how full the model's context window was on each call.
-- Answers: who runs close to the context limit (and will soon hit context_length_exceeded).
-- Columns: event_id, ts, date, provider, model, team_id, key_alias, input_tokens,
--   max_input_tokens (captured, else the catalog's), usage_pct (0-100+), band.
-- Bands (share of the window used): OK < 50 %, LOW 50-70 %, MEDIUM 70-85 %,
--   HIGH 85-95 %, CRITICAL >= 95 %; UNKNOWN when the window size is not known.
CREATE OR REPLACE VIEW context_usage AS
WITH sized AS (
    SELECT
        e.event_id, e.ts, e.date, e.provider, e.model, e.team_id, e.key_alias,
        e.input_tokens,
        COALESCE(NULLIF(e.max_input_tokens, 0), c.max_input_tokens) AS max_input_tokens
    FROM events AS e
    LEFT JOIN model_prices AS mp
        ON mp.provider IS NOT DISTINCT FROM e.provider AND mp.model IS NOT DISTINCT FROM e.model
    LEFT JOIN price_catalog AS c ON c.key = mp.catalog_key
    WHERE e.call_type IN ('chat', 'responses') AND e.input_tokens IS NOT NULL
)
SELECT
    *,
    CASE WHEN max_input_tokens > 0 THEN 100.0 * input_tokens / max_input_tokens END AS usage_pct,
    CASE
        WHEN max_input_tokens IS NULL OR max_input_tokens <= 0 THEN 'UNKNOWN'
        WHEN input_tokens < 0.50 * max_input_tokens THEN 'OK'
        WHEN input_tokens < 0.70 * max_input_tokens THEN 'LOW'
        WHEN input_tokens < 0.85 * max_input_tokens THEN 'MEDIUM'
        WHEN input_tokens < 0.95 * max_input_tokens THEN 'HIGH'
        ELSE 'CRITICAL'
    END AS band
FROM sized;
