-- events: one row per LLM call attempt, exactly as captured (event schema v1).
-- Answers: everything else; every view below reads from here.
-- Columns: every EVENT_SCHEMA column (see plugin/schema.py and docs/analytics.md), NULL
--   where a file was written before the column existed, plus `date` (DATE, the hive
--   partition key = UTC date of ts). Filter on `date` to prune files.
-- Source: `raw_events`, the tolerant union of the dataset's files defined by
--   llmstats.analytics.store.dataset (the file list comes from one function, event_files()).
CREATE OR REPLACE VIEW events AS
SELECT * FROM raw_events;
