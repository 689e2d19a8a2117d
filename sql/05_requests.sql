-- requests: one row per client request (trace_id), folding its attempts together.
-- Answers: how many attempts did a request take, did retries or fallbacks rescue it, what
--   did the whole request cost.
-- Columns: trace_id (the event_id when a call had no trace id), started_at, ended_at,
--   date (UTC date of the first attempt), attempts, retries, fallbacks, first_model,
--   final_model, models (distinct, list), final_status, final_error_class, team_id,
--   key_alias, user_id, input_tokens, output_tokens, cost_usd, reported_cost_usd,
--   latency_ms (first start to last end), client_retry_count (the client SDK's retry
--   number of this request: 0 a first attempt, n its n-th retry; NULL when not said; a
--   client retry is a request of its own, with its own trace_id).
-- Sums of counts skip NULLs (a failure that reported nothing); a request none of whose
--   attempts reported a count has NULL there.
-- retries / fallbacks: the larger of what LiteLLM reported and what the attempts show
--   (extra attempts on the same model / switches to another model).
CREATE OR REPLACE VIEW requests AS
SELECT
    COALESCE(trace_id, event_id) AS trace_id,
    MIN(ts) AS started_at,
    MAX(end_ts) AS ended_at,
    MIN(date) AS date,
    COUNT(*) AS attempts,
    GREATEST(MAX(COALESCE(retries, 0)), COUNT(*) - COUNT(DISTINCT model)) AS retries,
    GREATEST(MAX(COALESCE(fallbacks, 0)), COUNT(DISTINCT model) - 1) AS fallbacks,
    ARG_MIN(model, ts) AS first_model,
    ARG_MAX(model, ts) AS final_model,
    LIST(DISTINCT model ORDER BY model) AS models,
    ARG_MAX(status, ts) AS final_status,
    ARG_MAX(error_class, ts) AS final_error_class,
    ANY_VALUE(team_id) AS team_id,
    ANY_VALUE(key_alias) AS key_alias,
    ANY_VALUE(user_id) AS user_id,
    SUM(input_tokens) AS input_tokens,
    SUM(output_tokens) AS output_tokens,
    SUM(cost_usd) AS cost_usd,
    SUM(reported_cost_usd) AS reported_cost_usd,
    date_diff('millisecond', MIN(ts), MAX(end_ts)) AS latency_ms,
    MAX(client_retry_count) AS client_retry_count
FROM event_costs
GROUP BY COALESCE(trace_id, event_id);
