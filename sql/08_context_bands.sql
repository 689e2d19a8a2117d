-- How full the input window was on each call, defined once for the `context_usage` view
-- (09_context_usage.sql, which describes the columns and bands), `report context` over
-- the events, and the priced copy, which stores each call's band code and window
-- (rollups/spec.py: reading two small columns of 10 M calls is cheaper than joining the
-- catalog, comparing strings and banding them at every report). Reads no events itself,
-- so lean connections define it. Defines the macros context_exceeded (the call failed
-- on the window), context_band_code (the band as a number), context_usage_pct (the share
-- of the window used), context_band_name (the number as the band's name), and the table
-- macros context_coded (a relation's calls with their band code and window) and
-- context_bands (the rows in a band, with its name and the share of the window used).

-- The call failed because the prompt did not fit: context_length_exceeded, reported by
-- the provider or derived from LiteLLM's ContextWindowExceededError.
CREATE OR REPLACE MACRO context_exceeded(status, error_code, error_class) AS COALESCE(
    status = 'failure'
    AND (error_code = 'context_length_exceeded' OR error_class = 'ContextWindowExceededError'),
    FALSE
);

-- The band of a call as a number: 0 OK, 1 LOW, 2 MEDIUM, 3 HIGH, 4 CRITICAL, 5 EXCEEDED,
-- 6 UNKNOWN; NULL for a call that says nothing about the window (not chat / responses;
-- a failure that reported no input tokens, or 0 as files before schema version 2 stored
-- it; kept only where the condition is TRUE, not NULL, as a WHERE keeps rows).
CREATE OR REPLACE MACRO context_band_code(call_type, status, exceeded, context_window, input_tokens) AS
    CASE
        WHEN NOT COALESCE(call_type IN ('chat', 'responses'), FALSE) THEN NULL
        WHEN NOT COALESCE(exceeded OR (input_tokens IS NOT NULL
                                       AND NOT (status = 'failure' AND input_tokens = 0)), FALSE)
            THEN NULL
        WHEN exceeded THEN 5
        WHEN context_window IS NULL OR context_window <= 0 THEN 6
        WHEN input_tokens < 0.50 * context_window THEN 0
        WHEN input_tokens < 0.70 * context_window THEN 1
        WHEN input_tokens < 0.85 * context_window THEN 2
        WHEN input_tokens < 0.95 * context_window THEN 3
        ELSE 4
    END;

-- 100 * input_tokens / context_window for a call in bands 0-4; NULL for EXCEEDED and
-- UNKNOWN calls.
CREATE OR REPLACE MACRO context_usage_pct(context_band, context_window, input_tokens) AS
    CASE WHEN context_band < 5 THEN 100.0 * input_tokens / context_window END;

CREATE OR REPLACE MACRO context_band_name(context_band) AS
    ['OK', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'EXCEEDED', 'UNKNOWN'][context_band + 1];

-- context_coded(tbl): every row of `tbl` (calls with provider, model, call_type, status,
--   error_code, error_class, max_input_tokens, input_tokens) with its `context_window`
--   (max_input_tokens as captured, else the catalog's), `exceeded` and `context_band`
--   (the code above; NULL for calls outside the bands).
CREATE OR REPLACE MACRO context_coded(tbl) AS TABLE
SELECT
    *,
    context_band_code(call_type, status, exceeded, context_window, input_tokens) AS context_band
FROM (
    SELECT
        e.*,
        COALESCE(NULLIF(e.max_input_tokens, 0), pr.context_window) AS context_window,
        context_exceeded(e.status, e.error_code, e.error_class) AS exceeded
    FROM query_table(tbl) AS e
    LEFT JOIN pair_rates AS pr
        ON pr.provider IS NOT DISTINCT FROM e.provider AND pr.model IS NOT DISTINCT FROM e.model
);

-- context_bands(tbl): the rows of `tbl` in a band, each with its `context_window`,
--   `exceeded`, `usage_pct` and `band` (the view context_usage over the events).
CREATE OR REPLACE MACRO context_bands(tbl) AS TABLE
SELECT
    * EXCLUDE (context_band),
    context_usage_pct(context_band, context_window, input_tokens) AS usage_pct,
    context_band_name(context_band) AS band
FROM context_coded(tbl)
-- The first condition is implied by the second; it is the one DuckDB can push to the scan.
WHERE call_type IN ('chat', 'responses') AND context_band IS NOT NULL;
