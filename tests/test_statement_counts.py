"""SQL statements per request must not grow with the data: the page query and the bulk revocations (issue 6, G2/G5).

Rows are built straight with the models (fast); requests go through real GraphQL over HTTP; statements are counted
on the app's own engine with a ``before_cursor_execute`` listener, on SQLite and PostgreSQL alike. The same
requests, repeated, must find every statement's compiled form by a cache key computed once, not per request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.sql.cache_key import HasCacheKey
from starlette.applications import Starlette

from app.graphql.ids import to_global_id
from app.models import App, Grant, GrantUse, LoginSession, OAuthToken, SecurityEvent, utcnow
from app.services.digests import digest, new_token
from tests.factories import graphql_data, login, make_account

PAGE = """
{ viewer {
    connectedApps { nodes { id app { id name description iconUrl developerName } permissions { scope title }
                            canView { title } canDo { title } authorizedAt lastUsedAt } totalCount }
    sessions { nodes { id isCurrent device browser os location signedInAt lastActiveAt } totalCount } } }
"""
SIGNED_IN_ONLY = "{ viewer { id } }"
REVOKE = "mutation($id: ID!) { revokeAccess(input: {appId: $id}) { app { id name } userErrors { code } } }"
LOGOUT_OTHERS = "mutation { logoutOtherSessions { loggedOutCount userErrors { code } } }"
SCOPES = "tweet.read tweet.write users.read"
PAGE_STATEMENT_LIMIT = 5
# A mutation's statements include the security event written in the same transaction as its change.
MUTATION_STATEMENT_LIMIT = 5
# revokeAccess: the grant's SELECT, then one bulk UPDATE per table of the app's protocol that holds access (the
# grant, then OAuth 2.0 tokens and codes, or OAuth 1.0a token credentials and temporary credentials), and the
# APP_REVOKED security event.
REVOKE_STATEMENT_LIMIT = MUTATION_STATEMENT_LIMIT


@contextmanager
def counting_statements(app: Starlette) -> Iterator[list[str]]:
    """Every SQL statement the app's async engine sends while the block runs."""
    statements: list[str] = []
    engine = app.state.consentry.database.async_engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _count(app: Starlette, client: httpx.AsyncClient, query: str, token: str,
                 variables: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    with counting_statements(app) as statements:
        data = await graphql_data(client, query, variables, token=token)
    return len(statements), data


async def _signed_in(app: Starlette, client: httpx.AsyncClient, username: str) -> tuple[uuid.UUID, str]:
    account = await make_account(app, username)
    token = await login(client, username)
    await graphql_data(client, SIGNED_IN_ONLY, token=token)  # the pool is warm before anything is counted
    return account.id, token


async def _add(app: Starlette, rows: list[Any]) -> None:
    async with app.state.consentry.database.async_sessions() as db:
        db.add_all(rows)
        await db.commit()


def _connected_app(account_id: uuid.UUID, index: int, tokens: int = 0) -> list[Any]:
    """An app, the account's grant to it with three permissions, and ``tokens`` live access tokens."""
    now = utcnow()
    app = App(client_id=f"c-{uuid.uuid4().hex}", name=f"App {index}", description="Counts statements.",
              icon_url=f"https://apps.example/{index}.png", developer_name="Bench", scopes=SCOPES,
              redirect_uris=["https://apps.example/cb"])
    grant = Grant(account_id=account_id, app_id=app.id, scopes=SCOPES, authorized_at=now - timedelta(minutes=index))
    live = [OAuthToken(grant_id=grant.id, app_id=app.id, account_id=account_id, family_id=uuid.uuid4(),
                       access_digest=digest(new_token()), scopes=SCOPES, access_expires_at=now + timedelta(hours=1))
            for _ in range(tokens)]
    return [app, grant, *live]


def _other_sessions(account_id: uuid.UUID, count: int) -> list[LoginSession]:
    now = utcnow()
    return [LoginSession(account_id=account_id, token_digest=digest(new_token()), device="Computer",
                         signed_in_at=now, last_active_at=now) for _ in range(count)]


async def _live_tokens(app: Starlette, account_id: uuid.UUID) -> int:
    async with app.state.consentry.database.async_sessions() as db:
        count = await db.scalar(select(func.count()).select_from(OAuthToken).where(
            OAuthToken.account_id == account_id, OAuthToken.revoked_at.is_(None)))  # type: ignore[arg-type,union-attr]
    return int(count or 0)


async def test_page_query_issues_the_same_few_statements_for_1_to_500_connected_apps(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    account_id, token = await _signed_in(app, client, "pagecount")
    await _add(app, _other_sessions(account_id, 4))
    counts = {}
    for size, grown_by in ((1, 1), (10, 9), (50, 40), (100, 50), (500, 400)):
        await _add(app, [row for index in range(size - grown_by, size) for row in _connected_app(account_id, index)])
        counts[size], data = await _count(app, client, PAGE, token)
        connected = data["viewer"]["connectedApps"]
        assert connected["totalCount"] == size
        assert len(connected["nodes"]) == min(size, 20)
        assert connected["nodes"][0]["app"]["name"] == "App 0"
        assert [p["scope"] for p in connected["nodes"][0]["permissions"]] == ["tweet.read", "users.read", "tweet.write"]
        assert data["viewer"]["sessions"]["totalCount"] == 5

    assert len(set(counts.values())) == 1, counts
    assert counts[1] <= PAGE_STATEMENT_LIMIT, counts


async def test_revoke_access_issues_the_same_statements_for_an_app_with_1_or_300_tokens(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    account_id, token = await _signed_in(app, client, "revokecount")
    small, large = _connected_app(account_id, 0, tokens=1), _connected_app(account_id, 1, tokens=300)
    await _add(app, [*small, *large])
    signed_in_cost, _ = await _count(app, client, SIGNED_IN_ONLY, token)

    counts = {}
    for name, rows in (("1 token", small), ("300 tokens", large)):
        app_id = to_global_id("App", rows[0].id)
        counts[name], data = await _count(app, client, REVOKE, token, {"id": app_id})
        assert data["revokeAccess"] == {"app": {"id": app_id, "name": rows[0].name}, "userErrors": []}

    assert await _live_tokens(app, account_id) == 0
    assert counts["1 token"] == counts["300 tokens"], counts
    assert counts["1 token"] - signed_in_cost <= REVOKE_STATEMENT_LIMIT, (counts, signed_in_cost)


async def test_logout_other_sessions_issues_the_same_statements_for_1_or_300_other_sessions(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    counts = {}
    for username, others in (("fewsessions", 1), ("manysessions", 300)):
        account_id, token = await _signed_in(app, client, username)
        await _add(app, _other_sessions(account_id, others))
        signed_in_cost, _ = await _count(app, client, SIGNED_IN_ONLY, token)
        counts[others], data = await _count(app, client, LOGOUT_OTHERS, token)
        assert data["logoutOtherSessions"] == {"loggedOutCount": others, "userErrors": []}
        _, data = await _count(app, client, "{ viewer { sessions { totalCount } } }", token)
        assert data["viewer"]["sessions"]["totalCount"] == 1

    assert counts[1] == counts[300], counts
    assert counts[1] - signed_in_cost <= MUTATION_STATEMENT_LIMIT, (counts, signed_in_cost)


EVENTS = """
{ viewer { securityEvents(first: 100) { totalCount pageInfo { hasNextPage endCursor }
    nodes { id kind at summary device browser os location ipAddress isNewDevice count permissions { scope }
            session { id isCurrent } app { id name } } } } }
"""
EVENTS_STATEMENT_LIMIT = 4  # the signed-in check, the page, its live sessions, its apps


def _events(account_id: uuid.UUID, count: int, *, session_id: uuid.UUID, app_id: uuid.UUID) -> list[SecurityEvent]:
    """``count`` events of every shape: sign-ins by a live session, apps authorized, sessions logged out."""
    now = utcnow()
    kinds = [("SIGNED_IN", None, None), ("APP_AUTHORIZED", app_id, {"app_name": "App 0", "scopes": ["tweet.read"]}),
             ("OTHER_SESSIONS_LOGGED_OUT", None, {"count": 2})]
    return [SecurityEvent(account_id=account_id, kind=kinds[i % 3][0], app_id=kinds[i % 3][1],
                          details=kinds[i % 3][2], session_id=session_id, at=now - timedelta(seconds=i),
                          device="Computer", browser="Firefox 127.0", os="Windows 10", location="Germany",
                          ip_address="85.214.132.117") for i in range(count)]


async def test_security_events_issue_the_same_few_statements_for_3_to_300_events(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """``viewer.securityEvents`` costs the same statements whatever the number of events (3, 50, 300), with their
    sessions and apps."""
    account_id, token = await _signed_in(app, client, "eventcount")
    app_rows = _connected_app(account_id, 0)
    await _add(app, app_rows)
    async with app.state.consentry.database.async_sessions() as db:
        session_id = await db.scalar(select(LoginSession.id).where(LoginSession.account_id == account_id))  # type: ignore[arg-type]
    assert session_id is not None
    signed_in_cost, _ = await _count(app, client, SIGNED_IN_ONLY, token)
    counts = {}
    for size, grown_by in ((3, 2), (50, 47), (300, 250)):  # the sign-in itself is the first event
        await _add(app, _events(account_id, grown_by, session_id=session_id, app_id=app_rows[0].id))
        counts[size], data = await _count(app, client, EVENTS, token)
        events = data["viewer"]["securityEvents"]
        assert events["totalCount"] == size
        assert len(events["nodes"]) == min(size, 100)
        assert all(node["session"] == {"id": to_global_id("Session", session_id), "isCurrent": True}
                   for node in events["nodes"])
    assert len(set(counts.values())) == 1, counts
    assert counts[3] - signed_in_cost <= EVENTS_STATEMENT_LIMIT - 1, (counts, signed_in_cost)
    assert {node["app"]["name"] for node in events["nodes"] if node["app"]} == {"App 0"}


async def test_repeated_requests_compute_no_sql_cache_keys(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A statement object built once keeps its cache key; one rebuilt or copied per request (an ORM UPDATE is
    # copied on every execution) computes it again every time, about 40 µs on a request of 1 to 2 ms.
    account_id, token = await _signed_in(app, client, "cachekeys")
    first, second = _connected_app(account_id, 0, tokens=1), _connected_app(account_id, 1, tokens=1)
    await _add(app, [*first, *second])
    apps = [first[0].id, second[0].id]
    requests = [(PAGE, None), (LOGOUT_OTHERS, None), (REVOKE, {"id": to_global_id("App", apps[0])})]
    for query, variables in requests:  # first use of each: keys are computed and kept
        await graphql_data(client, query, variables, token=token)

    computed: list[str] = []
    original = HasCacheKey._generate_cache_key

    def counted(statement: HasCacheKey) -> Any:
        computed.append(str(statement)[:80])
        return original(statement)

    await _add(app, _other_sessions(account_id, 2))  # for logoutOtherSessions to end again
    monkeypatch.setattr(HasCacheKey, "_generate_cache_key", counted)
    page = await graphql_data(client, PAGE, token=token)
    logout = await graphql_data(client, LOGOUT_OTHERS, token=token)
    revoke = await graphql_data(client, REVOKE, {"id": to_global_id("App", apps[1])}, token=token)

    assert [node["app"]["name"] for node in page["viewer"]["connectedApps"]["nodes"]] == ["App 1"]
    assert logout["logoutOtherSessions"] == {"loggedOutCount": 2, "userErrors": []}
    assert revoke["revokeAccess"]["app"]["name"] == "App 1" and revoke["revokeAccess"]["userErrors"] == []
    assert computed == []


async def test_an_apps_page_issues_the_same_statements_for_1_or_300_tokens_and_a_full_history(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """``/settings/apps/<id>``: the session, the app with its grant, its recent uses; whatever the app holds."""
    account_id, token = await _signed_in(app, client, "apppagecount")
    small, large = _connected_app(account_id, 0, tokens=1), _connected_app(account_id, 1, tokens=300)
    uses = [GrantUse(grant_id=large[1].id, used_at=utcnow() - timedelta(minutes=i), ip_address="85.214.132.117",
                     location="Germany") for i in range(20)]
    await _add(app, [*small, *large])
    await _add(app, uses)
    counts = {}
    for name, rows in (("1 token", small), ("300 tokens and 20 uses", large)):
        path = f"/settings/apps/{to_global_id('ConnectedApp', rows[1].id)}"
        with counting_statements(app) as statements:
            response = await client.get(path, headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200 and rows[0].name in response.text
        counts[name] = len(statements)
    assert counts["1 token"] == counts["300 tokens and 20 uses"] <= 3, counts
