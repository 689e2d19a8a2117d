-- context_usage: how full the model's context window was on each call.
-- Answers: who runs close to the context limit (and will soon hit context_length_exceeded),
--   and whose calls already failed because the prompt did not fit.
-- Columns: every `events` column of chat / responses calls that reported input tokens or
--   failed on context length, plus context_window (max_input_tokens as captured, else the
--   catalog's), exceeded (the call failed with context_length_exceeded, reported by the
--   provider or derived from LiteLLM's ContextWindowExceededError), usage_pct
--   (100 * input_tokens / context_window; NULL for exceeded calls) and band.
-- Bands (share of the window used): OK < 50 %, LOW 50-70 %, MEDIUM 70-85 %,
--   HIGH 85-95 %, CRITICAL >= 95 %; EXCEEDED for a call that failed on context length;
--   UNKNOWN when the window size is not known.
-- A failure that reported no input tokens says nothing about the window and is left out:
--   NULL since schema version 2; files written before stored such a failure as 0 tokens,
--   which is read the same way (a failure reporting 0 input tokens), not as an OK call.
CREATE OR REPLACE VIEW context_usage AS
WITH sized AS (
    SELECT
        e.*,
        COALESCE(NULLIF(e.max_input_tokens, 0), pr.context_window) AS context_window,
        COALESCE(
            e.status = 'failure'
            AND (e.error_code = 'context_length_exceeded'
                 OR e.error_class = 'ContextWindowExceededError'),
            FALSE
        ) AS exceeded
    FROM events AS e
    LEFT JOIN pair_rates AS pr
        ON pr.provider IS NOT DISTINCT FROM e.provider AND pr.model IS NOT DISTINCT FROM e.model
    WHERE e.call_type IN ('chat', 'responses')
)
SELECT
    *,
    CASE WHEN NOT exceeded AND context_window > 0
        THEN 100.0 * input_tokens / context_window END AS usage_pct,
    CASE
        WHEN exceeded THEN 'EXCEEDED'
        WHEN context_window IS NULL OR context_window <= 0 THEN 'UNKNOWN'
        WHEN input_tokens < 0.50 * context_window THEN 'OK'
        WHEN input_tokens < 0.70 * context_window THEN 'LOW'
        WHEN input_tokens < 0.85 * context_window THEN 'MEDIUM'
        WHEN input_tokens < 0.95 * context_window THEN 'HIGH'
        ELSE 'CRITICAL'
    END AS band
FROM sized
WHERE exceeded
    OR (input_tokens IS NOT NULL AND NOT (status = 'failure' AND input_tokens = 0));
