"""The async engines' pool serves requests waiting for a connection in the order they came (``app/pool.py``).

Each test holds the only connection of a one-connection pool, lines requests up behind it, and checks who gets it
next, on a real engine (SQLite file) the way the app's requests check connections out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db.engines import create_database
from app.db.pool import FirstComePool


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}", poolclass=FirstComePool,
                                 pool_size=1, max_overflow=0, pool_timeout=5)
    yield engine
    await engine.dispose()


async def _use(engine: AsyncEngine, name: str, order: list[str]) -> None:
    async with engine.connect() as conn:
        order.append(name)
        assert (await conn.execute(text("SELECT 1"))).scalar() == 1


async def _waiting(engine: AsyncEngine, name: str, order: list[str]) -> asyncio.Task[None]:
    task = asyncio.create_task(_use(engine, name, order))
    await asyncio.sleep(0.05)  # long enough to find the pool empty and queue up
    assert not task.done()
    return task


async def test_a_returned_connection_goes_to_the_request_that_waited_not_to_a_newcomer(engine: AsyncEngine) -> None:
    order: list[str] = []
    holder = await engine.connect()
    waiting = await _waiting(engine, "waited", order)
    await holder.close()  # wakes the waiting request...
    await _use(engine, "newcomer", order)  # ...and a new one asks before that request has run
    await waiting
    assert order == ["waited", "newcomer"]


async def test_requests_are_served_in_the_order_they_started_waiting(engine: AsyncEngine) -> None:
    order: list[str] = []
    holder = await engine.connect()
    tasks = [await _waiting(engine, name, order) for name in ("first", "second", "third")]
    await holder.close()
    await asyncio.gather(*tasks)
    assert order == ["first", "second", "third"]


async def test_a_request_that_waits_too_long_gets_the_pool_timeout_and_takes_nothing_with_it(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'timeout.db'}", poolclass=FirstComePool,
                                 pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        holder = await engine.connect()
        with pytest.raises(exc.TimeoutError):
            await engine.connect()
        await holder.close()
        order: list[str] = []
        await asyncio.wait_for(_use(engine, "after", order), timeout=2)  # the connection was not lost
        assert order == ["after"]
    finally:
        await engine.dispose()


async def test_a_request_cancelled_as_it_is_handed_the_connection_passes_it_on(engine: AsyncEngine) -> None:
    order: list[str] = []
    holder = await engine.connect()
    cancelled = await _waiting(engine, "cancelled", order)
    next_in_line = await _waiting(engine, "next", order)
    await holder.close()  # hands the connection to the first waiter...
    cancelled.cancel()  # ...which is cancelled before it can run
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.wait_for(next_in_line, timeout=2)
    assert order == ["next"]
    assert engine.pool.checkedin() == 1  # type: ignore[attr-defined]


def test_the_app_uses_it_for_pooled_async_engines_on_files_and_servers() -> None:
    assert isinstance(create_database("sqlite:////tmp/consentry-pool-check.db").async_engine.pool, FirstComePool)
    assert isinstance(create_database("postgresql://postgres@127.0.0.1:5432/test").async_engine.pool, FirstComePool)
    assert not isinstance(create_database("sqlite://").async_engine.pool, FirstComePool)  # in memory: one connection
    assert not isinstance(create_database("sqlite:////tmp/x.db", pooled=False).async_engine.pool, FirstComePool)
