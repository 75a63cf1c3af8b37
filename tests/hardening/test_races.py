"""Races on PostgreSQL (SECURITY.md C15, E23, H33, J44): many rounds of requests fired together, and after each
round the invariants hold and no answer was a 5xx. Every test prints its tally (run with ``-s`` to see it)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.models import Grant, OAuthToken, utcnow
from app.services.apps import RegisteredApp
from tests.factories import LOGIN, PASSWORD, graphql_data, make_account
from tests.oauth.helpers import (
    Person,
    call_me,
    exchange,
    new_session,
    obtain_code,
    refresh,
    register,
    sign_in,
    tokens_for,
)

pytestmark = pytest.mark.usefixtures("postgres_only")

REDEMPTION_ROUNDS, REDEMPTIONS_PER_ROUND = 20, 10
REFRESH_ROUNDS, REFRESHES_PER_ROUND = 20, 10
REVOKE_VS_REFRESH_ROUNDS = 200
DOUBLE_REVOKE_ROUNDS = 30
LOGOUT_VS_SIGN_IN_ROUNDS = 15
CONNECTED = "{ viewer { connectedApps { nodes { app { id } } } } }"
REVOKE = "mutation($id: ID!) { revokeAccess(input: {appId: $id}) { app { name } userErrors { code } } }"


async def _live_tokens(app: Starlette, reg: RegisteredApp) -> int:
    now = utcnow()
    async with app.state.consentry.database.async_sessions() as db:
        return int(await db.scalar(
            select(func.count()).select_from(OAuthToken).join(Grant, Grant.id == OAuthToken.grant_id).where(
                OAuthToken.app_id == reg.app.id, OAuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
                Grant.revoked_at.is_(None), OAuthToken.access_expires_at > now)) or 0)  # type: ignore[union-attr]


async def _app_id(client: httpx.AsyncClient, person: Person) -> str:
    nodes = (await graphql_data(client, CONNECTED, token=person.token))["viewer"]["connectedApps"]["nodes"]
    app_id: str = nodes[0]["app"]["id"]
    return app_id


async def _revoke(client: httpx.AsyncClient, person: Person, app_id: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": REVOKE, "variables": {"id": app_id}}, headers=person.headers)


async def test_c15_rounds_of_parallel_code_redemptions_issue_at_most_one_token_set(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """Redeeming one code ten times in parallel, round after round, gives at most one 200 (the rest 400, never a 500)
    and at most one live token set."""
    person, reg = await sign_in(app), await register(app)
    tally: Counter[int] = Counter()
    for _ in range(REDEMPTION_ROUNDS):
        code, verifier = await obtain_code(client, person, reg)
        answers = await asyncio.gather(*(exchange(client, reg, code, verifier) for _ in range(REDEMPTIONS_PER_ROUND)))
        statuses = [answer.status_code for answer in answers]
        tally.update(statuses)
        assert statuses.count(200) <= 1 and set(statuses) <= {200, 400}, statuses
        # A replay of a redeemed code revokes what it issued (C14), so at most one set was ever live.
        assert await _live_tokens(app, reg) <= 1
    print(f"\nC15: {REDEMPTION_ROUNDS} rounds x {REDEMPTIONS_PER_ROUND} redemptions: {dict(tally)}")


async def test_e23_rounds_of_parallel_refreshes_have_exactly_one_winner(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """Ten parallel refreshes of one refresh token, round after round, give exactly one 200; the others are 400
    invalid_grant, never a 500."""
    person, reg = await sign_in(app), await register(app)
    tokens = await tokens_for(client, person, reg)
    tally: Counter[int] = Counter()
    for _ in range(REFRESH_ROUNDS):
        assert tokens.refresh_token
        answers = await asyncio.gather(*(refresh(client, reg, tokens.refresh_token)
                                         for _ in range(REFRESHES_PER_ROUND)))
        statuses = [answer.status_code for answer in answers]
        tally.update(statuses)
        assert statuses.count(200) == 1 and set(statuses) == {200, 400}, statuses
        assert all(a.json()["error"] == "invalid_grant" for a in answers if a.status_code == 400)
        # A loser cannot tell a parallel refresh from a stolen token, so it revokes the family (E20); start anew.
        tokens = await tokens_for(client, person, reg)
    print(f"\nE23: {REFRESH_ROUNDS} rounds x {REFRESHES_PER_ROUND} refreshes: {dict(tally)}")


async def test_j44_revoke_racing_refresh_leaves_zero_live_tokens(app: Starlette, client: httpx.AsyncClient) -> None:
    """Revoking an app while one of its refresh tokens is being used, many times over, always leaves zero live tokens:
    even a refresh that won its race hands out an access token that is already dead."""
    person, reg = await sign_in(app), await register(app)
    tally: Counter[str] = Counter()
    for _ in range(REVOKE_VS_REFRESH_ROUNDS):
        tokens = await tokens_for(client, person, reg)
        app_id = await _app_id(client, person)
        assert tokens.refresh_token
        refreshed, revoked = await asyncio.gather(refresh(client, reg, tokens.refresh_token),
                                                  _revoke(client, person, app_id))
        assert revoked.status_code == 200 and revoked.json()["data"]["revokeAccess"]["userErrors"] == []
        assert refreshed.status_code in (200, 400), refreshed.text
        tally[f"refresh {refreshed.status_code}"] += 1
        assert await _live_tokens(app, reg) == 0
        if refreshed.status_code == 200:
            assert (await call_me(client, refreshed.json()["access_token"])).status_code == 401
        assert (await call_me(client, tokens.access_token)).status_code == 401
    print(f"\nJ44 revoke vs refresh: {REVOKE_VS_REFRESH_ROUNDS} rounds: {dict(tally)}, live tokens after each: 0")


async def test_j44_two_concurrent_revoke_access_both_succeed(app: Starlette, client: httpx.AsyncClient) -> None:
    """Two revokeAccess calls for the same app at once both succeed with the app's name, and no token of it is left
    alive."""
    person, reg = await sign_in(app), await register(app)
    tally: Counter[str] = Counter()
    for _ in range(DOUBLE_REVOKE_ROUNDS):
        tokens = await tokens_for(client, person, reg)
        app_id = await _app_id(client, person)
        answers = await asyncio.gather(_revoke(client, person, app_id), _revoke(client, person, app_id))
        for answer in answers:
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["revokeAccess"] == {"app": {"name": "Example App"}, "userErrors": []}
            tally["ok"] += 1
        assert await _live_tokens(app, reg) == 0
        assert (await call_me(client, tokens.access_token)).status_code == 401
    print(f"\nJ44 double revoke: {DOUBLE_REVOKE_ROUNDS} rounds: {dict(tally)}")


async def test_h33_logout_others_racing_new_sign_ins_kills_every_older_session(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """'Log out all other sessions' racing new sign-ins ends every session that existed before it, whatever the
    ordering; the new sign-ins succeed."""
    account = await make_account(app, "alice")
    current = await new_session(app, account)
    tally: Counter[str] = Counter()
    for _ in range(LOGOUT_VS_SIGN_IN_ROUNDS):
        older = [await new_session(app, account) for _ in range(3)]
        logins = [client.post("/graphql", json={"query": LOGIN, "variables": {"username": "alice",
                                                                             "password": PASSWORD}})
                  for _ in range(2)]
        logout = client.post("/graphql", json={"query": "mutation { logoutOtherSessions { loggedOutCount } }"},
                             headers=current.headers)
        answers = await asyncio.gather(logout, *logins)
        assert [answer.status_code for answer in answers] == [200, 200, 200], [a.text for a in answers]
        for person in older:
            body = (await client.post("/graphql", json={"query": "{ viewer { id } }"}, headers=person.headers)).json()
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        new_tokens = [answer.json()["data"]["login"]["token"] for answer in answers[1:]]
        for token in new_tokens:
            alive = "errors" not in (await client.post("/graphql", json={"query": "{ viewer { id } }"},
                                                       headers={"authorization": f"Bearer {token}"})).json()
            tally["new sign-in survived" if alive else "new sign-in ended by the cut-off"] += 1
        tally["older sessions dead"] += len(older)
    print(f"\nH33 logout-others vs sign-in: {LOGOUT_VS_SIGN_IN_ROUNDS} rounds: {dict(tally)}")
