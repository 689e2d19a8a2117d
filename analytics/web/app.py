"""The dashboard app: routes, the token guard and security headers, the data source."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from .answer_cache import LIMIT_BYTES
from .auth import TokenGuard
from .data_source import DataSource
from .engine_limits import EngineLimits
from .routes import api, pages


@dataclass(frozen=True)
class ServeSettings:
    data_dir: str | None
    token: str | None = None
    poll_seconds: float = 3.0
    per_client: int = 4
    limits: EngineLimits = field(default_factory=EngineLimits)
    cache_bytes: int = LIMIT_BYTES


def create_app(settings: ServeSettings) -> Starlette:
    source = DataSource(settings.data_dir, per_client=settings.per_client,
                        limits=settings.limits, cache_bytes=settings.cache_bytes)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=pages.warm_assets, name="warm-assets", daemon=True).start()
        threading.Thread(target=source.warm, name="warm-dataset", daemon=True).start()
        yield
        source.close()

    app = Starlette(
        routes=[*api.ROUTES, *pages.ROUTES],
        # The guard is outermost: nothing (not even a 404) answers without the token.
        middleware=[Middleware(TokenGuard, token=settings.token),
                    Middleware(GZipMiddleware, minimum_size=2048)],
        lifespan=lifespan,
    )
    app.state.source = source
    app.state.poll_seconds = settings.poll_seconds
    return app
