"""Pooled PostgreSQL connections: one that sat idle is pinged before use and replaced if the server dropped it, so
the request that takes it still succeeds; one in steady use is not pinged (no extra round trip per request)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.db.engines import Database, create_database
from tests.hardening.proxy import TcpProxy


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[TcpProxy]:
    real = make_url(postgres_url)
    tcp = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    await tcp.start()
    yield tcp
    if tcp.running:
        await tcp.stop()


@pytest.fixture
def postgres_url(database_url: str, backend: str) -> str:
    if backend != "postgres":
        pytest.skip("a SQLite file has no connection to lose")
    return database_url


def _through(proxy: TcpProxy, url: str, *, idle_seconds: float) -> Database:
    proxied = make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    return create_database(proxied, ping_after_idle_seconds=idle_seconds)


async def _select_one(database: Database) -> int:
    async with database.async_engine.connect() as conn:
        return int((await conn.execute(text("SELECT 1"))).scalar_one())


def _sync_select_one(database: Database) -> int:
    with database.sync_sessions() as session:
        return int(session.execute(text("SELECT 1")).scalar_one())


async def _server_restart(proxy: TcpProxy) -> None:
    await proxy.stop()  # every open connection is cut, as when PostgreSQL restarts
    await proxy.start()


async def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    proxy: TcpProxy, postgres_url: str,
) -> None:
    database = _through(proxy, postgres_url, idle_seconds=0)
    try:
        assert await _select_one(database) == 1
        await _server_restart(proxy)
        assert await _select_one(database) == 1  # pinged, found dead, reconnected: no error reaches the caller
        # Authlib's engine behaves the same (in a thread: the proxy runs on this event loop).
        assert await asyncio.to_thread(_sync_select_one, database) == 1
        await _server_restart(proxy)
        assert await asyncio.to_thread(_sync_select_one, database) == 1
    finally:
        await database.dispose()


async def test_a_connection_in_steady_use_is_not_pinged_and_a_drop_fails_once(
    proxy: TcpProxy, postgres_url: str,
) -> None:
    database = _through(proxy, postgres_url, idle_seconds=3600)
    statements: list[str] = []
    event.listen(database.async_engine.sync_engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_args: statements.append(statement))
    try:
        for _ in range(3):
            assert await _select_one(database) == 1
        assert statements == ["SELECT 1"] * 3  # no ping between uses
        await _server_restart(proxy)
        with pytest.raises(DBAPIError) as failed:
            await _select_one(database)
        assert failed.value.connection_invalidated  # which the app answers with a 503 (see test_database_faults)
        assert await _select_one(database) == 1  # the pool was invalidated: the next request reconnects
    finally:
        await database.dispose()
