"""Fixtures: every test that uses ``app``/``client`` runs once on SQLite and once on PostgreSQL.

PostgreSQL comes from ``CONSENTRY_TEST_POSTGRES_URL`` (default: the local server's ``test`` database). Each run
creates databases of its own beside it, named ``CONSENTRY_TEST_DATABASE_PREFIX`` (default ``consentry_test``) and a
random suffix, and drops them at the end; with a prefix of its own, a second checkout can test on the same server at
the same time. With ``CI=true`` an unreachable PostgreSQL stops the run at once with one line, instead of skipping.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from app.db.migrate import upgrade_to_head
from app.main import create_app
from app.settings import Settings

POSTGRES_URL = os.environ.get("CONSENTRY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
DATABASE_PREFIX = os.environ.get("CONSENTRY_TEST_DATABASE_PREFIX", "consentry_test")
TABLES = (
    "security_events", "grant_uses", "oauth1_tokens", "oauth1_temporary_credentials", "oauth1_nonces", "oauth_tokens",
    "authorization_codes", "authorization_requests", "grants", "apps", "login_sessions", "accounts",
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI PostgreSQL is required: without it, stop before the first test with one clear line (each of hundreds
    of tests used to fail on its own, with a traceback apiece)."""
    if not IN_CI:
        return
    admin = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        psycopg.connect(admin, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        pytest.exit(f"PostgreSQL at {POSTGRES_URL} is required in CI and unreachable: {reason}", returncode=1)


def new_database_name() -> str:
    """A name for a database of this run's own."""
    return f"{DATABASE_PREFIX}_{uuid.uuid4().hex[:10]}"


def _postgres_database(name: str) -> Iterator[str]:
    admin = make_url(POSTGRES_URL)
    try:
        conn = psycopg.connect(admin.set(drivername="postgresql").render_as_string(hide_password=False),
                               autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required in CI and unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} unreachable: {exc}")
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin.set(drivername="postgresql").render_as_string(hide_password=False),
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of each engine, shared by the session and emptied before every test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'consentry.db'}"
        upgrade_to_head(url)
        yield url
        return
    generator = _postgres_database(new_database_name())
    url = next(generator)
    upgrade_to_head(url)
    yield url
    next(generator, None)


@pytest.fixture
def backend(database_url: str) -> str:
    return "postgres" if database_url.startswith("postgresql") else "sqlite"


def _empty_tables(database_url: str) -> None:
    engine = create_engine(make_url(database_url).set(
        drivername="postgresql+psycopg" if database_url.startswith("postgresql") else "sqlite"))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
        else:
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    _empty_tables(database_url)
    return Settings(database_url=database_url, base_url="http://testserver")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    yield application
    await application.state.consentry.database.dispose()


def client_for(app: Starlette, *, ip: str = "127.0.0.1", user_agent: str | None = None,
               token: str | None = None) -> httpx.AsyncClient:
    """An HTTP client talking to the app in-process, as if from ``ip`` with ``user_agent``."""
    headers: dict[str, str] = {}
    if user_agent:
        headers["user-agent"] = user_agent
    if token:
        headers["authorization"] = f"Bearer {token}"
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A real uvicorn server on a free loopback port, in a thread of its own."""

    def __init__(self, settings: Settings, *, pooled: bool = False) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Unpooled, so the test's event loop and the server thread's loop can both use the app's database. Pooled
        # (as in production) only when the test reaches the database through another app, never through this one.
        self.settings = settings.with_overrides(base_url=self.url, database_pooling=pooled)
        self.app = create_app(self.settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


REDIS_URL = os.environ.get("CONSENTRY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The suite's Redis database (``CONSENTRY_TEST_REDIS_URL``): required in CI, skipped without it elsewhere."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis at {REDIS_URL} is required in CI and unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} unreachable: {exc}")
    yield REDIS_URL
