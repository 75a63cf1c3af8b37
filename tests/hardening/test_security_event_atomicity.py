"""SECURITY.md K57: a security event and the change it records are written in one transaction.

The database refuses every INSERT into ``security_events`` (a SQLAlchemy ``before_cursor_execute`` listener on all
of the app's engines raises a lost connection at that statement); each change that would be recorded then answers
503 and leaves nothing behind: no session opened, none ended, no app authorized or revoked, no password changed.
Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, func, select
from sqlalchemy import exc as sa_exc
from starlette.applications import Starlette

from app.graphql.ids import to_global_id
from app.models import Grant, LoginSession, SecurityEvent
from tests.conftest import client_for
from tests.factories import PASSWORD, graphql, login, make_account
from tests.oauth.helpers import (
    authorize_params,
    call_me,
    decide,
    new_session,
    pkce_pair,
    query_of,
    register,
    sign_in,
    start,
    tokens_for,
)

SAME_ORIGIN = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
NEW_PASSWORD = "plum tiger seventeen ladders"


@contextmanager
def event_inserts_fail(app: Starlette) -> Iterator[list[str]]:
    """Every INSERT into security_events fails as if the connection dropped; yields the refused statements."""
    database = app.state.consentry.database
    engines = {id(engine): engine for engine in (database.async_engine.sync_engine, database.sync_engine,
                                                  database.sync_autocommit_engine)}
    refused: list[str] = []

    def refuse(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SECURITY_EVENTS"):
            refused.append(statement)
            raise sa_exc.OperationalError(statement, {}, ConnectionResetError("connection lost"))

    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield refused
    finally:
        for engine in engines.values():
            event.remove(engine, "before_cursor_execute", refuse)


async def _count(app: Starlette, model: Any, *criteria: Any) -> int:
    async with app.state.consentry.database.async_sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(model).where(*criteria)) or 0)


async def _signed_in(client: httpx.AsyncClient, token: str) -> bool:
    return "errors" not in await graphql(client, "{ viewer { id } }", token=token)


async def _refused(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
                   *, token: str) -> dict[str, Any]:
    """POST a document expected to meet the failing insert; returns its JSON body."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                                 headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 503 and int(response.headers["retry-after"]) > 0, response.text
    body: dict[str, Any] = response.json()
    return body


def _unavailable(body: dict[str, Any]) -> bool:
    return body["errors"][0]["extensions"]["code"] == "TEMPORARILY_UNAVAILABLE"


async def test_k57_a_sign_in_whose_event_fails_opens_no_session(app: Starlette, client: httpx.AsyncClient) -> None:
    """GraphQL ``login`` and the sign-in form: 503, and neither a session nor an event exists afterwards."""
    await make_account(app)
    with event_inserts_fail(app) as refused:
        body = (await client.post("/graphql", json={"query": "mutation { login(input: {username: \"alice\", "
                                                             f"password: \"{PASSWORD}\"}}) {{ token }} }}"})).json()
        form = await client.post("/login", data={"username": "alice", "password": PASSWORD}, headers=SAME_ORIGIN)
    assert len(refused) == 2 and _unavailable(body) and form.status_code == 503
    assert await _count(app, LoginSession) == 0 and await _count(app, SecurityEvent) == 0
    assert await login(client)  # the failures cost the person nothing: the limit was handed back


async def test_k57_logouts_whose_event_fails_end_no_session(app: Starlette, client: httpx.AsyncClient) -> None:
    """``logout``, ``logoutSession``, ``logoutOtherSessions`` and the sign-out form: every session lives on."""
    await make_account(app)
    current, other = await login(client), await login(client)
    other_id = (await graphql(client, "{ viewer { sessions { nodes { id isCurrent } } } }", token=current)
                )["data"]["viewer"]["sessions"]["nodes"]
    other_gid = next(s["id"] for s in other_id if not s["isCurrent"])
    async with client_for(app) as browser:
        await browser.post("/login", data={"username": "alice", "password": PASSWORD}, headers=SAME_ORIGIN)
        with event_inserts_fail(app) as refused:
            answers = [
                await _refused(client, "mutation { logout { userErrors { code } } }", token=current),
                await _refused(client, "mutation($id: ID!) { logoutSession(input: {sessionId: $id}) { sessionId } }",
                              {"id": other_gid}, token=current),
                await _refused(client, "mutation { logoutOtherSessions { loggedOutCount } }", token=current),
            ]
            form = await browser.post("/logout", headers=SAME_ORIGIN)
        assert len(refused) == 4 and all(_unavailable(body) for body in answers) and form.status_code == 503
        assert await _signed_in(client, current) and await _signed_in(client, other)
        assert (await browser.get("/settings")).status_code == 200  # the cookie's session lives too
    assert await _count(app, LoginSession, LoginSession.revoked_at.is_not(None)) == 0  # type: ignore[union-attr]


async def test_k57_authorizing_an_app_whose_event_fails_grants_nothing(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """The consent page and the ``authorize`` mutation: no grant and no code; the request can still be answered."""
    person, reg = await sign_in(app), await register(app)
    _, challenge = pkce_pair()
    pending = query_of(await start(client, person, authorize_params(reg, challenge)))["request"]
    with event_inserts_fail(app) as refused:
        page = await decide(client, person, pending, headers=SAME_ORIGIN)
        body = await _refused(client, "mutation($r: ID!) { authorize(input: {requestId: $r}) { redirectUri } }",
                             {"r": pending}, token=person.token)
    assert len(refused) == 2 and page.status_code == 503 and _unavailable(body)
    assert await _count(app, Grant) == 0
    approved = await decide(client, person, pending, headers=SAME_ORIGIN)
    assert approved.status_code == 303 and "code" in query_of(approved)


async def test_k57_revoking_an_app_whose_event_fails_leaves_its_tokens_working(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """``revokeAccess``: 503, and the app's access token still answers 200."""
    person, reg = await sign_in(app), await register(app)
    tokens = await tokens_for(client, person, reg)
    with event_inserts_fail(app) as refused:
        body = await _refused(client, "mutation($id: ID!) { revokeAccess(input: {appId: $id}) { app { id } } }",
                             {"id": to_global_id("App", reg.app.id)}, token=person.token)
    assert len(refused) == 1 and _unavailable(body)
    assert (await call_me(client, tokens.access_token)).status_code == 200
    assert await _count(app, Grant, Grant.revoked_at.is_(None)) == 1  # type: ignore[union-attr]


async def test_k57_a_password_change_whose_event_fails_changes_nothing(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """``changePassword`` (ending sessions and revoking apps): the old password, the other session and the app's
    token all still work."""
    person, reg = await sign_in(app), await register(app)
    other = await new_session(app, person.account)
    tokens = await tokens_for(client, person, reg)
    with event_inserts_fail(app) as refused:
        body = await _refused(client, "mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: "
                                      "$c, newPassword: $n, revokeApps: true}) { receipt { sessions } } }",
                              {"c": PASSWORD, "n": NEW_PASSWORD}, token=person.token)
    assert len(refused) == 1 and _unavailable(body)
    assert await _signed_in(client, other.token)
    assert (await call_me(client, tokens.access_token)).status_code == 200
    assert await login(client, "alice", PASSWORD)


async def test_k57_this_wasnt_me_whose_event_fails_ends_nothing(app: Starlette, client: httpx.AsyncClient) -> None:
    """``secureAccount``: the other session and the app still work, and no new password is required."""
    person, reg = await sign_in(app), await register(app)
    other = await new_session(app, person.account)
    tokens = await tokens_for(client, person, reg)
    with event_inserts_fail(app) as refused:
        body = await _refused(client, "mutation { secureAccount(input: {}) { revokedAppCount } }", token=person.token)
    assert len(refused) == 1 and _unavailable(body)
    assert await _signed_in(client, other.token)
    assert (await call_me(client, tokens.access_token)).status_code == 200
    assert await _count(app, LoginSession, LoginSession.must_change_password.is_(True)) == 0  # type: ignore[attr-defined]
