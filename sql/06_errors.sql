-- errors: failed call attempts, with what is known about why (never free text).
-- Answers: which providers / models / teams fail, how (class, provider code, HTTP status).
-- Columns: event_id, trace_id, ts, date, provider, model, model_group, deployment_id,
--   api_base_host, team_id, key_alias, call_type, route, stream, error_class, error_code,
--   error_code_source ('provider', or 'derived' from LiteLLM's exception class where the
--   provider's code was lost; NULL without a code), http_status, latency_ms, retries,
--   fallbacks (LiteLLM's own), client_retry_count (the client SDK's retry number:
--   0 a first attempt, n its n-th retry; NULL when the client did not say).
CREATE OR REPLACE VIEW errors AS
SELECT
    event_id, trace_id, ts, date, provider, model, model_group, deployment_id,
    api_base_host, team_id, key_alias, call_type, route, stream, error_class, error_code,
    error_code_source, http_status, latency_ms, retries, fallbacks, client_retry_count
FROM events
WHERE status = 'failure';
