-- context_usage: how full the model's context window was on each call.
-- Answers: who runs close to the context limit (and will soon hit context_length_exceeded).
-- Columns: every `events` column of chat / responses calls with input tokens, plus
--   context_window (max_input_tokens as captured, else the catalog's), usage_pct
--   (100 * input_tokens / context_window) and band.
-- Bands (share of the window used): OK < 50 %, LOW 50-70 %, MEDIUM 70-85 %,
--   HIGH 85-95 %, CRITICAL >= 95 %; UNKNOWN when the window size is not known.
CREATE OR REPLACE VIEW context_usage AS
WITH sized AS (
    SELECT
        e.*,
        COALESCE(NULLIF(e.max_input_tokens, 0), pr.context_window) AS context_window
    FROM events AS e
    LEFT JOIN pair_rates AS pr
        ON pr.provider IS NOT DISTINCT FROM e.provider AND pr.model IS NOT DISTINCT FROM e.model
    WHERE e.call_type IN ('chat', 'responses') AND e.input_tokens IS NOT NULL
)
SELECT
    *,
    CASE WHEN context_window > 0 THEN 100.0 * input_tokens / context_window END AS usage_pct,
    CASE
        WHEN context_window IS NULL OR context_window <= 0 THEN 'UNKNOWN'
        WHEN input_tokens < 0.50 * context_window THEN 'OK'
        WHEN input_tokens < 0.70 * context_window THEN 'LOW'
        WHEN input_tokens < 0.85 * context_window THEN 'MEDIUM'
        WHEN input_tokens < 0.95 * context_window THEN 'HIGH'
        ELSE 'CRITICAL'
    END AS band
FROM sized;
