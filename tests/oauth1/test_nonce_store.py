"""The nonce store is shared by every worker process: Redis when CONSENTRY_REDIS_URL is set (the database when
Redis fails), else the database; what expires with the timestamp window is purged."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.main import create_app
from app.models import OAuth1Nonce, utcnow
from app.services.apps import RegisteredApp
from app.services.purge import purge_expired
from app.services.sessions import SessionPolicy
from app.settings import Settings
from tests.oauth.helpers import Person
from tests.oauth1.helpers import Credentials, connect, form, https_client, me


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[list[Starlette]]:
    """Apps built like separate worker processes over the same database (each its own engines and nonce store)."""
    built: list[Starlette] = []
    yield built
    for application in built:
        await application.state.consentry.oauth1_nonces.close()
        await application.state.consentry.database.dispose()


async def _nonce_rows(app: Starlette) -> int:
    async with app.state.consentry.database.async_sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(OAuth1Nonce)) or 0)


async def _replayed_on_another_worker(first: Starlette, second: Starlette, reg: RegisteredApp,
                                      token: Credentials) -> httpx.Response:
    now = int(time.time())
    nonce = f"shared-{time.time_ns()}"
    async with https_client(first) as one, https_client(second) as two:
        assert (await me(one, reg, token, nonce=nonce, timestamp=now)).status_code == 200
        return await me(two, reg, token, nonce=nonce, timestamp=now)


async def test_a_replay_on_another_worker_is_refused_through_redis(
        app: Starlette, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp, settings: Settings,
        worker: list[Starlette], redis_url: str) -> None:
    """With Redis, worker B refuses what worker A accepted, and the database keeps no nonce."""
    token = await connect(http, person, oauth1_app)
    before = await _nonce_rows(app)
    worker += [create_app(settings.with_overrides(redis_url=redis_url)) for _ in range(2)]
    replay = await _replayed_on_another_worker(worker[0], worker[1], oauth1_app, token)
    assert replay.status_code == 401 and form(replay)["error"] == "invalid_nonce"
    assert await _nonce_rows(app) == before


async def test_without_redis_the_database_is_the_shared_store_and_a_failing_redis_falls_back_to_it(
        app: Starlette, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp, settings: Settings,
        worker: list[Starlette]) -> None:
    """Without Redis (and with a Redis nobody answers at) the database refuses the replay across workers."""
    token = await connect(http, person, oauth1_app)
    worker += [create_app(settings), create_app(settings.with_overrides(redis_url="redis://127.0.0.1:9/0"))]
    before = await _nonce_rows(app)
    replay = await _replayed_on_another_worker(worker[0], worker[1], oauth1_app, token)
    assert replay.status_code == 401 and form(replay)["error"] == "invalid_nonce"
    assert await _nonce_rows(app) == before + 1


async def test_purge_expired_deletes_nonces_past_the_window(app: Starlette, settings: Settings) -> None:
    """A nonce whose timestamp left the window guards nothing: purge-expired deletes it, and keeps the others."""
    async with app.state.consentry.database.async_sessions() as db:
        db.add_all([OAuth1Nonce(nonce_digest="a" * 64, expires_at=utcnow() - timedelta(seconds=1)),
                    OAuth1Nonce(nonce_digest="b" * 64, expires_at=utcnow() + timedelta(minutes=5))])
        await db.commit()
        purged = await purge_expired(db, policy=SessionPolicy.of(settings))
        left = list((await db.execute(select(OAuth1Nonce.nonce_digest))).scalars())
    assert purged.oauth1_nonces == 1 and left == ["b" * 64]
