-- savings: what caching and batching saved, one row per event that saved (or, for a
-- cache write never read back, cost) something.
-- Answers: how much did prompt caching, LiteLLM's response cache and batch discounts save,
--   per model / team / key / day (group this view as needed).
-- Columns: event_id, trace_id, ts, date, provider, model, team_id, team_alias, key_hash,
--   key_alias, user_id, cache_read_tokens, cache_write_tokens, proxy_cache_hit, batch,
--   list_cost_usd, cost_usd, prompt_cache_savings_usd (net of the cache-write premium,
--   so it can be negative), proxy_cache_savings_usd, batch_savings_usd, savings_usd.
CREATE OR REPLACE VIEW savings AS
SELECT
    event_id, trace_id, ts, date, provider, model, team_id, team_alias, key_hash, key_alias,
    user_id, cache_read_tokens, cache_write_tokens, proxy_cache_hit, batch,
    list_cost_usd, cost_usd, prompt_cache_savings_usd, proxy_cache_savings_usd,
    batch_savings_usd, savings_usd
FROM event_costs
WHERE savings_usd <> 0 OR prompt_cache_savings_usd <> 0;
