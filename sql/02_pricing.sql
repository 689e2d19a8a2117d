-- pricing: the resolved rates of every (provider, model) seen in events, and the macros
--   that price rows of summed token counts (priced_basis, price_groups; token_cost).
-- Answers: which catalog entry prices a model, and at what rates.
-- Tables it reads (registered by llmstats.analytics.connection):
--   price_catalog   one row per LiteLLM price-map key, rates in USD per token/image/second
--   price_overrides the data dir's pricing/overrides.toml, rates in USD per token
--   event_models    the distinct (provider, model) pairs in the event files, numbered
--                   (pair_id): costs group on this small integer rather than two strings
-- default_rates columns: input, output (USD per token), per_image (USD per generated
--   image), per_second (USD per second of transcribed audio) — the conservative rates for
--   models no catalog entry or override prices: $3 / $15 per million tokens in / out,
--   $0.08 per image, $0.0001 per audio second (why these: docs/pricing.md).
-- model_prices columns: pair_id, provider, model, catalog_key (NULL: not in the catalog).
--   Matching follows LiteLLM's map: `provider/model` first, then `model` under the same
--   provider, then `model` under any provider.
-- pair_rates columns: pair_id, provider, model, catalog_key, priced_by (catalog | catalog_zero |
--   default), context_window, threshold, threshold_inclusive, r_image, r_second, r_query
--   (USD per image, audio second, rerank search unit), and per
--   rate component X in (in, out, cache_read, cache_write, cache_write_1h, reasoning,
--   audio_in, audio_out), in USD per token:
--     s_X   the standard rate          d_X   above the long-context threshold minus s_X
--     sb_X  the batch rate             db_X  the batch rate above the threshold minus sb_X
--   (deltas, so a call's rate is s_X + long_context * d_X: plain arithmetic per event.)
--   Fallbacks are LiteLLM's (generic_cost_per_token): a missing cache rate is the
--   (tiered) input rate, a missing 1-hour write rate the write rate, a missing reasoning
--   or audio rate the output / input rate. Batch rates: the catalog's *_batches rate,
--   else half the standard rate (LiteLLM's batch_cost_calculator); with a batch input
--   rate, cache reads/writes use their batch rates, else the batch input rate.
--   Resolved once per model, not once per event: pair_rates and override_rates are
--   tables, computed when the connection opens (every report reads them several times).
CREATE OR REPLACE VIEW default_rates AS
SELECT 3e-6 AS input, 15e-6 AS output, 0.08 AS per_image, 1e-4 AS per_second;

CREATE OR REPLACE VIEW model_prices AS
SELECT
    p.pair_id,
    p.provider,
    p.model,
    COALESCE(
        ANY_VALUE(c1.key),
        ANY_VALUE(c2.key) FILTER (WHERE starts_with(c2.provider, p.provider)),
        MIN(c2.key)
    ) AS catalog_key
FROM event_models AS p
LEFT JOIN price_catalog AS c1 ON c1.key = p.provider || '/' || p.model
LEFT JOIN price_catalog AS c2 ON c2.key = p.model
GROUP BY p.pair_id, p.provider, p.model;

CREATE OR REPLACE TABLE pair_rates AS
WITH base AS (
    SELECT
        mp.pair_id, mp.provider, mp.model, c.*,
        CASE WHEN c.key IS NULL THEN (SELECT input FROM default_rates)
             ELSE COALESCE(c.input, 0) END AS s_in,
        CASE WHEN c.key IS NULL THEN (SELECT output FROM default_rates)
             ELSE COALESCE(c.output, 0) END AS s_out
    FROM model_prices AS mp
    LEFT JOIN price_catalog AS c ON c.key = mp.catalog_key
),
standard AS (
    SELECT
        *,
        COALESCE(cache_read, s_in) AS s_cache_read,
        COALESCE(cache_write, s_in) AS s_cache_write,
        COALESCE(cache_write_1h, cache_write, s_in) AS s_cache_write_1h,
        COALESCE(reasoning, s_out) AS s_reasoning,
        COALESCE(audio_input, s_in) AS s_audio_in,
        COALESCE(audio_output, s_out) AS s_audio_out,
        COALESCE(input_above, s_in) AS a_in,
        COALESCE(output_above, s_out) AS a_out
    FROM base
),
tiers AS (
    SELECT
        *,
        COALESCE(cache_read_above, cache_read, a_in) AS a_cache_read,
        COALESCE(cache_write_above, cache_write, a_in) AS a_cache_write,
        COALESCE(cache_write_1h_above, cache_write_1h, cache_write_above, cache_write, a_in)
            AS a_cache_write_1h,
        COALESCE(reasoning, a_out) AS a_reasoning,
        COALESCE(audio_input, a_in) AS a_audio_in,
        COALESCE(audio_output, a_out) AS a_audio_out
    FROM standard
),
batched AS (
    SELECT
        *,
        COALESCE(input_batches, s_in / 2) AS sb_in,
        COALESCE(output_batches, s_out / 2) AS sb_out,
        COALESCE(input_batches, a_in / 2) AS ab_in,
        COALESCE(output_batches, a_out / 2) AS ab_out,
        CASE WHEN input_batches IS NOT NULL THEN COALESCE(cache_read_batches, input_batches)
             ELSE s_cache_read / 2 END AS sb_cache_read,
        CASE WHEN input_batches IS NOT NULL THEN COALESCE(cache_read_batches, input_batches)
             ELSE a_cache_read / 2 END AS ab_cache_read,
        CASE WHEN input_batches IS NOT NULL THEN COALESCE(cache_write_batches, input_batches)
             ELSE s_cache_write / 2 END AS sb_cache_write,
        CASE WHEN input_batches IS NOT NULL THEN COALESCE(cache_write_batches, input_batches)
             ELSE a_cache_write / 2 END AS ab_cache_write
    FROM tiers
)
SELECT
    pair_id, provider, model, key AS catalog_key,
    CASE WHEN key IS NULL THEN 'default' WHEN is_zero THEN 'catalog_zero' ELSE 'catalog' END
        AS priced_by,
    max_input_tokens AS context_window, threshold,
    COALESCE(threshold_inclusive, FALSE) AS threshold_inclusive,
    -- An unpriced image or transcription call bills no tokens: without a per-unit default
    -- it would be a silent $0.
    CASE WHEN key IS NULL THEN (SELECT per_image FROM default_rates)
         ELSE COALESCE(per_image, 0) END AS r_image,
    CASE WHEN key IS NULL THEN (SELECT per_second FROM default_rates)
         ELSE COALESCE(input_per_second, input_per_audio_second, 0) END AS r_second,
    COALESCE(per_query, 0) AS r_query,
    s_in, a_in - s_in AS d_in,
    s_out, a_out - s_out AS d_out,
    s_cache_read, a_cache_read - s_cache_read AS d_cache_read,
    s_cache_write, a_cache_write - s_cache_write AS d_cache_write,
    s_cache_write_1h, a_cache_write_1h - s_cache_write_1h AS d_cache_write_1h,
    s_reasoning, a_reasoning - s_reasoning AS d_reasoning,
    s_audio_in, a_audio_in - s_audio_in AS d_audio_in,
    s_audio_out, a_audio_out - s_audio_out AS d_audio_out,
    sb_in, ab_in - sb_in AS db_in,
    sb_out, ab_out - sb_out AS db_out,
    sb_cache_read, ab_cache_read - sb_cache_read AS db_cache_read,
    sb_cache_write, ab_cache_write - sb_cache_write AS db_cache_write,
    -- Batch bills the 1-hour write tier, reasoning and audio at the batch write / output /
    -- input rate.
    sb_cache_write AS sb_cache_write_1h, ab_cache_write - sb_cache_write AS db_cache_write_1h,
    sb_out AS sb_reasoning, ab_out - sb_out AS db_reasoning,
    sb_in AS sb_audio_in, ab_in - sb_in AS db_audio_in,
    sb_out AS sb_audio_out, ab_out - sb_out AS db_audio_out
FROM batched;

-- override_rates: price_overrides with every rate component resolved (o_X) and its batch
--   rate (ob_X: half), in USD per token; plus override_id, model, provider, valid_from,
--   valid_to, per_image, per_second.
CREATE OR REPLACE TABLE override_rates AS
WITH resolved AS (
    SELECT
        row_number() OVER () AS override_id,
        model, provider, valid_from, valid_to, per_image, per_second,
        input AS o_in, output AS o_out,
        COALESCE(cache_read, input) AS o_cache_read,
        COALESCE(cache_write, input) AS o_cache_write,
        COALESCE(cache_write_1h, cache_write, input) AS o_cache_write_1h,
        COALESCE(reasoning, output) AS o_reasoning,
        input AS o_audio_in, output AS o_audio_out
    FROM price_overrides
)
SELECT
    *,
    o_in / 2 AS ob_in,
    o_out / 2 AS ob_out,
    o_cache_read / 2 AS ob_cache_read,
    o_cache_write / 2 AS ob_cache_write,
    o_cache_write / 2 AS ob_cache_write_1h,
    o_out / 2 AS ob_reasoning,
    o_in / 2 AS ob_audio_in,
    o_out / 2 AS ob_audio_out
FROM resolved;

-- token_cost: USD for one call's token counts at the given per-token rates.
CREATE OR REPLACE MACRO token_cost(
    uncached, audio_in, cache_read, cache_write_5m, cache_write_1h, text_out, audio_out,
    reasoning, r_in, r_audio_in, r_cache_read, r_cache_write, r_cache_write_1h, r_out,
    r_audio_out, r_reasoning
) AS
    uncached * r_in + audio_in * r_audio_in + cache_read * r_cache_read
    + cache_write_5m * r_cache_write + cache_write_1h * r_cache_write_1h
    + text_out * r_out + audio_out * r_audio_out + reasoning * r_reasoning;

-- priced_basis(tbl): the rows of `tbl` (token_basis, or a rollup of it: any rows with
--   provider, model, ts, input_tokens_lo and input_tokens_hi) plus what
--   pricing needs, no rates yet: pair_id (the row's (provider, model) in pair_rates),
--   override_id (the matching override, NULL if none), priced_by (override | catalog |
--   catalog_zero | default) and long_context. For a row that sums several calls,
--   long_context is NULL when the calls fall on both sides of the model's threshold
--   (readers then use the events instead). Override windows start and end at UTC
--   midnight, so a rollup row of one day or hour is inside or outside each window.
--   Cost is linear in the t_* counts, so any grouping of these rows that keeps
--   (pair_id, long_context, is_batch, is_proxy_hit, override_id) can be summed first and
--   priced after with price_groups(): reports price a few thousand groups, not every event.
CREATE OR REPLACE MACRO priced_basis(tbl) AS TABLE
SELECT
    b.*,
    pr.pair_id,
    o.override_id,
    CASE WHEN o.override_id IS NOT NULL THEN 'override' ELSE COALESCE(pr.priced_by, 'default') END
        AS priced_by,
    CASE
        WHEN o.override_id IS NOT NULL OR pr.threshold IS NULL THEN FALSE
        WHEN b.input_tokens_lo > pr.threshold
            OR (pr.threshold_inclusive AND b.input_tokens_lo >= pr.threshold) THEN TRUE
        WHEN b.input_tokens_hi < pr.threshold
            OR (NOT pr.threshold_inclusive AND b.input_tokens_hi <= pr.threshold) THEN FALSE
    END AS long_context
FROM query_table(tbl) AS b
LEFT JOIN pair_rates AS pr
    ON pr.provider IS NOT DISTINCT FROM b.provider AND pr.model IS NOT DISTINCT FROM b.model
LEFT JOIN override_rates AS o
    ON o.model = b.model
    AND (o.provider IS NULL OR o.provider = b.provider)
    AND b.ts >= o.valid_from AND b.ts < o.valid_to;

-- price_groups(tbl): the rows of `tbl` (cost_basis itself, or any grouping of it that
--   keeps pair_id, long_context, is_batch, is_proxy_hit, override_id and sums the
--   t_* / *_units counts) with their cost columns, as in event_costs (03_event_costs.sql).
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
        COALESCE(pr.r_query, 0) AS r_query,
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
        audio_units * r_second AS audio_cost_usd,
        query_units * r_query AS query_cost_usd
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
            + image_cost_usd + audio_cost_usd + query_cost_usd AS list_cost_usd
    FROM rates
),
priced AS (
    SELECT
        *,
        token_cost(t_uncached, t_audio_in, t_cache_read, t_cache_write_5m, t_cache_write_1h,
                   t_text_out, t_audio_out, t_reasoning, rr_in, rr_audio_in,
                   rr_cache_read, rr_cache_write, rr_cache_write_1h, rr_out,
                   rr_audio_out, rr_reasoning)
            + image_cost_usd + audio_cost_usd + query_cost_usd AS billed_cost_usd
    FROM billed
)
SELECT
    * EXCLUDE (
        pr_catalog_key, lc, bt, r_image, r_second, r_query, s_in, d_in, sb_in,
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
        t_audio_out, t_text_out, image_units, audio_units, query_units, image_cost_usd,
        audio_cost_usd, query_cost_usd, billed_cost_usd
    ),
    CASE WHEN priced_by IN ('catalog', 'catalog_zero') THEN pr_catalog_key END AS catalog_key,
    t_uncached * rr_in + t_audio_in * rr_audio_in AS input_cost_usd,
    t_cache_read * rr_cache_read AS cache_read_cost_usd,
    t_cache_write_5m * rr_cache_write + t_cache_write_1h * rr_cache_write_1h AS cache_write_cost_usd,
    t_text_out * rr_out + t_audio_out * rr_audio_out AS output_cost_usd,
    t_reasoning * rr_reasoning AS reasoning_cost_usd,
    image_cost_usd,
    audio_cost_usd,
    query_cost_usd,
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
