-- event_costs: every event with what it cost, by component, and how it was priced.
-- Answers: what did each call cost (ours vs LiteLLM's), and what did caching save.
-- Token convention: input_tokens INCLUDES cache reads and cache writes (OTel GenAI);
--   cache_read_tokens / cache_write_tokens say how many; cache_write_1h_tokens is the
--   part of cache_write_tokens written with the 1-hour TTL.
-- Columns: every `events` column, plus
--   priced_by            override | catalog | catalog_zero (a catalog price of $0) | default
--   catalog_key          the LiteLLM price-map key used (NULL for override / default)
--   long_context         the prompt crossed the model's long-context price threshold
--   input_cost_usd       uncached input tokens (text and audio)
--   cache_read_cost_usd  prompt-cache reads
--   cache_write_cost_usd prompt-cache writes (5-minute and 1-hour tiers)
--   output_cost_usd      output tokens other than reasoning
--   reasoning_cost_usd   reasoning tokens (at the reasoning rate where one is priced)
--   image_cost_usd       generated images (per image)
--   audio_cost_usd       audio input priced per second (transcription)
--   list_cost_usd        the call at standard rates: no batch discount, no proxy cache
--   cost_usd             what the call cost: batch rates for batch calls, 0 for a proxy
--                        cache hit (no provider call was made)
--   prompt_cache_savings_usd  cache reads saved vs uncached input, net of the write premium
--   proxy_cache_savings_usd   list cost of a call served from LiteLLM's response cache
--   batch_savings_usd         list cost minus batch cost
--   savings_usd          the three savings summed

-- cost_basis: every `events` column plus what pricing needs, one row per event, no rates
--   yet: pair_id (the event's (provider, model) in pair_rates), override_id (the matching
--   override, NULL if none), priced_by (override | catalog | catalog_zero | default),
--   long_context, is_batch, is_proxy_hit, and the token counts each rate applies to (t_uncached, t_audio_in, t_cache_read, t_cache_write_5m, t_cache_write_1h,
--   t_text_out, t_audio_out, t_reasoning; image_units, audio_units).
--   Cost is linear in these counts, so any grouping of this view that keeps (pair_id,
--   long_context, is_batch, is_proxy_hit, override_id) can be summed first and
--   priced after with price_groups(): reports price a few thousand groups, not every event.
CREATE OR REPLACE VIEW cost_basis AS
WITH joined AS (
    SELECT
        e.*,
        pr.pair_id,
        o.override_id,
        CASE WHEN o.override_id IS NOT NULL THEN 'override' ELSE COALESCE(pr.priced_by, 'default') END
            AS priced_by,
        o.override_id IS NULL AND pr.threshold IS NOT NULL AND (
            COALESCE(e.input_tokens, 0) > pr.threshold
            OR (pr.threshold_inclusive AND COALESCE(e.input_tokens, 0) = pr.threshold)
        ) AS long_context,
        COALESCE(e.batch, FALSE) AS is_batch,
        COALESCE(e.proxy_cache_hit, FALSE) AS is_proxy_hit,
        COALESCE(e.cache_write_tokens, 0) AS t_cache_write,
        LEAST(COALESCE(e.cache_write_1h_tokens, 0), COALESCE(e.cache_write_tokens, 0)) AS t_cache_write_1h,
        COALESCE(e.reasoning_tokens, 0) AS t_reasoning,
        COALESCE(e.audio_output_tokens, 0) AS t_audio_out
    FROM events AS e
    LEFT JOIN pair_rates AS pr
        ON pr.provider IS NOT DISTINCT FROM e.provider AND pr.model IS NOT DISTINCT FROM e.model
    LEFT JOIN override_rates AS o
        ON o.model = e.model
        AND (o.provider IS NULL OR o.provider = e.provider)
        AND e.ts >= o.valid_from AND e.ts < o.valid_to
)
SELECT
    * EXCLUDE (t_cache_write),
    GREATEST(COALESCE(input_tokens, 0) - COALESCE(cache_read_tokens, 0) - t_cache_write
             - COALESCE(audio_input_tokens, 0), 0) AS t_uncached,
    COALESCE(audio_input_tokens, 0) AS t_audio_in,
    COALESCE(cache_read_tokens, 0) AS t_cache_read,
    t_cache_write - t_cache_write_1h AS t_cache_write_5m,
    GREATEST(COALESCE(output_tokens, 0) - t_reasoning - t_audio_out, 0) AS t_text_out,
    CASE WHEN call_type = 'image' THEN COALESCE(image_count, 0) ELSE 0 END AS image_units,
    COALESCE(audio_seconds, 0) AS audio_units
FROM joined;

-- price_groups(tbl): the rows of `tbl` (cost_basis itself, or any grouping of it that
--   keeps pair_id, long_context, is_batch, is_proxy_hit, override_id and sums the
--   t_* / *_units counts) with their cost columns, as in event_costs below.
CREATE OR REPLACE MACRO price_groups(tbl) AS TABLE
WITH joined AS (
    SELECT
        b.*,
        -- priced_by follows from the pair and the override: recomputed here, so groups
        -- need not carry it (a dimension named priced_by is dropped below and replaced
        -- by the same value).
        CASE WHEN o.override_id IS NOT NULL THEN 'override' ELSE COALESCE(pr.priced_by, 'default') END
            AS priced_by,
        pr.catalog_key AS pr_catalog_key,
        CAST(b.long_context AS DOUBLE) AS lc,
        CAST(b.is_batch AS DOUBLE) AS bt,
        COALESCE(o.per_image, pr.r_image, 0) AS r_image,
        COALESCE(o.per_second, pr.r_second, 0) AS r_second,
        pr.s_in, pr.d_in, pr.sb_in, pr.db_in, pr.s_out, pr.d_out, pr.sb_out,
        pr.db_out, pr.s_cache_read, pr.d_cache_read, pr.sb_cache_read,
        pr.db_cache_read, pr.s_cache_write, pr.d_cache_write, pr.sb_cache_write,
        pr.db_cache_write, pr.s_cache_write_1h, pr.d_cache_write_1h,
        pr.sb_cache_write_1h, pr.db_cache_write_1h, pr.s_reasoning, pr.d_reasoning,
        pr.sb_reasoning, pr.db_reasoning, pr.s_audio_in, pr.d_audio_in,
        pr.sb_audio_in, pr.db_audio_in, pr.s_audio_out, pr.d_audio_out,
        pr.sb_audio_out, pr.db_audio_out,
        o.o_in, o.ob_in, o.o_out, o.ob_out, o.o_cache_read, o.ob_cache_read,
        o.o_cache_write, o.ob_cache_write, o.o_cache_write_1h, o.ob_cache_write_1h,
        o.o_reasoning, o.ob_reasoning, o.o_audio_in, o.ob_audio_in, o.o_audio_out,
        o.ob_audio_out
    FROM (SELECT COLUMNS(lambda c: c <> 'priced_by') FROM query_table(tbl)) AS b
    LEFT JOIN pair_rates AS pr ON pr.pair_id = b.pair_id
    LEFT JOIN override_rates AS o ON o.override_id = b.override_id
),
rates AS (
    SELECT
        *,
        -- r_X: the list rate (override, else standard or long-context: s + lc * d, plain
        -- arithmetic); rb_X: the batch rate.
        COALESCE(o_in, s_in + lc * d_in) AS r_in,
        COALESCE(ob_in, sb_in + lc * db_in) AS rb_in,
        COALESCE(o_out, s_out + lc * d_out) AS r_out,
        COALESCE(ob_out, sb_out + lc * db_out) AS rb_out,
        COALESCE(o_cache_read, s_cache_read + lc * d_cache_read) AS r_cache_read,
        COALESCE(ob_cache_read, sb_cache_read + lc * db_cache_read) AS rb_cache_read,
        COALESCE(o_cache_write, s_cache_write + lc * d_cache_write) AS r_cache_write,
        COALESCE(ob_cache_write, sb_cache_write + lc * db_cache_write) AS rb_cache_write,
        COALESCE(o_cache_write_1h, s_cache_write_1h + lc * d_cache_write_1h) AS r_cache_write_1h,
        COALESCE(ob_cache_write_1h, sb_cache_write_1h + lc * db_cache_write_1h) AS rb_cache_write_1h,
        COALESCE(o_reasoning, s_reasoning + lc * d_reasoning) AS r_reasoning,
        COALESCE(ob_reasoning, sb_reasoning + lc * db_reasoning) AS rb_reasoning,
        COALESCE(o_audio_in, s_audio_in + lc * d_audio_in) AS r_audio_in,
        COALESCE(ob_audio_in, sb_audio_in + lc * db_audio_in) AS rb_audio_in,
        COALESCE(o_audio_out, s_audio_out + lc * d_audio_out) AS r_audio_out,
        COALESCE(ob_audio_out, sb_audio_out + lc * db_audio_out) AS rb_audio_out,
        image_units * r_image AS image_cost_usd,
        audio_units * r_second AS audio_cost_usd
    FROM joined
),
billed AS (
    SELECT
        *,
        -- rr_X: what the call is billed at (the batch rate for batch calls).
        r_in + bt * (rb_in - r_in) AS rr_in,
        r_out + bt * (rb_out - r_out) AS rr_out,
        r_cache_read + bt * (rb_cache_read - r_cache_read) AS rr_cache_read,
        r_cache_write + bt * (rb_cache_write - r_cache_write) AS rr_cache_write,
        r_cache_write_1h + bt * (rb_cache_write_1h - r_cache_write_1h) AS rr_cache_write_1h,
        r_reasoning + bt * (rb_reasoning - r_reasoning) AS rr_reasoning,
        r_audio_in + bt * (rb_audio_in - r_audio_in) AS rr_audio_in,
        r_audio_out + bt * (rb_audio_out - r_audio_out) AS rr_audio_out,
        token_cost(t_uncached, t_audio_in, t_cache_read, t_cache_write_5m, t_cache_write_1h,
                   t_text_out, t_audio_out, t_reasoning, r_in, r_audio_in,
                   r_cache_read, r_cache_write, r_cache_write_1h, r_out,
                   r_audio_out, r_reasoning)
            + image_cost_usd + audio_cost_usd AS list_cost_usd
    FROM rates
),
priced AS (
    SELECT
        *,
        token_cost(t_uncached, t_audio_in, t_cache_read, t_cache_write_5m, t_cache_write_1h,
                   t_text_out, t_audio_out, t_reasoning, rr_in, rr_audio_in,
                   rr_cache_read, rr_cache_write, rr_cache_write_1h, rr_out,
                   rr_audio_out, rr_reasoning)
            + image_cost_usd + audio_cost_usd AS billed_cost_usd
    FROM billed
)
SELECT
    * EXCLUDE (
        pr_catalog_key, lc, bt, r_image, r_second, s_in, d_in, sb_in,
        db_in, o_in, ob_in, r_in, rb_in, rr_in, s_out, d_out, sb_out, db_out, o_out,
        ob_out, r_out, rb_out, rr_out, s_cache_read, d_cache_read, sb_cache_read,
        db_cache_read, o_cache_read, ob_cache_read, r_cache_read, rb_cache_read,
        rr_cache_read, s_cache_write, d_cache_write, sb_cache_write, db_cache_write,
        o_cache_write, ob_cache_write, r_cache_write, rb_cache_write, rr_cache_write,
        s_cache_write_1h, d_cache_write_1h, sb_cache_write_1h, db_cache_write_1h,
        o_cache_write_1h, ob_cache_write_1h, r_cache_write_1h, rb_cache_write_1h,
        rr_cache_write_1h, s_reasoning, d_reasoning, sb_reasoning, db_reasoning,
        o_reasoning, ob_reasoning, r_reasoning, rb_reasoning, rr_reasoning, s_audio_in,
        d_audio_in, sb_audio_in, db_audio_in, o_audio_in, ob_audio_in, r_audio_in,
        rb_audio_in, rr_audio_in, s_audio_out, d_audio_out, sb_audio_out, db_audio_out,
        o_audio_out, ob_audio_out, r_audio_out, rb_audio_out, rr_audio_out, t_uncached,
        t_audio_in, t_cache_read, t_cache_write_1h, t_cache_write_5m, t_reasoning,
        t_audio_out, t_text_out, image_units, audio_units, image_cost_usd,
        audio_cost_usd, billed_cost_usd
    ),
    CASE WHEN priced_by IN ('catalog', 'catalog_zero') THEN pr_catalog_key END AS catalog_key,
    t_uncached * rr_in + t_audio_in * rr_audio_in AS input_cost_usd,
    t_cache_read * rr_cache_read AS cache_read_cost_usd,
    t_cache_write_5m * rr_cache_write + t_cache_write_1h * rr_cache_write_1h AS cache_write_cost_usd,
    t_text_out * rr_out + t_audio_out * rr_audio_out AS output_cost_usd,
    t_reasoning * rr_reasoning AS reasoning_cost_usd,
    image_cost_usd,
    audio_cost_usd,
    CASE WHEN is_proxy_hit THEN 0.0 ELSE billed_cost_usd END AS cost_usd,
    CASE WHEN is_proxy_hit THEN 0.0 ELSE
        t_cache_read * (rr_in - rr_cache_read)
        - t_cache_write_5m * (rr_cache_write - rr_in)
        - t_cache_write_1h * (rr_cache_write_1h - rr_in)
    END AS prompt_cache_savings_usd,
    CASE WHEN is_proxy_hit THEN list_cost_usd ELSE 0.0 END AS proxy_cache_savings_usd,
    CASE WHEN is_batch AND NOT is_proxy_hit THEN list_cost_usd - billed_cost_usd ELSE 0.0 END
        AS batch_savings_usd,
    prompt_cache_savings_usd + proxy_cache_savings_usd + batch_savings_usd AS savings_usd
FROM priced;

-- event_costs (columns above): price_groups over cost_basis, one event per group.
CREATE OR REPLACE VIEW event_costs AS
SELECT * EXCLUDE (pair_id, override_id, is_batch, is_proxy_hit) FROM price_groups('cost_basis');
