-- what_if(target): the same traffic priced on another model.
-- Answers: what would these calls have cost on catalog model `target` (a LiteLLM
--   price-map key, e.g. 'gpt-4o-mini')? Token counts are kept as they were (a different
--   model would tokenize differently: treat the result as an estimate).
-- Usage: SELECT * FROM what_if('gpt-4o-mini') [WHERE date >= ...]
-- Columns: every event_costs column, plus target_model and what_if_cost_usd (list
--   rates of the target, its long-context tier included; prompt-cache reads and writes
--   at the target's cache rates).
CREATE OR REPLACE MACRO what_if(target) AS TABLE
WITH shaped AS (
    SELECT
        ec.*,
        t.key AS target_model,
        t.threshold IS NOT NULL AND COALESCE(ec.input_tokens, 0) > t.threshold AS w_above,
        t.input AS w_input, t.output AS w_output, t.cache_read AS w_cache_read,
        t.cache_write AS w_cache_write, t.input_above AS w_input_above,
        t.output_above AS w_output_above, t.cache_read_above AS w_cache_read_above,
        t.cache_write_above AS w_cache_write_above
    FROM event_costs AS ec
    CROSS JOIN (SELECT * FROM price_catalog WHERE key = target) AS t
),
rated AS (
    SELECT
        *,
        CASE WHEN w_above THEN COALESCE(w_input_above, w_input, 0) ELSE COALESCE(w_input, 0) END AS w_in,
        CASE WHEN w_above THEN COALESCE(w_output_above, w_output, 0) ELSE COALESCE(w_output, 0) END AS w_out
    FROM shaped
)
SELECT
    * EXCLUDE (w_above, w_input, w_output, w_cache_read, w_cache_write, w_input_above,
               w_output_above, w_cache_read_above, w_cache_write_above, w_in, w_out),
    CASE WHEN COALESCE(proxy_cache_hit, FALSE) THEN 0.0 ELSE
        GREATEST(COALESCE(input_tokens, 0) - COALESCE(cache_read_tokens, 0)
                 - COALESCE(cache_write_tokens, 0), 0) * w_in
        + COALESCE(cache_read_tokens, 0)
            * COALESCE(CASE WHEN w_above THEN w_cache_read_above END, w_cache_read, w_in)
        + COALESCE(cache_write_tokens, 0)
            * COALESCE(CASE WHEN w_above THEN w_cache_write_above END, w_cache_write, w_in)
        + COALESCE(output_tokens, 0) * w_out
    END AS what_if_cost_usd
FROM rated;
