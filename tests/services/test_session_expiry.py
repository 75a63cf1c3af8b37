"""Idle timeout and absolute lifetime are enforced on the server from stored times."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update
from starlette.applications import Starlette

from app.models import LoginSession, utcnow
from tests.factories import graphql, graphql_data, login, make_account


async def _age_sessions(app: Starlette, **values: object) -> None:
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(LoginSession).values(**values))
        await db.commit()


async def test_h32_idle_session_is_refused(client: httpx.AsyncClient, app: Starlette) -> None:
    """A session unused for longer than the idle timeout is refused as UNAUTHENTICATED on its next request."""
    await make_account(app)
    token = await login(client)
    idle = app.state.consentry.settings.session_idle_timeout
    await _age_sessions(app, last_active_at=utcnow() - idle - timedelta(seconds=1))
    body = await graphql(client, "{ viewer { username } }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_h32_session_past_its_absolute_lifetime_is_refused_even_when_active(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    """A session older than the absolute lifetime is refused as UNAUTHENTICATED even though it was just used."""
    await make_account(app)
    token = await login(client)
    lifetime = app.state.consentry.settings.session_absolute_lifetime
    await _age_sessions(app, signed_in_at=utcnow() - lifetime - timedelta(seconds=1), last_active_at=utcnow())
    body = await graphql(client, "{ viewer { username } }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_activity_is_recorded_at_most_once_a_minute(client: httpx.AsyncClient, app: Starlette) -> None:
    await make_account(app)
    token = await login(client)
    stale = utcnow() - timedelta(minutes=5)
    await _age_sessions(app, last_active_at=stale)
    query = "{ viewer { sessions { nodes { lastActiveAt } } } }"
    first = (await graphql_data(client, query, token=token))["viewer"]["sessions"]["nodes"][0]["lastActiveAt"]
    second = (await graphql_data(client, query, token=token))["viewer"]["sessions"]["nodes"][0]["lastActiveAt"]
    assert first == second  # the second request within a minute did not write again
    assert first > stale.isoformat()


async def test_h34_disabled_accounts_cannot_sign_in_or_use_sessions(client: httpx.AsyncClient, app: Starlette) -> None:
    """Once an account is disabled, its existing sessions are refused as UNAUTHENTICATED and signing in with the right
    password gives no token."""
    from app.models import Account

    await make_account(app)
    token = await login(client)
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(Account).values(is_disabled=True))
        await db.commit()
    body = await graphql(client, "{ viewer { username } }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    data = await graphql_data(client, 'mutation { login(input: {username: "alice", '
                                      'password: "correct horse battery staple"}) { token userErrors { code } } }')
    assert data["login"]["token"] is None
