"""`llmstats serve`: the live web dashboard on uvicorn (analytics/web/)."""

import os
from typing import Annotated

import typer

from ..web.engine_limits import DEFAULT_CONNECTIONS, DEFAULT_MEMORY_LIMIT
from .options import DataDirOption


def serve(
    *,
    host: Annotated[
        str, typer.Option(help="Address to listen on. Anything but loopback needs LLMSTATS_DASHBOARD_TOKEN.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8766,
    poll_seconds: Annotated[
        float, typer.Option(min=0.5, max=3600, help="How often pages ask whether new events arrived.")
    ] = 3.0,
    memory_limit: Annotated[
        str, typer.Option(help="Most memory DuckDB may use for the dashboard's queries (DuckDB's "
                          "sizes: 512MB, 2GB, 1GiB); beyond it a query spills to a temp dir or fails.")
    ] = DEFAULT_MEMORY_LIMIT,
    threads: Annotated[
        int | None, typer.Option(min=1, max=1024, help="DuckDB threads (default: the cores, at most 4).")
    ] = None,
    connections: Annotated[
        int, typer.Option(min=1, max=16, help="Queries run at once, each on its own DuckDB "
                          "connection with an equal share of --memory-limit.")
    ] = DEFAULT_CONNECTIONS,
    cache_mb: Annotated[
        int, typer.Option(min=0, max=4096, help="Most MB of answers kept for requests repeated "
                          "on the same data (0: none, every request queries).")
    ] = 32,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the live dashboard (overview, engineering, segments, requests, health, audit)
    with filters, drill-down and live refresh. Read-only: it never writes to the data dir.

    Example: llmstats serve --port 8766 --data-dir s3://bucket/llmstats
    """
    from ..web.auth import TOKEN_ENV, check_bind
    from ..web.engine_limits import EngineLimits, default_threads
    from .data_dir import resolved_data_dir

    token = check_bind(host, os.environ.get(TOKEN_ENV) or None)
    resolved = resolved_data_dir(data_dir)  # a bad --data-dir: one line, exit 2
    limits = EngineLimits(memory_limit, threads or default_threads(), connections)
    limits.check()  # a bad --memory-limit: one line, exit 2
    try:
        import uvicorn

        from ..web.app import ServeSettings, create_app
    except ImportError:
        from ..errors import LlmstatsError

        raise LlmstatsError("the dashboard needs starlette and uvicorn: "
                            "pip install 'llmstats[dashboard]'") from None
    app = create_app(ServeSettings(resolved, token=token, poll_seconds=poll_seconds,
                                   limits=limits, cache_bytes=cache_mb << 20))
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"llmstats dashboard on http://{shown}:{port}/ (data dir {resolved}"
               + ("; token required" if token else "") + "). Ctrl-C stops it.", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=2)
