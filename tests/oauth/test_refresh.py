"""SECURITY.md E19-E23: refresh tokens are rotated, reuse kills the family, and they end with the grant."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.models import Account, OAuthToken
from app.services.apps import RegisteredApp
from app.services.oauth.revocation import revoke_access
from tests.oauth.helpers import Person, call_me, introspect, refresh, register, tokens_for


def _invalid_grant(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"


async def test_e19_refresh_tokens_only_with_offline_access(client: httpx.AsyncClient, person: Person,
                                                           reg: RegisteredApp) -> None:
    """A refresh token is issued only when offline.access was granted."""
    without = await tokens_for(client, person, reg, scope="tweet.read users.read")
    assert without.refresh_token is None and "refresh_token" not in without.body
    with_offline = await tokens_for(client, person, reg, scope="users.read offline.access")
    assert with_offline.refresh_token


async def test_e19_each_refresh_rotates_and_the_old_token_dies(client: httpx.AsyncClient, person: Person,
                                                               reg: RegisteredApp) -> None:
    """Each refresh returns a new refresh token and a new access token with the same scope, and the new ones work."""
    tokens = await tokens_for(client, person, reg)
    first = await refresh(client, reg, tokens.refresh_token or "")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["refresh_token"] != tokens.refresh_token and body["access_token"] != tokens.access_token
    assert body["scope"] == tokens.scope
    second = await refresh(client, reg, body["refresh_token"])
    assert second.status_code == 200
    assert (await call_me(client, second.json()["access_token"])).status_code == 200


async def test_e20_reusing_a_rotated_refresh_token_revokes_the_family(client: httpx.AsyncClient, person: Person,
                                                                      reg: RegisteredApp) -> None:
    """Presenting a refresh token that was already rotated is invalid_grant and revokes the whole family: the newest
    refresh token and every access token of it stop working."""
    tokens = await tokens_for(client, person, reg)
    rotated = (await refresh(client, reg, tokens.refresh_token or "")).json()
    _invalid_grant(await refresh(client, reg, tokens.refresh_token or ""))
    _invalid_grant(await refresh(client, reg, rotated["refresh_token"]))
    assert (await call_me(client, rotated["access_token"])).status_code == 401
    assert (await call_me(client, tokens.access_token)).status_code == 401


async def test_e21_another_clients_refresh_token_is_invalid_grant_and_untouched(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """A refresh token presented by another app is invalid_grant and stays usable by the app it belongs to."""
    other = await register(app, name="Other App")
    tokens = await tokens_for(client, person, reg)
    _invalid_grant(await refresh(client, other, tokens.refresh_token or ""))
    assert (await refresh(client, reg, tokens.refresh_token or "")).status_code == 200


async def test_e21_wider_scope_than_granted_is_invalid_scope(client: httpx.AsyncClient, person: Person,
                                                             reg: RegisteredApp) -> None:
    """Refreshing with a wider scope than granted is invalid_scope; a narrower scope is granted as asked."""
    tokens = await tokens_for(client, person, reg, scope="users.read offline.access")
    wider = await refresh(client, reg, tokens.refresh_token or "", scope="users.read tweet.write offline.access")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    narrower = await refresh(client, reg, tokens.refresh_token or "", scope="users.read")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "users.read"



async def test_e21_a_narrowed_refresh_keeps_the_refresh_token_at_its_original_scope(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """Narrowing the access token's scope at refresh leaves the new refresh token at its original scope, so a later
    refresh can return to the full scope."""
    # RFC 6749 §6: the new refresh token's scope is the old one's, whatever the access token was narrowed to.
    tokens = await tokens_for(client, person, reg, scope="tweet.read users.read offline.access")
    narrowed = await refresh(client, reg, tokens.refresh_token or "", scope="tweet.read\t tweet.read")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "tweet.read"  # normalised, not echoed raw
    assert "refresh_token" in narrowed.json()  # offline access goes on although the request left it out
    rt = narrowed.json()["refresh_token"]
    active = await introspect(client, reg, rt)
    assert active.json()["scope"] == "offline.access tweet.read users.read"
    assert (await introspect(client, reg, narrowed.json()["access_token"])).json()["scope"] == "tweet.read"

    again = await refresh(client, reg, rt, scope="users.read offline.access")
    assert again.status_code == 200, again.text
    assert again.json()["scope"] == "offline.access users.read"
    full = await refresh(client, reg, again.json()["refresh_token"])
    assert full.status_code == 200 and full.json()["scope"] == "offline.access tweet.read users.read"
    assert (await call_me(client, full.json()["access_token"])).status_code == 200

async def test_e22_refresh_after_the_person_revokes_the_app_is_invalid_grant(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """Once the person revokes the app, its refresh token is invalid_grant."""
    tokens = await tokens_for(client, person, reg)
    async with app.state.consentry.database.async_sessions() as db:
        await revoke_access(db, account=person.account, app_id=reg.app.id)
    _invalid_grant(await refresh(client, reg, tokens.refresh_token or ""))


async def test_e22_refresh_of_a_disabled_account_is_invalid_grant(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """Once the account is disabled, its apps' refresh tokens are invalid_grant and their access tokens get 401."""
    tokens = await tokens_for(client, person, reg)
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(Account).where(Account.id == person.account.id).values(is_disabled=True))
        await db.commit()
    _invalid_grant(await refresh(client, reg, tokens.refresh_token or ""))
    assert (await call_me(client, tokens.access_token)).status_code == 401


async def test_e23_parallel_refreshes_one_succeeds_the_rest_400(
        backend: str, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """On PostgreSQL, ten parallel refreshes of one token give exactly one success; the other nine are 400
    invalid_grant."""
    if backend != "postgres":
        pytest.skip("row-level races are a PostgreSQL property; SQLite serialises writers")
    for _ in range(3):
        tokens = await tokens_for(client, person, reg)
        responses = await asyncio.gather(*(refresh(client, reg, tokens.refresh_token or "") for _ in range(10)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [400] * 9, statuses
        assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)


async def test_revoke_racing_refreshes_leaves_no_live_token(
        app: Starlette, backend: str, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    # SECURITY J44, which the lock order of app/oauth/storage.py / revocation.revoke_access exists for.
    if backend != "postgres":
        pytest.skip("row-level races are a PostgreSQL property; SQLite serialises writers")
    for _ in range(8):
        tokens = await tokens_for(client, person, reg)

        async def revoke_now() -> None:
            async with app.state.consentry.database.async_sessions() as db:
                await revoke_access(db, account=person.account, app_id=reg.app.id)

        results = await asyncio.gather(refresh(client, reg, tokens.refresh_token or ""), revoke_now())
        refreshed = results[0]
        assert refreshed.status_code in (200, 400)
        if refreshed.status_code == 200:
            assert (await call_me(client, refreshed.json()["access_token"])).status_code == 401
        async with app.state.consentry.database.async_sessions() as db:
            live = await db.scalar(select(func.count()).select_from(OAuthToken).where(OAuthToken.revoked_at.is_(None)))
        assert live == 0
