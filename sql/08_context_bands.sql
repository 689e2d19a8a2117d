-- context_bands(tbl): the rows of `tbl` (calls with provider, model, call_type, status,
--   error_code, error_class, max_input_tokens, input_tokens) that say how full the input
--   window was, each with its `context_window`, `exceeded`, `usage_pct` and `band`
--   (the columns and bands are described in 09_context_usage.sql). A macro over any
--   relation, so that `report context` reads the priced copy's rows with the same bands
--   as the events' view; it reads no events itself, so lean connections define it.
CREATE OR REPLACE MACRO context_bands(tbl) AS TABLE
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
    FROM query_table(tbl) AS e
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
