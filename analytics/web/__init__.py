"""`llmstats serve`: the live web dashboard (Starlette on uvicorn), read-only over a data dir.

- app.py: builds the app (routes, middleware) from a ServeSettings
- auth.py: the access token, its cookie, security headers (CSP)
- data_source.py: the dataset, reopened when the data dir changes; a small pool of
  connections, bounded per client, queries cancelled when their client goes away
- engine_limits.py: DuckDB's memory limit, threads and connections for the server
- params.py: a request's query string → the report library's Query
- panels.py: what each page shows, as JSON: reports (the same functions `llmstats report`
  runs) and their charts (html/charts.py) with drill-down filters
- routes/api.py, routes/pages.py: the JSON API and the pages (HTML shell + assets)
"""
