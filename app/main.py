"""The ASGI application: Starlette routes for GraphQL, OAuth, pages and probes over one database."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from app.db.engines import create_database
from app.graphql.endpoint import graphql_routes
from app.http import health
from app.http.faults import DatabaseFaultMiddleware
from app.http.hsts import StrictTransportSecurityMiddleware
from app.http.logs import RequestContextMiddleware, configure_logging
from app.http.request_body import RequestBodyMiddleware
from app.http.state import AppState, DatabaseSessionMiddleware
from app.oauth.routes import routes as oauth_routes
from app.services.oauth1.nonces import NonceStore
from app.services.permissions import load_catalog
from app.services.ratelimit import LoginLimiter
from app.settings import Settings, load_settings
from app.web.routes import routes as web_routes


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    settings.validate()
    configure_logging(settings.log_level)
    state = AppState(
        settings=settings,
        database=create_database(settings.database_url, pooled=settings.database_pooling,
                                 timeout_seconds=settings.database_timeout_seconds),
        catalog=load_catalog(settings.permission_catalog_path),
        login_limiter=LoginLimiter(per_account=settings.login_attempts_per_account,
                                   per_ip=settings.login_attempts_per_ip, per_device=settings.login_attempts_per_device,
                                   slowdown_seconds=settings.login_slowdown_seconds, redis_url=settings.redis_url),
        oauth1_nonces=NonceStore(settings.redis_url),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if settings.is_production:
            # Everything built so far (modules, schema, catalogue) lives as long as the process: moved out of the
            # garbage collector's generations, it is no longer walked by the collections a busy worker runs (worth
            # about a fifth of the settings page's throughput under load). Garbage is collected first, so none of
            # it is kept for good. Development servers and tests, which build many apps, are left alone.
            gc.collect()
            gc.freeze()
        yield
        await state.oauth1_nonces.close()
        await state.database.dispose()

    # Outermost first: production's HSTS header goes on every answer; the request ID covers everything; the whole
    # body is read (within its size and time bounds) before any database work, so no request holds a connection
    # while its client is still sending; database faults become 503s before Starlette's error middleware could turn
    # them into 500s; the per-request session sits closest to the routes.
    middleware = [
        *([Middleware(StrictTransportSecurityMiddleware)] if settings.is_production else []),
        Middleware(RequestContextMiddleware),
        Middleware(RequestBodyMiddleware, timeout_seconds=settings.request_body_timeout_seconds),
        Middleware(DatabaseFaultMiddleware),
        Middleware(DatabaseSessionMiddleware, database=state.database),
    ]
    app = Starlette(
        debug=False,
        routes=[*health.routes, *graphql_routes(settings), *oauth_routes, *web_routes],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.consentry = state
    return app
