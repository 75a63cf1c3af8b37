"""Fixtures of the hardening tests: the production profile, PostgreSQL-only tests, several apps on one database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.conftest import client_for
from tests.hardening.servers import ServerProcess

PRODUCTION_SECRET = "production-secret-key-for-tests-0123456789abcdef"


def production(settings: Settings) -> Settings:
    return settings.with_overrides(environment="production", secret_key=PRODUCTION_SECRET,
                                   base_url="https://testserver")


@pytest.fixture
async def production_app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(production(settings))
    yield application
    await application.state.consentry.database.dispose()


@pytest.fixture
async def production_client(production_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=production_app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield http


@pytest.fixture
def postgres_only(backend: str) -> None:
    """Races need a database that runs writers concurrently; SQLite serialises them by design."""
    if backend != "postgres":
        pytest.skip("a PostgreSQL race test")



@pytest.fixture
async def make_apps(settings: Settings) -> AsyncIterator[Callable[..., Starlette]]:
    """Build extra apps (each its own engines and limiter, like separate worker processes) over the same database."""
    built: list[Starlette] = []

    def make(**overrides: object) -> Starlette:
        application = create_app(settings.with_overrides(**overrides))
        built.append(application)
        return application

    yield make
    for application in built:
        await application.state.consentry.database.dispose()


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Open ``client_for`` clients that are all closed at the end of the test."""
    async with AsyncExitStack() as stack:
        def open_client(app: Starlette, **kwargs: object) -> httpx.AsyncClient:
            http = client_for(app, **kwargs)  # type: ignore[arg-type]
            stack.push_async_callback(http.aclose)
            return http

        yield open_client


@pytest.fixture
def two_servers(settings: Settings, postgres_only: None) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two ``uvicorn`` processes of the app on the test's PostgreSQL database."""
    servers = (ServerProcess(settings), ServerProcess(settings))
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()
