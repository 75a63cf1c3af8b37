"""SQLite work that does nothing costs nothing: no rollback round trips with nothing to undo, no PRAGMA per sign-in.

Every aiosqlite call is a round trip through the connection's own thread, and a request that only read used to pay
two of them when its session closed (the session's rollback, then the pool's reset-on-return) for rollbacks that
sqlite3 turns into no-ops. The tests count the calls that reach aiosqlite, and check that a failed write is still
undone and never committed by the next request that gets the same pooled connection.

A sign-in used to switch a pooled connection to autocommit and back, and the switch back ran a PRAGMA; SQLite's
own trace shows what a sign-in sends now (its read on the autocommit engine, its writes in one transaction on the
other engine).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import httpx
import pytest
from sqlalchemy import event, text
from starlette.applications import Starlette

from app.db.engines import Database, create_database, transaction
from tests.factories import graphql_data, login, make_account


@pytest.fixture
def rollbacks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per rollback that reached an aiosqlite connection: whether it had a transaction to undo."""
    seen: list[bool] = []
    rollback = aiosqlite.Connection.rollback

    async def counting(self: aiosqlite.Connection) -> None:
        seen.append(self.in_transaction)
        await rollback(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", counting)
    return seen


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = create_database(f"sqlite:///{tmp_path / 'rollbacks.db'}")
    with database.sync_engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield database
    await database.dispose()


def _bodies(database: Database) -> list[str]:
    with database.sync_engine.connect() as conn:
        return [row.body for row in conn.execute(text("SELECT body FROM notes ORDER BY id"))]


async def test_a_session_that_only_read_sends_no_rollback(database: Database, rollbacks: list[bool]) -> None:
    for _ in range(2):  # the second session gets the pooled connection the first one returned
        async with database.async_sessions() as db:
            assert (await db.execute(text("SELECT count(*) FROM notes"))).scalar() == 0
    assert rollbacks == []


async def test_a_failed_write_is_undone_and_not_committed_by_the_connections_next_user(
    database: Database, rollbacks: list[bool]
) -> None:
    with pytest.raises(RuntimeError, match="the rest of the change failed"):
        async with database.async_sessions() as db, transaction(db):
            await db.execute(text("INSERT INTO notes (body) VALUES ('half-written')"))
            raise RuntimeError("the rest of the change failed")
    assert rollbacks == [True]  # the session's rollback undid it; the pool's reset had nothing left to do

    async with database.async_sessions() as db, transaction(db):
        await db.execute(text("INSERT INTO notes (body) VALUES ('whole')"))
    assert _bodies(database) == ["whole"]


async def test_a_write_left_open_is_rolled_back_when_its_connection_goes_back(
    database: Database, rollbacks: list[bool]
) -> None:
    async with database.async_engine.connect() as conn:  # no transaction block: closing must still undo it
        await conn.execute(text("INSERT INTO notes (body) VALUES ('never committed')"))
    assert rollbacks == [True]
    assert _bodies(database) == []


async def test_a_signed_in_read_over_graphql_makes_no_rollback_round_trip(
    app: Starlette, client: httpx.AsyncClient, backend: str, rollbacks: list[bool]
) -> None:
    if backend != "sqlite":
        pytest.skip("aiosqlite only")
    await make_account(app, "reader")
    token = await login(client, "reader")
    rollbacks.clear()
    data: dict[str, Any] = await graphql_data(
        client, "{ viewer { username sessions { totalCount } connectedApps { totalCount } } }", token=token)
    assert data["viewer"] == {"username": "reader", "sessions": {"totalCount": 1}, "connectedApps": {"totalCount": 0}}
    assert rollbacks == []


async def test_a_sign_in_sends_its_select_then_one_transaction_of_two_inserts_and_nothing_else(
    app: Starlette, client: httpx.AsyncClient, backend: str
) -> None:
    """A sign-in reads on the autocommit engine (no BEGIN or COMMIT around the read) and writes its session and its
    security event in one transaction, and no PRAGMA is sent (no isolation level is switched back and forth)."""
    if backend != "sqlite":
        pytest.skip("SQLite's own statement trace")
    await make_account(app, "signer")
    database = app.state.consentry.database
    sent: list[str] = []

    def trace(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.set_trace_callback(sent.append)

    for engine in (database.sync_autocommit_engine, database.sync_engine):
        event.listen(engine, "checkout", trace)
    try:
        tokens = [await login(client, "signer") for _ in range(2)]  # the second reuses the first one's connections
    finally:
        for engine in (database.sync_autocommit_engine, database.sync_engine):
            event.remove(engine, "checkout", trace)
    assert len(set(tokens)) == 2
    assert [statement.split()[0].upper() for statement in sent] == ["SELECT", "BEGIN", "INSERT", "INSERT",
                                                                   "COMMIT"] * 2, sent
    assert "INSERT INTO security_events" in sent[3]
