-- daily_usage / weekly_usage / monthly_usage: UTC rollups by provider, model and team.
-- Answers: the trend of calls, tokens, cost and savings over time. (For other dimensions
--   or a local time zone, `llmstats report --by day,DIM --tz ZONE` groups on the fly.)
-- Columns: period (DATE: the day, the Monday of the week, the first of the month),
--   provider, model, team_id, calls, failures, input_tokens, output_tokens,
--   cache_read_tokens, cache_write_tokens, cost_usd, reported_cost_usd, savings_usd.
CREATE OR REPLACE MACRO usage_rollup(unit) AS TABLE
SELECT
    CAST(date_trunc(unit, ts AT TIME ZONE 'UTC') AS DATE) AS period,
    provider, model, team_id,
    COUNT(*) AS calls,
    COUNT(*) FILTER (WHERE status = 'failure') AS failures,
    SUM(input_tokens) AS input_tokens,
    SUM(output_tokens) AS output_tokens,
    SUM(cache_read_tokens) AS cache_read_tokens,
    SUM(cache_write_tokens) AS cache_write_tokens,
    SUM(cost_usd) AS cost_usd,
    SUM(reported_cost_usd) AS reported_cost_usd,
    SUM(savings_usd) AS savings_usd
FROM event_costs
GROUP BY ALL;

CREATE OR REPLACE VIEW daily_usage AS SELECT * FROM usage_rollup('day');
CREATE OR REPLACE VIEW weekly_usage AS SELECT * FROM usage_rollup('week');
CREATE OR REPLACE VIEW monthly_usage AS SELECT * FROM usage_rollup('month');
