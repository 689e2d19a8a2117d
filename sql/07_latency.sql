-- latency: timing of successful calls.
-- Answers: how fast are providers and models end to end, to the first token, and in
--   output tokens per second after the first token.
-- Columns: event_id, ts, date, provider, model, deployment_id, call_type, stream,
--   latency_ms, ttft_ms (streams only), litellm_overhead_ms, output_tokens,
--   output_tokens_per_second (NULL when the generation time is not positive).
CREATE OR REPLACE VIEW latency AS
SELECT
    event_id, ts, date, provider, model, deployment_id, call_type, stream, latency_ms,
    ttft_ms, litellm_overhead_ms, output_tokens,
    CASE
        WHEN latency_ms - COALESCE(ttft_ms, 0) > 0 AND output_tokens > 0
            THEN output_tokens / ((latency_ms - COALESCE(ttft_ms, 0)) / 1000.0)
    END AS output_tokens_per_second
FROM events
WHERE status = 'success' AND NOT COALESCE(proxy_cache_hit, FALSE);
