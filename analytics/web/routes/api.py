"""The JSON API the pages read (and scripts may: with the token as a Bearer header).

Every endpoint takes the filter bar's state as query parameters (`since`, `until`, `tz`,
repeated `where=KEY=VALUE`), parsed exactly as the CLI parses them; no endpoint takes SQL,
a path or a column name outside the allow-lists (query.DIMENSIONS, browse.SORT_COLUMNS,
REPORTS below). Errors are one line of JSON: 400 for bad input, 429 when this client has
too many queries running, 500 when a query failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...errors import LlmstatsError, UsageError
from ...query import DIMENSIONS, dimension
from ...report.format import plain
from .. import panels
from ..data_source import Cancelled, DataSource, TooBusy
from ..params import query_of, whole_number

if TYPE_CHECKING:
    from ...connection import Dataset

log = logging.getLogger("llmstats.serve")

# `GET /api/report/NAME`: the functions behind `llmstats report` and its sub-reports.
REPORTS = {
    "usage": "usage_report",
    "savings": "savings_report",
    "errors": "errors_report",
    "latency": "latency_report",
    "context": "context_report",
    "segments": "segments_report",
}
PAGES: dict[str, Callable[..., dict[str, Any]]] = {
    "overview": panels.overview,
    "engineering": panels.engineering,
    "segments": panels.segments,
    "health": panels.health,
}


def source_of(request: Request) -> DataSource:
    source: DataSource = request.app.state.source
    return source


def failure(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message.splitlines()[0] if message else "error"},
                        status_code=status)


def json_body(value: Any) -> bytes:
    """What JSONResponse sends for `value` (report values made plain first), as bytes an
    answer can be kept as."""
    return bytes(JSONResponse(plain(value)).body)


def cache_key(request: Request) -> str:
    """The request as an answer's key: its path and query, without the access token."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    return request.url.path + "?" + urlencode(query)


async def answer(request: Request, work: Callable[[Dataset], Any], *,
                 cached: bool = True) -> Response:
    """`work` on the dataset, as JSON; the project's errors as one-line JSON errors.
    `cached`: the answer depends on the events and rollups alone, and is kept for the
    same request on the same data (answer_cache.py)."""
    began = time.perf_counter()
    try:
        body = await source_of(request).run(request, lambda d: json_body(work(d)),
                                            cache_key(request) if cached else None)
        # The server's own time (benchmarks/bench_dashboard.py reads it): the work, its
        # wait for the connection, and shaping the JSON, not the network.
        spent = f"app;dur={1000 * (time.perf_counter() - began):.1f}"
        return Response(body, media_type="application/json", headers={"server-timing": spent})
    except UsageError as exc:
        return failure(400, str(exc))
    except TooBusy as exc:
        return failure(429, str(exc))
    except Cancelled:
        return failure(499, "the client went away")
    except LlmstatsError as exc:
        return failure(500, str(exc))
    except Exception:  # a bug: the client gets one line, the log the traceback
        log.exception("dashboard request failed: %s", request.url.path)
        return failure(500, "internal error (see the server's log)")


def _bad_input(exc: UsageError) -> JSONResponse:
    return failure(400, str(exc))


async def version(request: Request) -> Response:
    return JSONResponse({"version": await anyio.to_thread.run_sync(source_of(request).version)})


async def dimensions(request: Request) -> Response:
    return JSONResponse({"dimensions": sorted(DIMENSIONS)})


async def page(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in PAGES:
        return failure(404, f"no page {name!r}")
    try:
        query = query_of(request)
    except UsageError as exc:
        return _bad_input(exc)
    bucket = request.query_params.get("bucket") or None
    if name == "overview":
        what_if = request.query_params.get("what_if") or None
        spenders = request.query_params.get("spenders") or "team"
        return await answer(request, lambda d: panels.overview(d, query, what_if, spenders,
                                                               bucket))
    if name == "engineering":
        latency_by = request.query_params.get("latency_by") or "model"
        metric = request.query_params.get("metric") or "p95_latency_ms"
        return await answer(request, lambda d: panels.engineering(d, query, bucket, latency_by,
                                                                  metric))
    if name == "health":
        # Heartbeats are not part of the data version: never kept. It also says what the
        # answer cache holds.
        source = source_of(request)

        def health(dataset: Dataset) -> dict[str, Any]:
            page = panels.health(dataset, query)
            # The engine's settings are those of the connection that answered; the pool
            # has `connections` of them, each with that share of the memory.
            page["engine"]["connections"] = source.limits.connections
            return {**page, "answers": source.answers.summary()}

        return await answer(request, health, cached=False)
    return await answer(request, lambda d: PAGES[name](d, query))


async def report(request: Request) -> Response:
    """`llmstats report [NAME] --format json`'s document: rows, totals, notes."""
    import importlib

    name = request.path_params["name"]
    if name not in REPORTS:
        return failure(404, f"no report {name!r}; choose from {', '.join(REPORTS)}")
    try:
        query = query_of(request)
    except UsageError as exc:
        return _bad_input(exc)
    library: Any = importlib.import_module("llmstats.analytics.report.reports")
    function = getattr(library, REPORTS[name])
    return await answer(request, lambda d: panels.report_json(function(d.con, query)))


async def requests_page(request: Request) -> Response:
    from ...report.browse import requests_page as page_of

    try:
        query = query_of(request, by="", top=None)
        offset = whole_number(request, "offset", 0) or 0
        limit = whole_number(request, "limit", 50) or 50
    except UsageError as exc:
        return _bad_input(exc)
    sort = request.query_params.get("sort", "time")
    descending = request.query_params.get("dir", "desc") != "asc"

    def work(dataset: Dataset) -> dict[str, Any]:
        found = page_of(dataset.con, query, offset=offset, limit=limit, sort=sort,
                        descending=descending)
        return {"rows": found.rows, "total": found.total, "offset": found.offset,
                "limit": found.limit}

    return await answer(request, work)


async def trace(request: Request) -> Response:
    from ...report.reports import trace_report

    trace_id = request.path_params["trace_id"]
    if len(trace_id) > 200:
        return failure(400, "a trace id is at most 200 characters")
    return await answer(request, lambda d: panels.report_json(trace_report(d.con, trace_id)))


async def values(request: Request) -> Response:
    from ...report.browse import dimension_values

    try:
        name = dimension(request.query_params.get("dim", ""))
        query = query_of(request, by="", top=None)
        limit = whole_number(request, "limit", 20) or 20
    except UsageError as exc:
        return _bad_input(exc)
    search = request.query_params.get("q", "")[:200]
    return await answer(request, lambda d: {
        "dimension": name, "values": dimension_values(d.con, query, name, search, limit)})


async def catalog(request: Request) -> Response:
    from ...report.what_if import catalog_keys

    search = request.query_params.get("q", "")[:200]
    return await answer(request, lambda d: {"models": catalog_keys(d.con, search)})


async def audit(request: Request) -> Response:
    return await answer(request, lambda d: panels.audit(d.data_dir), cached=False)


ROUTES = [
    Route("/api/version", version),
    Route("/api/dimensions", dimensions),
    Route("/api/page/{name}", page),
    Route("/api/report/{name}", report),
    Route("/api/requests", requests_page),
    Route("/api/trace/{trace_id:path}", trace),
    Route("/api/values", values),
    Route("/api/catalog", catalog),
    Route("/api/audit", audit),
]
