"""The HTTP side: path directives, routing to a wire format, errors, the ledger."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import anthropic_api, bedrock_api, cohere_api, gemini_api, openai_api
from .reply import Context, Reply, json_reply
from .tokens import PromptCache, digest

Route = Callable[[Context, dict[str, Any]], Reply]

# Suffix of the path → handler; the first match wins, so longer suffixes come first.
SUFFIX_ROUTES: list[tuple[str, Route]] = [
    ("/chat/completions", openai_api.chat),
    ("/embeddings", openai_api.embeddings),
    ("/images/generations", openai_api.images),
    ("/audio/transcriptions", openai_api.transcription),
    ("/audio/speech", openai_api.speech),
    ("/moderations", openai_api.moderation),
    ("/responses", openai_api.responses),
    ("/messages", anthropic_api.messages),
    ("/rerank", cohere_api.rerank),
]
GEMINI_PATH = re.compile(
    r"/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$"
)
BEDROCK_PATH = re.compile(r"/model/(?P<model>[^/]+)/(?P<method>converse|converse-stream)$")
DIRECTIVE = re.compile(r"^/(?P<kind>fail|flaky|slow)/(?P<arg>[\w.-]+)(?P<rest>/.*)$")

ERROR_CODES = {
    400: "context_length_exceeded",
    401: "invalid_api_key",
    404: "model_not_found",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "overloaded",
}
# OpenAI's `error.type` per status. LiteLLM maps an OpenAI-style error by its body before
# its status (exception_mapping_utils: "invalid_request_error" in the text → BadRequestError),
# so a 5xx labelled invalid_request_error would be reported as a BadRequestError.
OPENAI_ERROR_TYPES = {429: "requests", 500: "server_error", 503: "server_error"}
# Anthropic's `error.type` per status (its error body has no other code).
ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
}


class FakeProvider(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, port: int = 0, ledger: Path | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.cache = PromptCache()
        self.ledger_path = ledger
        self._ledger_lock = threading.Lock()
        self._attempts: Counter[str] = Counter()
        self._attempts_lock = threading.Lock()
        self.requests = 0

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def attempt(self, key: str) -> int:
        with self._attempts_lock:
            self._attempts[key] += 1
            return self._attempts[key]

    def record(self, entry: dict[str, Any]) -> None:
        if self.ledger_path is None:
            return
        line = json.dumps(entry) + "\n"
        with self._ledger_lock, self.ledger_path.open("a") as handle:
            handle.write(line)


def serve_in_thread(port: int = 0, ledger: Path | None = None) -> FakeProvider:
    server = FakeProvider(port, ledger)
    threading.Thread(target=server.serve_forever, name="fake-provider", daemon=True).start()
    return server


def _error(status: int, route: str, request: dict[str, Any], model: str | None) -> Reply:
    code = ERROR_CODES.get(status, "error")
    # Real providers quote the request back in 400s: this is what privacy tests must not find.
    echo = json.dumps(request)[:4000]
    message = f"{code}: could not process request {echo}"
    if route.startswith("anthropic"):
        kind = ANTHROPIC_ERROR_TYPES.get(status, code)
        if status == 400:
            # As Anthropic words a prompt past the window: LiteLLM maps it by this text to
            # ContextWindowExceededError, and no machine-readable code survives.
            message = f"prompt is too long: 210000 tokens > 200000 maximum {echo}"
        payload: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    elif route.startswith("gemini"):
        payload = {"error": {"code": status, "message": message, "status": code.upper()}}
    elif route.startswith("bedrock"):
        payload = {"message": message}
    else:
        kind = OPENAI_ERROR_TYPES.get(status, "invalid_request_error")
        payload = {"error": {"message": message, "type": kind, "code": code}}
    return json_reply(
        payload, {"route": route, "model": model, "status": status, "error": code}, status
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeProvider

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the ledger
        return

    def do_GET(self) -> None:
        self._send(json_reply({"status": "ok"}, {}))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.server.requests += 1
        self._send(self._answer(raw))

    def _answer(self, raw: bytes) -> Reply:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        directives: list[tuple[str, str]] = []
        while match := DIRECTIVE.match(path):
            directives.append((match["kind"], match["arg"]))
            path = match["rest"]
        request = self._parse(raw)
        ctx = Context(cache=self.server.cache, query=dict(parse_qsl(parts.query)))
        route_name, route = self._route(path, ctx, request)
        for kind, arg in directives:
            if kind == "slow":
                time.sleep(float(arg) / 1000.0)
            elif kind == "fail":
                return _error(int(arg), route_name, request, ctx.model or request.get("model"))
            elif kind == "flaky":
                # /flaky/N: the first N attempts of a request fail with a 500;
                # /flaky/N-STATUS: with that status.
                failures, _, status = arg.partition("-")
                if self.server.attempt(digest([path, request])) <= int(failures):
                    model = ctx.model or request.get("model")
                    return _error(int(status or 500), route_name, request, model)
        if route is None:
            return json_reply(
                {"error": {"message": f"no route for {path}"}}, {"route": "none"}, 404
            )
        return route(ctx, request)

    def _parse(self, raw: bytes) -> dict[str, Any]:
        if not raw:
            return {}
        content_type = self.headers.get("Content-Type") or ""
        if content_type.startswith("multipart/form-data"):
            # Audio uploads: only the form fields matter here, the file is ignored.
            fields = dict(re.findall(rb'name="(\w+)"\r\n\r\n([^\r]*)\r\n', raw))
            return {k.decode(): v.decode(errors="replace") for k, v in fields.items()}
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {"input": parsed}

    @staticmethod
    def _route(path: str, ctx: Context, request: dict[str, Any]) -> tuple[str, Route | None]:
        if match := GEMINI_PATH.search(path):
            ctx.model = match["model"]
            ctx.stream = match["method"] == "streamGenerateContent"
            return "gemini.generate", gemini_api.generate
        if match := BEDROCK_PATH.search(path):
            ctx.model = match["model"]
            ctx.stream = match["method"] == "converse-stream"
            return "bedrock.converse", bedrock_api.converse
        ctx.stream = bool(request.get("stream"))
        for suffix, route in SUFFIX_ROUTES:
            if path.endswith(suffix):
                return route.__module__.rsplit(".", 1)[-1].replace(
                    "_api", ""
                ) + "." + route.__name__, route
        return "none", None

    def _send(self, reply: Reply) -> None:
        if reply.ledger:
            self.server.record(
                {
                    **reply.ledger,
                    "status": reply.ledger.get("status", reply.status),
                    "stream": reply.chunks is not None,
                }
            )
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        if reply.chunks is None:
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for chunk in reply.chunks:
            self.wfile.write(chunk)
            self.wfile.flush()
