"""The pages: one HTML shell (the navigation, the filter bar's place, the page's place)
that assets/dashboard.js fills from the API, and the assets themselves. Everything is
served by the app (plotly.js's basic bundle, shared with `--format html`): the page loads nothing from
anywhere else, which the Content-Security-Policy (auth.py) enforces."""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
from importlib import resources

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...html.page import PLOTLY_JS
from ...html.page import asset as html_asset
from ...query import DIMENSIONS

PAGES = (
    ("overview", "Overview"),
    ("engineering", "Engineering"),
    ("segments", "Segments"),
    ("requests", "Requests"),
    ("health", "Health"),
    ("audit", "Audit"),
)
ASSETS = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    PLOTLY_JS: "text/javascript; charset=utf-8",
    "plotly-rules.css": "text/css; charset=utf-8",
}
# plotly.js injects <style> elements unless elements with these ids exist: its own rules
# (it then inserts them through the CSSOM into the stylesheet given, which a CSP without
# 'unsafe-inline' allows) and maplibre's map CSS (which no chart here uses). Stylesheets
# of the app's own origin stand in for both, so style-src stays 'self'.
PLOTLY_STYLE_IDS = ("plotly.js-style-global",
                    "9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53")


@functools.cache
def asset(name: str) -> bytes:
    if name == PLOTLY_JS:
        return html_asset(PLOTLY_JS).encode()
    return (resources.files("llmstats.analytics.web") / "assets" / name).read_bytes()


@functools.cache
def gzipped(name: str) -> bytes:
    """Compressed once per process: plotly.js is 1.2 MB, 0.4 MB gzipped, and the server
    that sends it is the one computing the page's data at the same moment."""
    return gzip.compress(asset(name), compresslevel=6, mtime=0)


@functools.cache
def fingerprint(name: str) -> str:
    return hashlib.sha256(asset(name)).hexdigest()[:16]


def warm_assets() -> None:
    """Fingerprint and compress every asset ahead of the first page (called on a thread
    at start-up: compressing plotly.js takes a few hundred ms)."""
    for name in ASSETS:
        gzipped(name)
        fingerprint(name)


def asset_url(name: str) -> str:
    """The asset's URL with its content's fingerprint: a browser keeps it for good (and
    its compiled code: the next page of the dashboard does not compile plotly.js again),
    and a new version of the asset gets a new URL."""
    return f"/assets/{name}?v={fingerprint(name)}"


def shell(page: str, title: str, poll_seconds: float) -> str:
    """The page without data: dashboard.js draws the filter bar and the page from the URL."""
    links = "".join(
        f'<a href="/{name}" data-page="{name}"'
        + (' aria-current="page"' if name == page else "") + f">{html.escape(label)}</a>"
        for name, label in PAGES
    )
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f"<title>llmstats · {html.escape(title)}</title>\n"
        f'<link rel="stylesheet" href="{asset_url("dashboard.css")}">\n'
        + "".join(f'<link rel="stylesheet" id="{i}" href="{asset_url("plotly-rules.css")}">\n'
                  for i in PLOTLY_STYLE_IDS) +
        # dashboard.js first: it asks for the page's data at once, and the server
        # computes it while the browser compiles plotly.js (about a second of a first
        # load); the charts wait for plotly, the request does not.
        f'<script src="{asset_url("dashboard.js")}" defer></script>\n'
        f'<script src="{asset_url(PLOTLY_JS)}" defer></script>\n'
        "</head>\n"
        f'<body data-page="{page}" data-poll-seconds="{poll_seconds:g}"'
        f' data-dimensions="{html.escape(",".join(sorted(DIMENSIONS)))}">\n'
        f'<header><span class="brand">llmstats</span><nav>{links}</nav>'
        '<span id="live" class="live" title="Refreshes when new events arrive">live</span>'
        "</header>\n"
        '<section id="filters" aria-label="Filters"></section>\n'
        '<main id="content"><p class="loading">Loading…</p></main>\n'
        "</body>\n</html>\n"
    )


async def page(request: Request) -> Response:
    name = request.path_params.get("name", "overview")
    titles = dict(PAGES)
    if name not in titles:
        return Response("404: no such page\n", status_code=404, media_type="text/plain")
    poll = request.app.state.poll_seconds
    return Response(shell(name, titles[name], poll), media_type="text/html; charset=utf-8")


async def home(request: Request) -> Response:
    query = request.url.query
    return RedirectResponse("/overview" + (f"?{query}" if query else ""), status_code=303)


async def serve_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        return Response("404: no such asset\n", status_code=404, media_type="text/plain")
    immutable = request.query_params.get("v") == fingerprint(name)
    headers = {"Cache-Control": "public, max-age=31536000, immutable" if immutable
               else "no-cache", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(gzipped(name), media_type=ASSETS[name], headers=headers)
    return Response(asset(name), media_type=ASSETS[name], headers=headers)


async def no_icon(request: Request) -> Response:
    return Response(status_code=204)  # browsers ask; there is none


ROUTES = [
    Route("/", home),
    Route("/favicon.ico", no_icon),
    Route("/assets/{name}", serve_asset),
    Route("/{name}", page),
]
