-- daily_usage / weekly_usage / monthly_usage: UTC rollups by provider, model and team,
--   all three from the table macro usage_rollup(unit) ('day', 'week' or 'month').
-- Answers: the trend of calls, tokens, cost and savings over time. (For other dimensions
--   or a local time zone, `llmstats report --by day,DIM --tz ZONE` groups on the fly.)
-- Columns: period (DATE: the day, the Monday of the week, the first of the month),
--   provider, model, team_id, calls, failures, input_tokens, output_tokens,
--   cache_read_tokens, cache_write_tokens, cost_usd, reported_cost_usd, savings_usd.
-- Costs are priced per group of summed token counts (price_groups), which equals the sum
--   of event_costs at a fraction of the work.
CREATE OR REPLACE MACRO usage_rollup(unit) AS TABLE
WITH basis AS (
    SELECT
        CAST(date_trunc(unit, date) AS DATE) AS period, provider, model, team_id,
        pair_id, rate_id, long_context, uplift, image_rate, image_priced_by, bill_kind, is_batch,
        is_proxy_hit, override_id,
        count(*) AS calls,
        count(*) FILTER (WHERE status = 'failure') AS failures,
        sum(input_tokens) AS input_tokens,
        sum(output_tokens) AS output_tokens,
        sum(cache_read_tokens) AS cache_read_tokens,
        sum(cache_write_tokens) AS cache_write_tokens,
        sum(reported_cost_usd) AS reported_cost_usd,
        sum(t_uncached) AS t_uncached, sum(t_audio_in) AS t_audio_in,
        sum(t_cache_read) AS t_cache_read, sum(t_cache_write_5m) AS t_cache_write_5m,
        sum(t_cache_write_1h) AS t_cache_write_1h, sum(t_reasoning) AS t_reasoning,
        sum(t_audio_out) AS t_audio_out, sum(t_text_out) AS t_text_out,
        sum(image_units) AS image_units, sum(audio_units) AS audio_units,
        sum(query_units) AS query_units, sum(t_image_out) AS t_image_out,
        sum(image_units_untokened) AS image_units_untokened,
        sum(audio_units_untokened) AS audio_units_untokened,
        sum(wall_seconds) AS wall_seconds, sum(char_units) AS char_units
    FROM cost_basis
    GROUP BY ALL
)
SELECT
    period, provider, model, team_id,
    CAST(sum(calls) AS BIGINT) AS calls,
    CAST(sum(failures) AS BIGINT) AS failures,
    CAST(sum(input_tokens) AS BIGINT) AS input_tokens,
    CAST(sum(output_tokens) AS BIGINT) AS output_tokens,
    CAST(sum(cache_read_tokens) AS BIGINT) AS cache_read_tokens,
    CAST(sum(cache_write_tokens) AS BIGINT) AS cache_write_tokens,
    sum(cost_usd) AS cost_usd,
    sum(reported_cost_usd) AS reported_cost_usd,
    sum(savings_usd) AS savings_usd
FROM price_groups('basis')
GROUP BY period, provider, model, team_id;

CREATE OR REPLACE VIEW daily_usage AS SELECT * FROM usage_rollup('day');
CREATE OR REPLACE VIEW weekly_usage AS SELECT * FROM usage_rollup('week');
CREATE OR REPLACE VIEW monthly_usage AS SELECT * FROM usage_rollup('month');
