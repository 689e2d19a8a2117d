-- latency: timing of successful calls.
-- Answers: how fast are providers and models end to end, to the first token, and in
--   output tokens per second after the first token.
-- Columns: every `events` column (latency_ms, ttft_ms for streams, litellm_overhead_ms,
--   ...), plus output_tokens_per_second (output tokens over the time after the first
--   token; NULL when that time is not positive). Proxy-cache hits are left out.
CREATE OR REPLACE VIEW latency AS
SELECT
    *,
    output_tokens_per_second(latency_ms, ttft_ms, output_tokens) AS output_tokens_per_second
FROM events
WHERE status = 'success' AND NOT COALESCE(proxy_cache_hit, FALSE);
