-- errors: failed call attempts, with what is known about why (never free text).
-- Answers: which providers / models / teams fail, how (class, provider code, HTTP status).
-- Columns: event_id, trace_id, ts, date, provider, model, model_group, deployment_id,
--   api_base_host, team_id, key_alias, call_type, error_class, error_code, http_status,
--   latency_ms, retries, fallbacks.
CREATE OR REPLACE VIEW errors AS
SELECT
    event_id, trace_id, ts, date, provider, model, model_group, deployment_id,
    api_base_host, team_id, key_alias, call_type, error_class, error_code, http_status,
    latency_ms, retries, fallbacks
FROM events
WHERE status = 'failure';
