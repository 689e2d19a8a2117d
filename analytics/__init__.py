"""llmstats analytics: DuckDB views over the captured events, pricing, reports and the CLI."""
