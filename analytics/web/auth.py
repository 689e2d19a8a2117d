"""Who may read the dashboard, and what a browser may do with its pages.

It holds spend by person and team: bound to anything but loopback it needs an access token
(LLMSTATS_DASHBOARD_TOKEN; `check_bind` refuses to start without one). When a token is set,
every request (pages, assets and API alike) must carry it: `Authorization: Bearer <token>`
(scripts), or the session cookie a browser gets by opening any page once with
`?token=<token>` (the token then leaves the URL: a redirect drops it). Compared in constant
time (hmac.compare_digest). Everything else is 401.

Every response carries a Content-Security-Policy that allows the app's own origin only
(scripts, styles, fetches; no inline script, no third party), and headers that keep the
pages out of frames and caches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from starlette.datastructures import URL, Headers, MutableHeaders, QueryParams
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import UsageError

TOKEN_ENV = "LLMSTATS_DASHBOARD_TOKEN"
COOKIE = "llmstats_dashboard"
MIN_TOKEN_CHARS = 16
# plotly.js sets element styles through the CSSOM (allowed by style-src 'self') and needs
# no eval and no worker; its stylesheets stand in the page (routes/pages.py). The one style
# attribute it writes is the bold of a hover label's name (`<b>` in charts.py's hover
# templates → <tspan style="font-weight:bold">): allowed by its hash, that exact text only.
BOLD_STYLE = "font-weight:bold"
BOLD_HASH = "sha256-" + base64.b64encode(hashlib.sha256(BOLD_STYLE.encode()).digest()).decode()
CSP = ("default-src 'self'; script-src 'self'; "
       f"style-src 'self'; style-src-attr 'unsafe-hashes' '{BOLD_HASH}'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> str | None:
    """The token to require (None: none), or a UsageError why it cannot start."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise UsageError(f"{TOKEN_ENV} is too short: use at least {MIN_TOKEN_CHARS} "
                         "random characters (e.g. `openssl rand -hex 24`)")
    if not is_loopback(host) and not token:
        raise UsageError(f"--host {host} is reachable from other machines: set {TOKEN_ENV} "
                         "(at least 16 random characters) to require it on every request")
    return token or None


def cookie_value(token: str) -> str:
    """The session cookie: derived from the token, so the token itself never sits in the
    browser's cookie jar."""
    return hmac.new(token.encode(), b"llmstats dashboard session", hashlib.sha256).hexdigest()


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class TokenGuard:
    """ASGI middleware: the token check (when a token is set) and the security headers."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token
        self.cookie = cookie_value(token) if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        if self.token is None or self.cookie is None:
            await self.app(scope, receive, secured)
            return
        headers = Headers(scope=scope)
        bearer = headers.get("authorization", "")
        if bearer.lower().startswith("bearer ") and _equal(bearer[7:].strip(), self.token):
            await self.app(scope, receive, secured)
            return
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is no session
            cookies = SimpleCookie()
        if COOKIE in cookies and _equal(cookies[COOKIE].value, self.cookie):
            await self.app(scope, receive, secured)
            return
        url = URL(scope=scope)
        query = QueryParams(url.query)
        given = query.get("token")
        if given is not None and scope["method"] == "GET" and _equal(given, self.token):
            rest = [(k, v) for k, v in query.multi_items() if k != "token"]
            target = url.path + (f"?{urlencode(rest)}" if rest else "")
            redirect = RedirectResponse(target, status_code=303)
            redirect.set_cookie(COOKIE, self.cookie, httponly=True, samesite="strict",
                                path="/", secure=scope.get("scheme") == "https")
            await redirect(scope, receive, secured)
            return
        response = PlainTextResponse(
            "401: this dashboard needs its access token (Authorization: Bearer …, or open "
            "it once with ?token=…)\n", status_code=401,
            headers={"www-authenticate": 'Bearer realm="llmstats"'})
        await response(scope, receive, secured)
