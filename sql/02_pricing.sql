-- pricing: the resolved rates of every (provider, model) seen in events, and the macros
--   that price rows of summed token counts (priced_basis, price_groups; in_off_peak).
-- Answers: which catalog entry prices a model, and at what rates.
-- Tables it reads (registered by llmstats.analytics.connection):
--   price_catalog   one row per LiteLLM price-map key: flat rates in USD per token /
--                   image / second, plus `tiers` (the entry's rates per service tier,
--                   off-peak and input-token band, resolved by analytics/pricing/price_rules.py),
--                   `windows` (off-peak hours), per-unit prices and multipliers
--   price_overrides the data dir's pricing/overrides.toml, rates in USD per token
--   price_defaults  the rates charged where nothing prices a call (one row)
--   event_models    the distinct (provider, model) pairs in the event files, numbered
--                   (pair_id): costs group on this small integer rather than two strings
--   pair_keys       per pair, the catalog keys that can price it, best first (rank):
--                   LiteLLM's lookup order and fallbacks (catalog.candidate_keys)
-- default_rates columns: input, output (USD per token), per_image, per_second,
--   per_character, per_query — the flagged rates for calls nothing prices (docs/pricing.md; set
--   with `llmstats pricing set --default`).
-- model_prices columns: pair_id, provider, model, catalog_key (NULL: not in the catalog):
--   the best-ranked candidate key in the catalog, as LiteLLM picks it (an entry there with
--   no price at all is priced at the default, flagged: LiteLLM bills it $0; a Together AI
--   entry without an input rate is passed over for the size bucket, as LiteLLM does).
-- pair_rates columns: pair_id, provider, model, catalog_key, priced_by (catalog |
--   catalog_zero | default), context_window, threshold (the first long-context tier's
--   start), threshold_inclusive, service_tiers (the tiers the entry prices), windows,
--   prices_tokens, per-unit prices r_image, r_pixel, r_character, r_second (transcribed
--   audio), r_wall_second (per second of call time, for entries priced only so),
--   r_query, and multipliers uplift_eu, uplift_us, uplift_vertex, uplift_geo_us,
--   uplift_fast.
-- pair_tiers columns: rate_id, pair_id, service_tier ('' standard), off_peak,
--   tier_start, tier_end (next tier's start, NULL last), long_context (tier_start > 0),
--   and USD per token: r_in, r_out, r_cache_read, r_cache_write, r_cache_write_1h,
--   r_reasoning, r_audio_in, r_audio_out, r_image_out, rb_in, rb_out, rb_cache_read,
--   rb_cache_write (batch).
-- pair_images columns: pair_id, size (e.g. 1024-x-1024), quality ('*': any), per_image —
--   the price-map entries that price an image model by size and quality.
CREATE OR REPLACE VIEW default_rates AS
SELECT input, output, per_image, per_second, per_character, per_query FROM price_defaults;

CREATE OR REPLACE VIEW model_prices AS
SELECT
    p.pair_id,
    p.provider,
    p.model,
    -- LiteLLM prices a Together AI model whose entry has no input rate at its size bucket
    -- (litellm's together_ai cost_calculator): that entry is passed over.
    arg_min(c.key, k.rank) FILTER (WHERE c.key IS NOT NULL AND NOT (
        p.provider = 'together_ai' AND c.key = 'together_ai/' || p.model AND c.input IS NULL
        AND c.mode IN ('chat', 'completion', 'embedding', 'responses')
    )) AS catalog_key
FROM event_models AS p
LEFT JOIN pair_keys AS k ON k.pair_id = p.pair_id
LEFT JOIN price_catalog AS c ON c.key = k.key
GROUP BY p.pair_id, p.provider, p.model;

CREATE OR REPLACE TABLE pair_rates AS
WITH matched AS (
    SELECT
        mp.pair_id, mp.provider AS pair_provider, mp.model AS pair_model, c.*,
        c.key IS NOT NULL AND COALESCE(c.priced, TRUE) AS has_price
    FROM model_prices AS mp
    LEFT JOIN price_catalog AS c ON c.key = mp.catalog_key
)
SELECT
    pair_id, pair_provider AS provider, pair_model AS model, key AS catalog_key,
    CASE WHEN NOT has_price THEN 'default' WHEN is_zero THEN 'catalog_zero' ELSE 'catalog' END
        AS priced_by,
    max_input_tokens AS context_window,
    CASE WHEN has_price THEN
        COALESCE(list_min(list_filter(list_transform(tiers, lambda t: t.tier_start), lambda x: x > 0)),
                 threshold + CASE WHEN COALESCE(threshold_inclusive, FALSE) THEN 0 ELSE 1 END)
    END AS first_tier_start,
    threshold, COALESCE(threshold_inclusive, FALSE) AS threshold_inclusive,
    CASE WHEN has_price THEN COALESCE(list_distinct(list_transform(tiers, lambda t: t.service_tier)), [''])
         ELSE [''] END AS service_tiers,
    CASE WHEN has_price THEN windows END AS windows,
    NOT has_price OR COALESCE(prices_tokens, TRUE) AS prices_tokens,
    -- A call nothing prices is charged the default, never a silent $0.
    CASE WHEN NOT has_price THEN (SELECT per_image FROM default_rates)
         ELSE COALESCE(NULLIF(per_image, 0), per_image_in, per_image) END AS r_image,
    CASE WHEN has_price THEN per_pixel END AS r_pixel,
    CASE WHEN NOT has_price THEN (SELECT per_character FROM default_rates)
         ELSE per_character END AS r_character,
    CASE WHEN NOT has_price THEN (SELECT per_second FROM default_rates)
         WHEN output_per_second > 0 THEN output_per_second
         ELSE COALESCE(input_per_second, input_per_audio_second, 0) END AS r_second,
    CASE WHEN has_price AND NOT COALESCE(prices_tokens, TRUE)
              AND (mode IS NULL OR mode IN ('chat', 'completion', 'embedding', 'responses'))
         THEN COALESCE(cost_per_second, input_per_second, output_per_second) END AS r_wall_second,
    COALESCE(per_query, 0) AS r_query,
    COALESCE(uplift_eu, 1.0) AS uplift_eu, COALESCE(uplift_us, 1.0) AS uplift_us,
    COALESCE(uplift_vertex, 1.0) AS uplift_vertex, COALESCE(uplift_geo_us, 1.0) AS uplift_geo_us,
    COALESCE(uplift_fast, 1.0) AS uplift_fast,
    has_price, tiers, input, output, cache_read, cache_write, cache_write_1h, reasoning,
    audio_input, audio_output, input_batches, output_batches, cache_read_batches,
    cache_write_batches, input_above, output_above, cache_read_above, cache_write_above,
    cache_write_1h_above
FROM matched;

-- Every rate row of every pair: the catalog's resolved tiers; for an entry from an older
-- snapshot (no `tiers`), its flat rates (base and one long-context tier, as before); for
-- a pair nothing prices, the default rates.
CREATE OR REPLACE TABLE pair_tiers AS
WITH raw AS (
    SELECT pair_id, t.service_tier, t.off_peak, t.tier_start,
        t.input AS r_in, t.output AS r_out, t.cache_read AS r_cache_read,
        t.cache_write AS r_cache_write, t.cache_write_1h AS r_cache_write_1h,
        t.reasoning AS r_reasoning, t.audio_input AS r_audio_in, t.audio_output AS r_audio_out,
        t.image_output AS r_image_out, t.batch_input AS rb_in, t.batch_output AS rb_out,
        t.batch_cache_read AS rb_cache_read, t.batch_cache_write AS rb_cache_write
    FROM (SELECT pair_id, unnest(tiers) AS t FROM pair_rates WHERE has_price AND tiers IS NOT NULL)
    UNION ALL
    SELECT pair_id, '', FALSE, 0, d.input, d.output, d.input, d.input, d.input, d.output,
        d.input, d.output, d.output, d.input / 2, d.output / 2, d.input / 2, d.input / 2
    FROM pair_rates CROSS JOIN default_rates AS d
    WHERE NOT has_price
    UNION ALL
    SELECT pair_id, '', FALSE, above, i, o, cr, cw, cw1, COALESCE(reasoning, o),
        COALESCE(audio_input, i), COALESCE(audio_output, o), o,
        COALESCE(input_batches, i / 2), COALESCE(output_batches, o / 2),
        CASE WHEN input_batches IS NOT NULL THEN COALESCE(cache_read_batches, input_batches)
             ELSE cr / 2 END,
        CASE WHEN input_batches IS NOT NULL THEN COALESCE(cache_write_batches, input_batches)
             ELSE cw / 2 END
    FROM (
        SELECT *, COALESCE(input, 0) AS i, COALESCE(output, 0) AS o,
            COALESCE(cache_read, input, 0) AS cr, COALESCE(cache_write, input, 0) AS cw,
            COALESCE(cache_write_1h, cache_write, input, 0) AS cw1, 0 AS above
        FROM pair_rates WHERE has_price AND tiers IS NULL
        UNION ALL
        SELECT *, COALESCE(input_above, input, 0), COALESCE(output_above, output, 0),
            COALESCE(cache_read_above, cache_read, input_above, input, 0),
            COALESCE(cache_write_above, cache_write, input_above, input, 0),
            COALESCE(cache_write_1h_above, cache_write_1h, cache_write_above, cache_write,
                     input_above, input, 0),
            first_tier_start
        FROM pair_rates WHERE has_price AND tiers IS NULL AND first_tier_start IS NOT NULL
    )
)
SELECT
    CAST(row_number() OVER (ORDER BY pair_id, service_tier, off_peak, tier_start) AS INTEGER)
        AS rate_id,
    *,
    lead(tier_start) OVER (PARTITION BY pair_id, service_tier, off_peak ORDER BY tier_start)
        AS tier_end,
    tier_start > 0 AS long_context
FROM raw;

-- pair_image_entries: the price-map entries that price each pair's image model by size
--   and quality (`[provider/][quality/]WxH/model`): pair_id, size (WxH as W-x-H), pixels,
--   quality (NULL: none named), provider_first, per_image.
CREATE OR REPLACE TABLE pair_image_entries AS
WITH variants AS (
    SELECT
        p.pair_id, p.provider, c.key,
        regexp_extract(c.key, '^(.*?)(\d+-x-\d+)/', 1) AS head,
        regexp_extract(c.key, '^(.*?)(\d+-x-\d+)/', 2) AS size,
        c.per_image, c.per_image_in, c.per_pixel
    FROM event_models AS p
    JOIN price_catalog AS c
        ON regexp_matches(c.key, '\d+-x-\d+/')
        AND regexp_extract(c.key, '\d+-x-\d+/(.*)$', 1) = p.model
),
sized AS (
    SELECT *,
        CAST(split_part(size, '-x-', 1) AS DOUBLE) * CAST(split_part(size, '-x-', 2) AS DOUBLE)
            AS pixels
    FROM variants
)
SELECT pair_id, size, pixels,
    CASE WHEN head = '' THEN NULL
         WHEN starts_with(head, provider || '/') THEN NULLIF(rtrim(head[len(provider) + 2:], '/'), '')
         ELSE rtrim(head, '/') END AS quality,
    starts_with(head, provider || '/') AS provider_first,
    COALESCE(NULLIF(per_image, 0), per_image_in, per_image, per_pixel * pixels) AS per_image
FROM sized
WHERE COALESCE(per_image, per_image_in, per_pixel) IS NOT NULL;

-- pair_fal_sizes: per fal.ai pair and quality, its size entries (pixels, per_image).
CREATE OR REPLACE TABLE pair_fal_sizes AS
SELECT e.pair_id, e.quality, list(struct_pack(pixels := e.pixels, per_image := e.per_image))
    AS sizes
FROM pair_image_entries AS e
JOIN event_models AS p ON p.pair_id = e.pair_id AND p.provider = 'fal_ai'
WHERE e.provider_first AND e.quality IS NOT NULL
GROUP BY e.pair_id, e.quality;

-- pair_images: per pair, size and asked quality (`*`: one no entry names), the per-image
--   price LiteLLM's default image calculator finds: quality/size/model,
--   provider/quality/size/model, size/model, high/size/model, in that order.
CREATE OR REPLACE TABLE pair_images AS
WITH qualities AS (
    SELECT DISTINCT pair_id, size, quality AS asked FROM pair_image_entries WHERE quality IS NOT NULL
    UNION ALL SELECT DISTINCT pair_id, size, '*' FROM pair_image_entries
)
SELECT q.pair_id, q.size, q.asked AS quality,
    arg_min(n.per_image, CASE
        WHEN n.quality = q.asked AND NOT n.provider_first THEN 1
        WHEN n.quality = q.asked THEN 2
        WHEN n.quality IS NULL THEN 3
        WHEN n.quality = 'high' THEN 4 END) AS per_image
FROM qualities AS q
JOIN pair_image_entries AS n ON n.pair_id = q.pair_id AND n.size = q.size
    AND (n.quality IS NULL OR n.quality = 'high' OR n.quality = q.asked)
GROUP BY q.pair_id, q.size, q.asked;

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

-- in_off_peak(ts, w): the instant `ts` falls in off-peak window `w` (a pair_rates window:
--   minutes of the UTC day, start inclusive, end exclusive, wrapping midnight when start
--   >= end; weekdays, when given, read in the window's time zone), as LiteLLM decides it.
CREATE OR REPLACE MACRO in_off_peak(ts, w) AS
    (w.weekdays IS NULL OR list_contains(w.weekdays, isodow(timezone(w.weekday_tz, ts))))
    AND CASE WHEN w.start_minute < w.end_minute
        THEN hour(ts) * 60 + minute(ts) >= w.start_minute AND hour(ts) * 60 + minute(ts) < w.end_minute
        ELSE hour(ts) * 60 + minute(ts) >= w.start_minute OR hour(ts) * 60 + minute(ts) < w.end_minute
    END;

-- fal_nearest(sizes, size): fal.ai prices the size entry (a pair_fal_sizes list) nearest
--   in pixel count to the asked size (W-x-H), the smaller on a tie (LiteLLM's fal_ai cost
--   calculator); NULL without entries.
CREATE OR REPLACE MACRO fal_nearest(sizes, size) AS
    list_sort(list_transform(sizes, lambda e: [
        abs(e.pixels - CAST(split_part(size, '-x-', 1) AS DOUBLE)
            * CAST(split_part(size, '-x-', 2) AS DOUBLE)), e.pixels, e.per_image]))[1][3];

-- priced_basis(tbl): the rows of `tbl` (token_basis, or a rollup of it: any rows with
--   provider, model, ts, call_type, service_tier, the price-free pricing keys of
--   rollups/spec.py PRICING_KEYS, input_tokens_lo and input_tokens_hi) plus what pricing
--   needs, no rates yet: pair_id (the row's (provider, model) in pair_rates), override_id
--   (the matching override, NULL if none), priced_by (override | catalog | catalog_zero |
--   default), rate_id (the pair_tiers row: service tier, off-peak, input-token band),
--   long_context, uplift (the regional / speed multiplier), image_rate (USD per image at
--   the requested size and quality), image_priced_by (catalog / catalog_zero when a
--   size/quality entry prices the image), bill_kind (image | speech | transcription | other)
--   and time_priced (the pair's price depends on the hour: off-peak windows).
--   For a row that sums several calls, rate_id and long_context are NULL when the calls
--   fall in different input-token bands (readers then use the events instead); a row of
--   an hour or a day is priced at its start, so readers use events for time_priced pairs.
--   Override windows start and end at UTC midnight, so a rollup row of one day or hour is
--   inside or outside each window. Cost is linear in the t_* and *_units counts, so any
--   grouping of these rows that keeps the pricing key (pair_id, rate_id, long_context,
--   uplift, image_rate, image_priced_by, bill_kind, is_batch, is_proxy_hit, override_id) can be summed
--   first and priced after with price_groups(): reports price a few thousand groups.
CREATE OR REPLACE MACRO priced_basis(tbl) AS TABLE
WITH keyed AS (
    SELECT
        b.*,
        pr.pair_id,
        o.override_id,
        CASE WHEN o.override_id IS NOT NULL THEN 'override' ELSE COALESCE(pr.priced_by, 'default') END
            AS priced_by,
        CASE WHEN b.call_type IN ('image', 'speech', 'transcription') THEN b.call_type
             ELSE 'other' END AS bill_kind,
        pr.windows IS NOT NULL AS time_priced,
        CASE WHEN list_contains(pr.service_tiers,
                                CASE lower(b.service_tier) WHEN 'fast' THEN 'priority'
                                     ELSE lower(b.service_tier) END)
             THEN CASE lower(b.service_tier) WHEN 'fast' THEN 'priority'
                       ELSE lower(b.service_tier) END
             ELSE '' END AS bill_tier,
        COALESCE(len(list_filter(pr.windows, lambda w: in_off_peak(b.ts, w))) > 0, FALSE)
            AS bill_off_peak,
        CASE WHEN o.override_id IS NOT NULL THEN 1.0 ELSE
            (CASE lower(b.data_residency) WHEN 'eu' THEN pr.uplift_eu WHEN 'us' THEN pr.uplift_us
                  ELSE 1.0 END)
            * (CASE WHEN b.vertex_location IS NULL OR lower(b.vertex_location) = 'global' THEN 1.0
                    ELSE pr.uplift_vertex END)
            * (CASE WHEN lower(b.inference_geo) = 'us' THEN pr.uplift_geo_us ELSE 1.0 END)
            * (CASE WHEN b.speed = 'fast' THEN pr.uplift_fast ELSE 1.0 END)
        END AS uplift,
        CASE WHEN regexp_full_match(b.image_size, '\d+x\d+') THEN replace(b.image_size, 'x', '-x-')
             WHEN regexp_full_match(b.image_size, '\d+-x-\d+') THEN b.image_size
             -- fal.ai's named sizes and its default (LiteLLM's fal_ai cost calculator)
             WHEN b.provider = 'fal_ai' THEN COALESCE(
                 map_extract_value(MAP {'square_hd': '1024-x-1024', 'square': '512-x-512',
                     'portrait_4_3': '768-x-1024', 'portrait_16_9': '576-x-1024',
                     'landscape_4_3': '1024-x-768', 'landscape_16_9': '1024-x-576'},
                     b.image_size), '1024-x-768')
             ELSE '1024-x-1024' END AS image_size_key,
        COALESCE(o.per_image, 0) AS override_image_rate
    FROM query_table(tbl) AS b
    LEFT JOIN pair_rates AS pr
        ON pr.provider IS NOT DISTINCT FROM b.provider AND pr.model IS NOT DISTINCT FROM b.model
    LEFT JOIN override_rates AS o
        ON o.model = b.model
        AND (o.provider IS NULL OR o.provider = b.provider)
        AND b.ts >= o.valid_from AND b.ts < o.valid_to
)
SELECT
    k.* EXCLUDE (bill_tier, bill_off_peak, image_size_key, override_image_rate),
    CASE WHEN k.override_id IS NOT NULL THEN 0 ELSE t.rate_id END AS rate_id,
    CASE WHEN k.override_id IS NOT NULL THEN FALSE ELSE t.long_context END AS long_context,
    -- An image priced by a size/quality entry is priced by the catalog, whatever the
    -- model's bare name has.
    CASE WHEN k.bill_kind = 'image' AND k.override_id IS NULL
              AND COALESCE(fal_nearest(fs.sizes, k.image_size_key), i1.per_image, i2.per_image) IS NOT NULL
         THEN CASE WHEN COALESCE(fal_nearest(fs.sizes, k.image_size_key), i1.per_image, i2.per_image) = 0 THEN 'catalog_zero'
                   ELSE 'catalog' END
    END AS image_priced_by,
    CASE WHEN k.bill_kind <> 'image' THEN 0.0
         WHEN k.override_id IS NOT NULL THEN k.override_image_rate
         ELSE COALESCE(fal_nearest(fs.sizes, k.image_size_key), i1.per_image, i2.per_image, pr.r_image, pr.r_pixel
            * CAST(split_part(k.image_size_key, '-x-', 1) AS DOUBLE)
            * CAST(split_part(k.image_size_key, '-x-', 2) AS DOUBLE), 0.0)
    END AS image_rate
FROM keyed AS k
LEFT JOIN pair_rates AS pr ON pr.pair_id = k.pair_id
LEFT JOIN pair_tiers AS t
    ON t.pair_id = k.pair_id AND t.service_tier = k.bill_tier AND t.off_peak = k.bill_off_peak
    AND t.tier_start <= k.input_tokens_lo AND (t.tier_end IS NULL OR t.tier_end > k.input_tokens_hi)
LEFT JOIN pair_images AS i1
    ON i1.pair_id = k.pair_id AND i1.size = k.image_size_key
    AND i1.quality = COALESCE(k.image_quality, 'standard')
LEFT JOIN pair_images AS i2
    ON i2.pair_id = k.pair_id AND i2.size = k.image_size_key AND i2.quality = '*'
LEFT JOIN pair_fal_sizes AS fs
    ON k.provider = 'fal_ai' AND k.bill_kind = 'image' AND fs.pair_id = k.pair_id
    AND fs.quality = COALESCE(NULLIF(k.image_quality, 'auto'), 'high');

-- price_groups(tbl): the rows of `tbl` (cost_basis itself, or any grouping of it that
--   keeps the pricing key of priced_basis and sums the t_* / *_units counts) with their
--   cost columns, as in event_costs (03_event_costs.sql). What a call bills follows
--   LiteLLM: tokens, except a speech call to a model priced per character (characters),
--   an image call to a model without token prices (images) and a model priced only per
--   second of call time (seconds); an image call that reported no tokens bills per image
--   and a transcription that reported none per second of audio.
CREATE OR REPLACE MACRO price_groups(tbl) AS TABLE
WITH joined AS (
    SELECT
        b.*,
        -- priced_by follows from the pair and the override: recomputed here, so groups
        -- need not carry it (a dimension named priced_by is dropped below and replaced
        -- by the same value).
        CASE WHEN o.override_id IS NOT NULL THEN 'override'
             ELSE COALESCE(b.image_priced_by, pr.priced_by, 'default') END AS priced_by,
        pr.catalog_key AS pr_catalog_key,
        CAST(b.is_batch AS DOUBLE) AS bt,
        o.override_id IS NOT NULL AS overridden,
        CASE WHEN o.override_id IS NOT NULL THEN TRUE
             WHEN b.bill_kind = 'speech' AND pr.r_character IS NOT NULL THEN FALSE
             WHEN b.bill_kind = 'image' AND NOT pr.prices_tokens THEN FALSE
             WHEN pr.r_wall_second IS NOT NULL THEN FALSE
             ELSE TRUE END AS bills_tokens,
        COALESCE(o.per_second, pr.r_second, 0) AS r_second,
        CASE WHEN o.override_id IS NULL AND b.bill_kind = 'speech' THEN COALESCE(pr.r_character, 0)
             ELSE 0 END AS r_character,
        CASE WHEN o.override_id IS NULL THEN COALESCE(pr.r_wall_second, 0) ELSE 0 END AS r_wall,
        CASE WHEN o.override_id IS NULL AND b.bill_kind = 'image' AND pr.prices_tokens
             THEN b.image_units_untokened ELSE b.image_units END AS images_billed,
        CASE WHEN b.bill_kind = 'transcription' THEN b.audio_units_untokened ELSE 0 END
            AS seconds_billed,
        COALESCE(pr.r_query, 0) AS r_query,
        COALESCE(o.o_in, t.r_in) AS r_in, COALESCE(o.ob_in, t.rb_in) AS rb_in,
        COALESCE(o.o_out, t.r_out) AS r_out, COALESCE(o.ob_out, t.rb_out) AS rb_out,
        COALESCE(o.o_cache_read, t.r_cache_read) AS r_cache_read,
        COALESCE(o.ob_cache_read, t.rb_cache_read) AS rb_cache_read,
        COALESCE(o.o_cache_write, t.r_cache_write) AS r_cache_write,
        COALESCE(o.ob_cache_write, t.rb_cache_write) AS rb_cache_write,
        COALESCE(o.o_cache_write_1h, t.r_cache_write_1h) AS r_cache_write_1h,
        COALESCE(o.ob_cache_write_1h, t.rb_cache_write) AS rb_cache_write_1h,
        COALESCE(o.o_reasoning, t.r_reasoning) AS r_reasoning,
        COALESCE(o.ob_reasoning, t.rb_out) AS rb_reasoning,
        COALESCE(o.o_audio_in, t.r_audio_in) AS r_audio_in,
        COALESCE(o.ob_audio_in, t.rb_in) AS rb_audio_in,
        COALESCE(o.o_audio_out, t.r_audio_out) AS r_audio_out,
        COALESCE(o.ob_audio_out, t.rb_out) AS rb_audio_out,
        COALESCE(o.o_out, t.r_image_out) AS r_image_out,
        COALESCE(o.ob_out, t.rb_out) AS rb_image_out
    FROM (SELECT COLUMNS(lambda c: c <> 'priced_by') FROM query_table(tbl)) AS b
    LEFT JOIN pair_rates AS pr ON pr.pair_id = b.pair_id
    LEFT JOIN pair_tiers AS t ON t.rate_id = b.rate_id
    LEFT JOIN override_rates AS o ON o.override_id = b.override_id
),
rates AS (
    SELECT
        *,
        -- rr_X: what the call is billed at (the batch rate for batch calls), times the
        -- regional / speed multiplier; 0 where the call does not bill tokens.
        CAST(bills_tokens AS DOUBLE) * uplift AS tk,
        image_rate * images_billed * uplift AS image_cost_usd,
        r_second * seconds_billed + r_wall * wall_seconds AS audio_cost_usd,
        r_character * char_units AS character_cost_usd,
        query_units * r_query AS query_cost_usd
    FROM joined
),
billed AS (
    SELECT
        *,
        tk * (r_in + bt * (rb_in - r_in)) AS rr_in,
        tk * (r_out + bt * (rb_out - r_out)) AS rr_out,
        tk * (r_cache_read + bt * (rb_cache_read - r_cache_read)) AS rr_cache_read,
        tk * (r_cache_write + bt * (rb_cache_write - r_cache_write)) AS rr_cache_write,
        tk * (r_cache_write_1h + bt * (rb_cache_write_1h - r_cache_write_1h)) AS rr_cache_write_1h,
        tk * (r_reasoning + bt * (rb_reasoning - r_reasoning)) AS rr_reasoning,
        tk * (r_audio_in + bt * (rb_audio_in - r_audio_in)) AS rr_audio_in,
        tk * (r_audio_out + bt * (rb_audio_out - r_audio_out)) AS rr_audio_out,
        tk * (r_image_out + bt * (rb_image_out - r_image_out)) AS rr_image_out,
        tk * (t_uncached * r_in + t_audio_in * r_audio_in + t_cache_read * r_cache_read
              + t_cache_write_5m * r_cache_write + t_cache_write_1h * r_cache_write_1h
              + t_text_out * r_out + t_audio_out * r_audio_out + t_reasoning * r_reasoning
              + t_image_out * r_image_out)
            + image_cost_usd + audio_cost_usd + character_cost_usd + query_cost_usd
            AS list_cost_usd
    FROM rates
),
priced AS (
    SELECT
        *,
        t_uncached * rr_in + t_audio_in * rr_audio_in + t_cache_read * rr_cache_read
            + t_cache_write_5m * rr_cache_write + t_cache_write_1h * rr_cache_write_1h
            + t_text_out * rr_out + t_audio_out * rr_audio_out + t_reasoning * rr_reasoning
            + t_image_out * rr_image_out
            + image_cost_usd + audio_cost_usd + character_cost_usd + query_cost_usd
            AS billed_cost_usd
    FROM billed
),
-- A catalog entry that prices none of what the calls bill (a transcription model priced
-- per token called without tokens, a rerank model without a per-query price, ...) would
-- make them a silent $0: they are charged the default instead, flagged. (Cost is linear
-- in the counts, so a group is $0 exactly when each of its calls is.)
checked AS (
    SELECT
        p.*,
        p.priced_by = 'catalog' AND p.billed_cost_usd = 0 AND (
            t_uncached + t_audio_in + t_cache_read + t_cache_write_5m + t_cache_write_1h
            + t_text_out + t_audio_out + t_reasoning + t_image_out > 0
            OR images_billed > 0 OR seconds_billed > 0 OR query_units > 0
            OR (bill_kind = 'speech' AND char_units > 0)) AS unpriced,
        (t_uncached + t_audio_in + t_cache_read + t_cache_write_5m + t_cache_write_1h) * d.input
            + (t_text_out + t_audio_out + t_reasoning + t_image_out) * d.output
            + images_billed * d.per_image + seconds_billed * d.per_second
            + CASE WHEN bill_kind = 'speech' THEN char_units * d.per_character ELSE 0 END
            + query_units * d.per_query AS default_cost_usd,
        d.input AS d_in, d.output AS d_out, d.per_image AS d_image, d.per_second AS d_second,
        d.per_character AS d_character, d.per_query AS d_query
    FROM priced AS p CROSS JOIN default_rates AS d
)
SELECT
    * EXCLUDE (
        priced_by, pr_catalog_key, bt, overridden, bills_tokens, r_second, r_character, r_wall,
        images_billed, seconds_billed, r_query, tk, r_in, rb_in, rr_in, r_out, rb_out, rr_out,
        r_cache_read, rb_cache_read, rr_cache_read, r_cache_write, rb_cache_write,
        rr_cache_write, r_cache_write_1h, rb_cache_write_1h, rr_cache_write_1h, r_reasoning,
        rb_reasoning, rr_reasoning, r_audio_in, rb_audio_in, rr_audio_in, r_audio_out,
        rb_audio_out, rr_audio_out, r_image_out, rb_image_out, rr_image_out, t_uncached,
        t_audio_in, t_cache_read, t_cache_write_1h, t_cache_write_5m, t_reasoning,
        t_audio_out, t_text_out, t_image_out, image_units, image_units_untokened, audio_units,
        audio_units_untokened, wall_seconds, char_units, query_units, image_cost_usd,
        audio_cost_usd, character_cost_usd, query_cost_usd, billed_cost_usd, list_cost_usd,
        unpriced, default_cost_usd, d_in, d_out, d_image, d_second, d_character, d_query
    ),
    CASE WHEN unpriced THEN 'default' ELSE priced_by END AS priced_by,
    CASE WHEN priced_by IN ('catalog', 'catalog_zero') AND NOT unpriced THEN pr_catalog_key END
        AS catalog_key,
    CASE WHEN unpriced THEN (t_uncached + t_audio_in + t_cache_read + t_cache_write_5m
                             + t_cache_write_1h) * d_in
         ELSE t_uncached * rr_in + t_audio_in * rr_audio_in END AS input_cost_usd,
    CASE WHEN unpriced THEN 0.0 ELSE t_cache_read * rr_cache_read END AS cache_read_cost_usd,
    CASE WHEN unpriced THEN 0.0
         ELSE t_cache_write_5m * rr_cache_write + t_cache_write_1h * rr_cache_write_1h
    END AS cache_write_cost_usd,
    CASE WHEN unpriced THEN (t_text_out + t_audio_out + t_reasoning + t_image_out) * d_out
         ELSE t_text_out * rr_out + t_audio_out * rr_audio_out + t_image_out * rr_image_out
    END AS output_cost_usd,
    CASE WHEN unpriced THEN 0.0 ELSE t_reasoning * rr_reasoning END AS reasoning_cost_usd,
    CASE WHEN unpriced THEN images_billed * d_image ELSE image_cost_usd END AS image_cost_usd,
    CASE WHEN unpriced
         THEN seconds_billed * d_second
              + CASE WHEN bill_kind = 'speech' THEN char_units * d_character ELSE 0 END
         ELSE audio_cost_usd + character_cost_usd END AS audio_cost_usd,
    CASE WHEN unpriced THEN query_units * d_query ELSE query_cost_usd END AS query_cost_usd,
    CASE WHEN unpriced THEN default_cost_usd ELSE list_cost_usd END AS list_cost_usd,
    CASE WHEN is_proxy_hit THEN 0.0 WHEN unpriced THEN default_cost_usd ELSE billed_cost_usd END
        AS cost_usd,
    -- A cache write only ever costs a premium here: a write rate at or below the input
    -- rate (the map's explicit 0 among them) is no saving.
    CASE WHEN is_proxy_hit OR unpriced THEN 0.0 ELSE
        t_cache_read * (rr_in - rr_cache_read)
        - t_cache_write_5m * GREATEST(rr_cache_write - rr_in, 0)
        - t_cache_write_1h * GREATEST(rr_cache_write_1h - rr_in, 0)
    END AS prompt_cache_savings_usd,
    CASE WHEN is_proxy_hit AND unpriced THEN default_cost_usd
         WHEN is_proxy_hit THEN list_cost_usd ELSE 0.0 END AS proxy_cache_savings_usd,
    CASE WHEN is_batch AND NOT is_proxy_hit AND NOT unpriced THEN list_cost_usd - billed_cost_usd
         ELSE 0.0 END AS batch_savings_usd,
    prompt_cache_savings_usd + proxy_cache_savings_usd + batch_savings_usd AS savings_usd
FROM checked;
