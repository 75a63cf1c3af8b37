"""SECURITY.md J42: with the database down or locked, /readyz, GraphQL, the OAuth endpoints and the pages answer
503 with Retry-After (never a stack trace, never a 200 for a write that did not commit), and the same process
serves normally again as soon as the database is back."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.http.faults import is_database_unavailable
from app.main import create_app
from app.settings import Settings
from tests.conftest import POSTGRES_URL, client_for
from tests.factories import LOGIN, PASSWORD
from tests.hardening.proxy import TcpProxy
from tests.oauth.helpers import (
    Person,
    call_me,
    exchange,
    introspect,
    new_session,
    obtain_code,
    register,
    sign_in,
    tokens_for,
)

LOGOUT_OTHERS = "mutation { logoutOtherSessions { loggedOutCount } }"
SAME_ORIGIN = {"sec-fetch-site": "same-origin"}  # what a browser sends with the sign-in form
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
    page = await http.post("/login", data={"username": "alice", "password": PASSWORD, "next": "/settings"},
                           headers=SAME_ORIGIN)
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
    """While another process holds the SQLite file locked, /readyz, GraphQL, the token endpoint and the sign-in page
    answer clean 503s; once the lock is released everything works again without a restart."""
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
                page = await http.post("/login", data={"username": "alice", "password": PASSWORD},
                                       headers=SAME_ORIGIN)
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
    """When the connection path to PostgreSQL goes away, every kind of request answers a clean 503; when it comes
    back, the same app serves normally again without being rebuilt."""
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
    """An app whose database was never reachable answers 503 on readiness, GraphQL, the token endpoint and the
    sign-in page (never a 500 or a stack trace), while /healthz still says the process is alive."""
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
            _assert_clean_503(await http.post("/login", data={"username": "alice", "password": PASSWORD},
                                              headers=SAME_ORIGIN))
            assert (await http.get("/healthz")).status_code == 200
    finally:
        await application.state.consentry.database.dispose()


@contextlib.contextmanager
def _connections_refused(database_url: str) -> Iterator[None]:
    """``ALTER DATABASE … ALLOW_CONNECTIONS false`` on the test database (new connections fail with SQLSTATE
    55000; open ones live on), allowed again on the way out whatever happened."""
    name = make_url(database_url).database
    admin = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        yield
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@pytest.mark.parametrize("pooled", [True, False], ids=["pooled", "behind-a-pooler"])
async def test_k50_a_database_refusing_new_connections_is_a_503_on_every_path_then_recovers(
    settings: Settings, backend: str, pooled: bool,
) -> None:
    """SECURITY.md K50: while PostgreSQL refuses new connections to our database (SQLSTATE 55000, which asyncpg
    raises at connect time), GraphQL, a page, the token and introspection endpoints, the resource API and /readyz
    all answer 503 with Retry-After (never a 500, never a dropped connection), and answer normally once
    connections are allowed again, without a restart. Both with our own pool and with a connection per request
    (CONSENTRY_DATABASE_POOLING=off)."""
    if backend != "postgres":
        pytest.skip("a PostgreSQL database setting")
    application = create_app(settings.with_overrides(database_pooling=pooled))
    try:
        async with client_for(application) as http:
            person = await sign_in(application, "alice")
            reg = await register(application)
            access_token = (await tokens_for(http, person, reg)).access_token
            code, verifier = await obtain_code(http, person, reg)
            with _connections_refused(settings.database_url):
                # The pools' open connections would still work: empty them, so every request needs a new one.
                await application.state.consentry.database.dispose()
                _assert_clean_503(await http.get("/readyz"))
                _assert_graphql_503(await _gql(http, "{ viewer { username } }", person=person))
                _assert_clean_503(await http.get("/settings", headers=person.headers))
                _assert_oauth_503(await exchange(http, reg, code, verifier))
                _assert_oauth_503(await introspect(http, reg, access_token))
                _assert_oauth_503(await call_me(http, access_token))
                assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/readyz")).status_code == 200
            viewer = await _gql(http, "{ viewer { username } }", person=person)
            assert viewer.json() == {"data": {"viewer": {"username": "alice"}}}
            assert (await http.get("/settings", headers=person.headers)).status_code == 200
            assert (await exchange(http, reg, code, verifier)).status_code == 200
            assert (await introspect(http, reg, access_token)).json()["active"] is True
            assert (await call_me(http, access_token)).status_code == 200
        # Only a failure to connect counts: the same SQLSTATE from a statement is a bug to see, not an outage.
        async with application.state.consentry.database.async_engine.connect() as conn:
            await conn.execute(text("CREATE TEMPORARY SEQUENCE never_used"))
            with pytest.raises(DBAPIError) as bug:  # currval before any nextval: SQLSTATE 55000
                await conn.execute(text("SELECT currval('never_used')"))
        assert getattr(bug.value.orig, "sqlstate", None) == "55000"
        assert not is_database_unavailable(bug.value)
    finally:
        await application.state.consentry.database.dispose()
