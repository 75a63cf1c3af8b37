"""app.services.grants: connected apps, revoking access, and approving pending authorization requests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.models import App, AuthorizationCode, Grant, utcnow
from app.services.errors import NotFound
from app.services.grants import (
    approve_authorization_request,
    create_authorization_request,
    get_connected_app,
    list_connected_apps,
    position_of,
)
from app.services.oauth.revocation import RevokedApp, revoke_access
from app.services.sessions import authenticate_token
from tests.oauth.helpers import Person, authorize_params, location_base, pkce_pair, register, sign_in, start


async def _connect(app: Starlette, person: Person, reg_app: App, scopes: list[str]) -> str:
    """Approve a request for ``scopes`` through the services; returns the redirect URI with the code."""
    state = app.state.consentry
    async with state.database.async_sessions() as db:
        login = await authenticate_token(db, token=person.token, policy=state.session_policy)
        assert login is not None
        request = await create_authorization_request(
            db, account=person.account, session_id=login.session.id, app=reg_app,
            redirect_uri=reg_app.redirect_uris[0], scopes=scopes, state=None, code_challenge="c" * 43,
            code_challenge_method="S256", settings=state.settings)
        return await approve_authorization_request(db, account=person.account, session_id=login.session.id,
                                                   request_id=request.id, settings=state.settings)


@pytest.fixture
async def person(app: Starlette) -> Person:
    return await sign_in(app, "alice")


async def _grant(app: Starlette, app_id: uuid.UUID) -> Grant:
    async with app.state.consentry.database.async_sessions() as db:
        return (await db.execute(select(Grant).where(Grant.app_id == app_id))).scalar_one()


async def test_approving_again_adds_scopes_and_a_revoked_grant_restarts(app: Starlette, person: Person) -> None:
    reg = await register(app)
    await _connect(app, person, reg.app, ["users.read"])
    await _connect(app, person, reg.app, ["tweet.read"])
    assert (await _grant(app, reg.app.id)).scopes == "tweet.read users.read"
    async with app.state.consentry.database.async_sessions() as db:
        await revoke_access(db, account=person.account, app_id=reg.app.id)
    await _connect(app, person, reg.app, ["tweet.write"])
    grant = await _grant(app, reg.app.id)
    assert grant.scopes == "tweet.write" and grant.revoked_at is None


async def test_list_connected_apps_most_recently_used_first_with_total(app: Starlette, person: Person) -> None:
    apps = [await register(app, name=f"App {i}") for i in range(3)]
    for reg in apps:
        await _connect(app, person, reg.app, ["users.read"])
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(Grant).where(Grant.app_id == apps[0].app.id).values(
            last_used_at=utcnow() + timedelta(minutes=5)))
        await db.commit()
        await revoke_access(db, account=person.account, app_id=apps[1].app.id)
        listed = await list_connected_apps(db, account=person.account, limit=10)
        grants = listed.rows
        assert (listed.total, listed.has_more) == (2, False)
        assert [g.app_id for g in grants] == [apps[0].app.id, apps[2].app.id]
        after_first = await list_connected_apps(db, account=person.account, limit=10, after=position_of(grants[0]))
        assert ([g.app_id for g in after_first.rows], after_first.total) == ([apps[2].app.id], 2)
        assert (await get_connected_app(db, account=person.account, grant_id=grants[0].id)).id == grants[0].id
        bob = await sign_in(app, "bob")
        with pytest.raises(NotFound):
            await get_connected_app(db, account=bob.account, grant_id=grants[0].id)


async def test_revoke_access_of_an_app_not_connected_is_not_found_and_changes_nothing(
        app: Starlette, person: Person) -> None:
    reg = await register(app)
    await _connect(app, person, reg.app, ["users.read"])
    bob = await sign_in(app, "bob")
    unconnected = await register(app, name="Unconnected")
    async with app.state.consentry.database.async_sessions() as db:
        for account, app_id in ((bob.account, reg.app.id), (person.account, None), (person.account, uuid.uuid4()),
                                (person.account, unconnected.app.id)):
            with pytest.raises(NotFound) as error:
                await revoke_access(db, account=account, app_id=app_id)
            assert error.value.field == "appId"
    assert (await _grant(app, reg.app.id)).revoked_at is None


async def test_revoke_access_kills_pending_codes_and_asks_consent_again(
        app: Starlette, client: httpx.AsyncClient, person: Person) -> None:
    reg = await register(app)
    await _connect(app, person, reg.app, ["users.read"])
    async with app.state.consentry.database.async_sessions() as db:
        returned = await revoke_access(db, account=person.account, app_id=reg.app.id)
        assert returned.app.id == reg.app.id
        live_codes = await db.scalar(select(func.count()).select_from(AuthorizationCode).where(
            AuthorizationCode.used_at.is_(None)))
    assert live_codes == 0
    again = await start(client, person, authorize_params(reg, pkce_pair()[1], scope="users.read"))
    assert location_base(again) == "/oauth/consent"


async def test_two_concurrent_revokes_both_succeed(app: Starlette, person: Person) -> None:
    reg = await register(app)
    await _connect(app, person, reg.app, ["users.read"])
    database = app.state.consentry.database
    both_have_read = asyncio.Barrier(2)

    async def revoke_once() -> RevokedApp:
        # Each revoke reads the active grant, then waits until the other has read it too: a true race.
        async with database.async_sessions() as db:
            execute = db.execute
            seen = 0

            async def execute_then_meet(*args: Any, **kwargs: Any) -> Any:
                nonlocal seen
                result = await execute(*args, **kwargs)
                seen += 1
                if seen == 1:
                    await both_have_read.wait()
                return result

            db.execute = execute_then_meet  # type: ignore[method-assign]
            return await revoke_access(db, account=person.account, app_id=reg.app.id)

    results = await asyncio.gather(revoke_once(), revoke_once())
    assert [r.app.id for r in results] == [reg.app.id, reg.app.id]
    assert (await _grant(app, reg.app.id)).revoked_at is not None
