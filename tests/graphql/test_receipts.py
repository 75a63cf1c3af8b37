"""Revocation receipts: ``revokeAccess``, ``logoutSession`` and ``logoutOtherSessions`` say what ended, and the
counts are the rows the database ended (live ones only: an expired or rotated token counts for nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.graphql.ids import to_global_id
from app.models import LoginSession, OAuthToken, utcnow
from app.services.digests import digest
from tests.factories import graphql_data, login, make_account
from tests.oauth.helpers import call_me, refresh, register, sign_in, tokens_for

RECEIPT = "receipt { accessTokens refreshTokens sessions endedAt }"
REVOKE = ("mutation($id: ID!) { revokeAccess(input: {appId: $id}) { app { name } " + RECEIPT
          + " userErrors { code message } } }")
LOGOUT_SESSION = ("mutation($id: ID!) { logoutSession(input: {sessionId: $id}) { " + RECEIPT
                  + " userErrors { code } } }")
LOGOUT_OTHERS = "mutation { logoutOtherSessions { loggedOutCount " + RECEIPT + " userErrors { code } } }"


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _ended_tokens(app: Starlette, ended_at: datetime) -> tuple[int, int]:
    """Rows ended at ``ended_at`` whose access token, and whose refresh token, were still live then."""
    async with app.state.consentry.database.async_sessions() as db:
        rows = (await db.execute(select(OAuthToken).where(OAuthToken.revoked_at == ended_at))).scalars().all()  # type: ignore[arg-type]
    access = sum(row.access_expires_at > ended_at for row in rows)
    refresh_live = sum(row.refresh_expires_at is not None and row.refresh_used_at is None
                       and row.refresh_expires_at > ended_at for row in rows)
    return access, refresh_live


async def test_revoke_access_receipt_counts_the_live_tokens_it_ended(app: Starlette, client: httpx.AsyncClient) -> None:
    """Three token sets, one of them refreshed (its old refresh token is spent) and one expired: the receipt counts
    what still worked, and matches the rows ended at ``endedAt``."""
    person, reg = await sign_in(app), await register(app)
    first, second, third = [await tokens_for(client, person, reg) for _ in range(3)]
    assert first.refresh_token
    rotated = (await refresh(client, reg, first.refresh_token)).json()
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(OAuthToken).where(OAuthToken.access_digest == digest(third.access_token))  # type: ignore[arg-type]
                         .values(access_expires_at=utcnow() - timedelta(minutes=1),
                                 refresh_expires_at=utcnow() - timedelta(minutes=1)))
        await db.commit()
    data = await graphql_data(client, REVOKE, {"id": to_global_id("App", reg.app.id)}, token=person.token)
    receipt = data["revokeAccess"]["receipt"]
    # Live: first's access token (a refresh does not end it), the rotated set, second: 3 access, 2 refresh tokens.
    assert (receipt["accessTokens"], receipt["refreshTokens"], receipt["sessions"]) == (3, 2, 0)
    assert await _ended_tokens(app, _at(receipt["endedAt"])) == (3, 2)
    for token in (first.access_token, second.access_token, rotated["access_token"]):
        assert (await call_me(client, token)).status_code == 401

    again = await graphql_data(client, REVOKE, {"id": to_global_id("App", reg.app.id)}, token=person.token)
    assert again["revokeAccess"]["receipt"]["accessTokens"] == 0 and again["revokeAccess"]["userErrors"] == []


async def test_revoke_access_takes_the_connected_app_id_too(app: Starlette, client: httpx.AsyncClient) -> None:
    """``connectedApps.nodes.id`` revokes the app; another account's ConnectedApp ID is NOT_FOUND."""
    person, reg = await sign_in(app), await register(app, name="Pixelfeed")
    tokens = await tokens_for(client, person, reg)
    listed = await graphql_data(client, "{ viewer { connectedApps { nodes { id } } } }", token=person.token)
    connected_id = listed["viewer"]["connectedApps"]["nodes"][0]["id"]
    stranger = await sign_in(app, "mallory")
    refused = await graphql_data(client, REVOKE, {"id": connected_id}, token=stranger.token)
    assert refused["revokeAccess"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert (await call_me(client, tokens.access_token)).status_code == 200

    data = await graphql_data(client, REVOKE, {"id": connected_id}, token=person.token)
    assert data["revokeAccess"]["app"] == {"name": "Pixelfeed"} and data["revokeAccess"]["userErrors"] == []
    assert data["revokeAccess"]["receipt"]["accessTokens"] == 1
    assert (await call_me(client, tokens.access_token)).status_code == 401


async def test_logout_receipts_count_the_sessions_they_ended(app: Starlette, client: httpx.AsyncClient) -> None:
    """``logoutSession`` ended one session; ``logoutOtherSessions`` as many as it logged out, matching the rows."""
    await make_account(app)
    tokens = [await login(client) for _ in range(4)]
    current = tokens[-1]
    sessions: list[dict[str, Any]] = (await graphql_data(client, "{ viewer { sessions { nodes { id isCurrent } } } }",
                                                         token=current))["viewer"]["sessions"]["nodes"]
    one = next(s["id"] for s in sessions if not s["isCurrent"])
    single = (await graphql_data(client, LOGOUT_SESSION, {"id": one}, token=current))["logoutSession"]["receipt"]
    assert (single["sessions"], single["accessTokens"], single["refreshTokens"]) == (1, 0, 0)
    others = (await graphql_data(client, LOGOUT_OTHERS, token=current))["logoutOtherSessions"]
    assert others["loggedOutCount"] == others["receipt"]["sessions"] == 2
    async with app.state.consentry.database.async_sessions() as db:
        ended = await db.scalar(select(func.count()).select_from(LoginSession).where(
            LoginSession.revoked_at == _at(others["receipt"]["endedAt"])))  # type: ignore[arg-type]
    assert ended == 2
    none_left = (await graphql_data(client, LOGOUT_OTHERS, token=current))["logoutOtherSessions"]
    assert none_left["receipt"]["sessions"] == 0
