"""`llmstats serve`: the live web dashboard (Starlette on uvicorn), read-only over a data dir.

- app.py: builds the app (routes, middleware) from a ServeSettings
- auth.py: the access token, its cookie, security headers (CSP)
- data_source.py: the dataset, reopened when the data dir changes; one query at a time,
  bounded per client, cancelled when its client goes away
- engine_limits.py: DuckDB's memory limit and threads for the server's connections
- params.py: a request's query string → the report library's Query
- panels.py: what each page shows, as JSON: reports (the same functions `llmstats report`
  runs) and their charts (html/charts.py) with drill-down filters
- routes/api.py, routes/pages.py: the JSON API and the pages (HTML shell + assets)
"""
