"""SECURITY.md J42: with the database down or locked, /readyz, GraphQL, the OAuth endpoints and the pages answer
503 with Retry-After (never a stack trace, never a 200 for a write that did not commit), and the same process
serves normally again as soon as the database is back."""

from __future__ import annotations

import socket
import sqlite3
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.main import create_app
from app.settings import Settings
from tests.conftest import client_for
from tests.factories import LOGIN, PASSWORD
from tests.hardening.proxy import TcpProxy
from tests.oauth.helpers import Person, call_me, exchange, new_session, obtain_code, register, sign_in, tokens_for

LOGOUT_OTHERS = "mutation { logoutOtherSessions { loggedOutCount } }"
LEAKS = ("Traceback", "sqlalchemy", "asyncpg", "psycopg", "sqlite3", "SELECT", "UPDATE", "INSERT")


def _assert_clean_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert not any(leak in response.text for leak in LEAKS), response.text


def _assert_graphql_503(response: httpx.Response) -> None:
    _assert_clean_503(response)
    body = response.json()
    assert body["errors"][0]["extensions"] == {"code": "TEMPORARILY_UNAVAILABLE"}, body


def _assert_oauth_503(response: httpx.Response) -> None:
    _assert_clean_503(response)
    assert response.json()["error"] == "temporarily_unavailable"


async def _gql(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
               person: Person | None = None, token: str | None = None) -> httpx.Response:
    headers = person.headers if person else {"authorization": f"Bearer {token}"} if token else {}
    return await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


async def _refusals_while_down(http: httpx.AsyncClient, person: Person, reg: Any, code: str, verifier: str,
                               access_token: str) -> None:
    _assert_clean_503(await http.get("/readyz"))
    _assert_graphql_503(await _gql(http, "{ viewer { username } }", person=person))
    _assert_graphql_503(await _gql(http, LOGOUT_OTHERS, person=person))
    _assert_graphql_503(await _gql(http, LOGIN, {"username": "alice", "password": PASSWORD}))
    _assert_oauth_503(await exchange(http, reg, code, verifier))
    _assert_oauth_503(await call_me(http, access_token))
    page = await http.post("/login", data={"username": "alice", "password": PASSWORD, "next": "/settings"})
    _assert_clean_503(page)
    assert "set-cookie" not in page.headers
    assert (await http.get("/healthz")).status_code == 200  # liveness: the process itself is fine


async def _works_again(http: httpx.AsyncClient, person: Person, other: Person, reg: Any, code: str,
                       verifier: str, access_token: str) -> None:
    assert (await http.get("/readyz")).status_code == 200
    # Nothing the refused writes attempted was committed: the other session lives, the code is still unused.
    viewer = await _gql(http, "{ viewer { username } }", person=other)
    assert viewer.json() == {"data": {"viewer": {"username": "alice"}}}
    assert (await exchange(http, reg, code, verifier)).status_code == 200
    assert (await call_me(http, access_token)).status_code == 200
    logged_out = await _gql(http, LOGOUT_OTHERS, person=person)
    assert logged_out.json() == {"data": {"logoutOtherSessions": {"loggedOutCount": 1}}}


async def test_j42_locked_sqlite_answers_503_then_recovers(
    settings: Settings, backend: str,
) -> None:
    if backend != "sqlite":
        pytest.skip("locks a SQLite file")
    application = create_app(settings.with_overrides(database_timeout_seconds=0.3))  # wait 0.3 s for the lock
    try:
        async with client_for(application) as http:
            person = await sign_in(application, "alice")
            other = await new_session(application, person.account)
            reg = await register(application)
            access_token = (await tokens_for(http, person, reg)).access_token
            code, verifier = await obtain_code(http, person, reg)
            locker = sqlite3.connect(str(make_url(settings.database_url).database), isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")
            try:
                _assert_clean_503(await http.get("/readyz"))
                _assert_graphql_503(await _gql(http, LOGOUT_OTHERS, person=person))
                _assert_graphql_503(await _gql(http, LOGIN, {"username": "alice", "password": PASSWORD}))
                _assert_oauth_503(await exchange(http, reg, code, verifier))
                page = await http.post("/login", data={"username": "alice", "password": PASSWORD})
                _assert_clean_503(page)
            finally:
                locker.execute("ROLLBACK")
                locker.close()
            await _works_again(http, person, other, reg, code, verifier, access_token)
    finally:
        await application.state.consentry.database.dispose()


async def test_j42_postgres_going_down_answers_503_and_recovers_without_restart(
    settings: Settings, backend: str,
) -> None:
    if backend != "postgres":
        pytest.skip("stops a PostgreSQL connection path")
    real = make_url(settings.database_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    await proxy.start()
    application = create_app(settings.with_overrides(
        database_url=real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)))
    running = True
    try:
        async with client_for(application) as http:
            person = await sign_in(application, "alice")
            other = await new_session(application, person.account)
            reg = await register(application)
            access_token = (await tokens_for(http, person, reg)).access_token
            code, verifier = await obtain_code(http, person, reg)
            await proxy.stop()
            running = False
            await _refusals_while_down(http, person, reg, code, verifier, access_token)
            await proxy.start()  # the same address answers again; the app is not rebuilt
            running = True
            await _works_again(http, person, other, reg, code, verifier, access_token)
    finally:
        await application.state.consentry.database.dispose()
        if running:
            await proxy.stop()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_j42_unreachable_database_from_the_start_is_a_503_everywhere() -> None:
    settings = Settings(database_url=f"postgresql://postgres@127.0.0.1:{_closed_port()}/consentry",
                        base_url="http://testserver")
    application = create_app(settings)
    try:
        async with client_for(application) as http:
            _assert_clean_503(await http.get("/readyz"))
            _assert_graphql_503(await _gql(http, "{ viewer { username } }", token="t" * 43))
            _assert_graphql_503(await _gql(http, LOGIN, {"username": "alice", "password": PASSWORD}))
            token = await http.post("/oauth/token", data={"grant_type": "authorization_code", "code": "c",
                                                          "redirect_uri": "https://x.example/cb"},
                                    auth=("some-client", "some-secret"))
            _assert_oauth_503(token)
            _assert_clean_503(await http.post("/login", data={"username": "alice", "password": PASSWORD}))
            assert (await http.get("/healthz")).status_code == 200
    finally:
        await application.state.consentry.database.dispose()
