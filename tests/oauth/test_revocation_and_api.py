"""SECURITY.md F24-F28: revocation (RFC 7009), introspection (RFC 7662) and the guarded resource API (RFC 6750)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette

from app.models import Grant, OAuthToken, utcnow
from app.services.apps import RegisteredApp
from app.services.digests import digest
from app.services.oauth.revocation import revoke_access
from tests.oauth.helpers import (
    ISSUER,
    Person,
    call_me,
    introspect,
    refresh,
    register,
    revoke,
    sign_in,
    tokens_for,
)


async def test_f24_revoked_access_token_is_dead_everywhere(client: httpx.AsyncClient, person: Person,
                                                           reg: RegisteredApp) -> None:
    """After an access token is revoked (200), the resource API refuses it with 401 and introspection says it is
    inactive."""
    tokens = await tokens_for(client, person, reg)
    assert (await call_me(client, tokens.access_token)).status_code == 200
    response = await revoke(client, reg, tokens.access_token, hint="access_token")
    assert response.status_code == 200
    assert (await call_me(client, tokens.access_token)).status_code == 401
    assert (await introspect(client, reg, tokens.access_token)).json() == {"active": False}


async def test_f24_revoking_a_refresh_token_kills_its_access_tokens(client: httpx.AsyncClient, person: Person,
                                                                    reg: RegisteredApp) -> None:
    """Revoking a refresh token also kills every access token of its family (401) and the refresh token itself
    (invalid_grant)."""
    tokens = await tokens_for(client, person, reg)
    rotated = (await refresh(client, reg, tokens.refresh_token or "")).json()
    assert (await revoke(client, reg, rotated["refresh_token"], hint="refresh_token")).status_code == 200
    for access in (tokens.access_token, rotated["access_token"]):
        assert (await call_me(client, access)).status_code == 401
    assert (await refresh(client, reg, rotated["refresh_token"])).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("token", ["unknown-token", "", "%00garbage", "x" * 5000])
async def test_f25_unknown_or_garbage_token_is_200_without_detail(client: httpx.AsyncClient, reg: RegisteredApp,
                                                                  token: str) -> None:
    """Revoking an unknown, empty, garbled or huge token answers 200 with an empty body: nothing is revealed."""
    response = await client.post("/oauth/revoke", data={"token": token or "x", "token_type_hint": "whatever"},
                                 auth=(reg.app.client_id, reg.client_secret or ""))
    assert response.status_code == 200
    assert response.json() == {}


async def test_f25_already_revoked_token_is_200(client: httpx.AsyncClient, person: Person,
                                                reg: RegisteredApp) -> None:
    """Revoking a token that is already revoked answers 200 again."""
    tokens = await tokens_for(client, person, reg)
    assert (await revoke(client, reg, tokens.access_token)).status_code == 200
    assert (await revoke(client, reg, tokens.access_token)).status_code == 200


async def test_f25_client_b_cannot_revoke_client_as_token(app: Starlette, client: httpx.AsyncClient,
                                                          person: Person, reg: RegisteredApp) -> None:
    """An app cannot revoke another app's tokens: it gets the same empty 200 as for garbage, and the owner's tokens
    keep working."""
    other = await register(app, name="Other App")
    tokens = await tokens_for(client, person, reg)
    for token in (tokens.access_token, tokens.refresh_token or ""):
        response = await revoke(client, other, token)
        # The same answer as for garbage: no oracle telling client B that A's token is live.
        assert (response.status_code, response.json()) == (200, {})
    assert (await call_me(client, tokens.access_token)).status_code == 200
    assert (await refresh(client, reg, tokens.refresh_token or "")).status_code == 200


async def test_f26_introspection_needs_client_authentication(client: httpx.AsyncClient, person: Person,
                                                             reg: RegisteredApp, public_reg: RegisteredApp) -> None:
    """Introspection without client credentials, by a public client, or with a wrong secret is refused with 401."""
    tokens = await tokens_for(client, person, reg)
    anonymous = await client.post("/oauth/introspect", data={"token": tokens.access_token})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    public = await client.post("/oauth/introspect", data={"token": tokens.access_token,
                                                          "client_id": public_reg.app.client_id})
    assert public.status_code == 401
    wrong = await client.post("/oauth/introspect", data={"token": tokens.access_token},
                              auth=(reg.app.client_id, "wrong"))
    assert wrong.status_code == 401


async def test_f26_introspection_of_active_and_inactive_tokens(app: Starlette, client: httpx.AsyncClient,
                                                               person: Person, reg: RegisteredApp) -> None:
    """Introspecting a live token by its own app returns its scope, client, user, issuer and lifetime; for another
    app, an unknown token or an expired one it answers exactly {"active": false}."""
    tokens = await tokens_for(client, person, reg)
    active = (await introspect(client, reg, tokens.access_token)).json()
    assert active["active"] is True
    assert active["scope"] == tokens.scope and active["client_id"] == reg.app.client_id
    assert active["username"] == "alice" and active["token_type"] == "Bearer" and active["iss"] == ISSUER
    assert active["sub"] == str(person.account.id) and active["exp"] - active["iat"] == 7200
    other = await register(app, name="Other App")
    assert (await introspect(client, other, tokens.access_token)).json() == {"active": False}
    assert (await introspect(client, reg, "no-such-token")).json() == {"active": False}
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(OAuthToken).values(access_expires_at=utcnow() - timedelta(seconds=1)))
        await db.commit()
    assert (await introspect(client, reg, tokens.access_token)).json() == {"active": False}


async def test_f27_resource_api_without_token_is_401_with_bearer_challenge(client: httpx.AsyncClient) -> None:
    """The resource API without a token answers 401 with a bare Bearer challenge (no error code)."""
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "error=" not in response.headers["www-authenticate"]


async def test_f27_bad_expired_or_revoked_token_is_401_invalid_token(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """The resource API answers 401 invalid_token for a garbage, revoked or expired access token and for a
    first-party session token; a live access token works."""
    live = await tokens_for(client, person, reg)
    revoked = await tokens_for(client, person, reg)
    await revoke(client, reg, revoked.access_token)
    expired = await tokens_for(client, person, reg)
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(OAuthToken).where(OAuthToken.access_digest == digest(expired.access_token)).values(
            access_expires_at=utcnow() - timedelta(seconds=1)))
        await db.commit()
    # person.token is a first-party session token: never an OAuth access token.
    for bad in ("garbage", revoked.access_token, expired.access_token, person.token):
        response = await call_me(client, bad)
        assert response.status_code == 401, bad
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert (await call_me(client, live.access_token)).status_code == 200


async def test_f27_missing_scope_is_403_insufficient_scope(client: httpx.AsyncClient, person: Person,
                                                           reg: RegisteredApp) -> None:
    """An access token without the scope an endpoint needs gets 403 insufficient_scope naming the scope required."""
    tokens = await tokens_for(client, person, reg, scope="tweet.read")
    response = await call_me(client, tokens.access_token)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert 'scope="users.read"' in response.headers["www-authenticate"]


async def test_f27_token_in_the_query_string_is_401(client: httpx.AsyncClient, person: Person,
                                                    reg: RegisteredApp) -> None:
    """An access token in the query string is not accepted (401), even alongside a valid Authorization header."""
    tokens = await tokens_for(client, person, reg)
    response = await client.get("/api/v1/me", params={"access_token": tokens.access_token})
    assert response.status_code == 401
    both = await client.get("/api/v1/me", params={"access_token": tokens.access_token},
                            headers={"authorization": f"Bearer {tokens.access_token}"})
    assert both.status_code == 401


async def test_f27_me_shows_email_only_with_users_email(client: httpx.AsyncClient, person: Person,
                                                        reg: RegisteredApp) -> None:
    """/api/v1/me returns id, username and name, and the email address only with the users.email scope."""
    plain = await tokens_for(client, person, reg, scope="users.read")
    body = (await call_me(client, plain.access_token)).json()
    assert body == {"id": str(person.account.id), "username": "alice", "name": "Alice"}
    with_email = await tokens_for(client, person, reg, scope="users.read users.email")
    assert (await call_me(client, with_email.access_token)).json()["email"] == "alice@example.com"


async def test_f27_api_calls_mark_last_used_at_most_once_a_minute(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """API calls record when the app was last used, written at most once a minute rather than on every call."""
    tokens = await tokens_for(client, person, reg)

    async def last_used() -> object:
        async with app.state.consentry.database.async_sessions() as db:
            return await db.scalar(select(Grant.last_used_at))

    assert await last_used() is None
    await call_me(client, tokens.access_token)
    first = await last_used()
    assert first is not None
    await call_me(client, tokens.access_token)
    assert await last_used() == first
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(Grant).values(last_used_at=utcnow() - timedelta(minutes=2)))
        await db.commit()
    await call_me(client, tokens.access_token)
    assert await last_used() > first  # type: ignore[operator]


async def test_f28_revoking_the_app_kills_every_token_of_that_account_and_app(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """Revoking an app kills every access and refresh token of that account and app, while the account's other apps
    and other accounts' use of the same app keep working."""
    first = await tokens_for(client, person, reg)
    second = await tokens_for(client, person, reg, scope="users.read offline.access")
    other_app = await register(app, name="Other App")
    bystander_app = await tokens_for(client, person, other_app)
    bob = await sign_in(app, "bob")
    bystander_person = await tokens_for(client, bob, reg)
    async with app.state.consentry.database.async_sessions() as db:
        await revoke_access(db, account=person.account, app_id=reg.app.id)
    for tokens in (first, second):
        assert (await call_me(client, tokens.access_token)).status_code == 401
        assert (await refresh(client, reg, tokens.refresh_token or "")).json()["error"] == "invalid_grant"
    assert (await call_me(client, bystander_app.access_token)).status_code == 200
    assert (await call_me(client, bystander_person.access_token)).status_code == 200
