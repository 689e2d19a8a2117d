-- measures: per-call figures that reports take quantiles of, and the log-bucket sketch
--   that holds their distribution.
-- Answers: how fast a call produced output, which sketch bucket a value falls in, and
--   which value a bucket stands for.
-- Columns: none; macros only:
--   output_tokens_per_second(latency_ms, ttft_ms, output_tokens)  output tokens over the
--       time after the first token; NULL when that time or the output is not positive
--   sketch_bucket(x)  INTEGER bucket of x: k + 65536 for x > 0, where k = ceil(ln x / ln γ)
--       (so x lies in (γ^(k-1), γ^k]); the negation for x < 0; 0 for x = 0; NULL for
--       NULL, NaN and ±infinity. Buckets sort like the values they hold.
--   sketch_value(b)   the value bucket b stands for: 2γ^k / (γ + 1), within α of every
--       value in the bucket (relative), with α = 1 % and γ = (1 + α) / (1 − α) = 1.01 / 0.99.
-- Counts per bucket add up across files, days and groups, so rollups store them and any
--   grouping merges them exactly; a quantile read from merged counts (llmstats.analytics
--   .quantiles) is within 1 % of the exact interpolated quantile (docs/analytics.md).
CREATE OR REPLACE MACRO output_tokens_per_second(latency_ms, ttft_ms, output_tokens) AS
    CASE
        WHEN latency_ms - COALESCE(ttft_ms, 0) > 0 AND output_tokens > 0
            THEN output_tokens / ((latency_ms - COALESCE(ttft_ms, 0)) / 1000.0)
    END;

CREATE OR REPLACE MACRO sketch_bucket(x) AS
    CASE
        WHEN NOT isfinite(x) THEN NULL
        WHEN x > 0 THEN CAST(ceil(ln(x) / ln(1.01 / 0.99)) AS INTEGER) + 65536
        WHEN x < 0 THEN -(CAST(ceil(ln(-x) / ln(1.01 / 0.99)) AS INTEGER) + 65536)
        WHEN x = 0 THEN 0
    END;

CREATE OR REPLACE MACRO sketch_value(b) AS
    CASE
        WHEN b > 0 THEN 2 * pow(1.01 / 0.99, b - 65536) / (1.01 / 0.99 + 1)
        WHEN b < 0 THEN -2 * pow(1.01 / 0.99, -b - 65536) / (1.01 / 0.99 + 1)
        WHEN b = 0 THEN 0.0
    END;
