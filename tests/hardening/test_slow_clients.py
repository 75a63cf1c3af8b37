"""SECURITY.md K46: slow clients never pin the connection pool. Sockets that send their headers (a junk bearer token,
a real session token or cookie) and a Content-Length, then never finish the body, hold no database connection:
every other request keeps answering, quickly, on a real uvicorn server with the production pool; and a body that
takes longer than its time bound is answered 408 and its socket is closed."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette

from app.db.engines import POOL_SIZE, create_database
from app.http.faults import describe, is_database_unavailable
from app.services.apps import RegisteredApp
from app.settings import Settings
from tests.conftest import LiveServer, client_for
from tests.oauth.helpers import Person, refresh, register, sign_in, tokens_for

SLOW_SOCKETS = 3 * POOL_SIZE
VIEWER = "{ viewer { username } }"
# Generous: on this machine these requests take milliseconds; starved ones waited for the pool's timeout (3 s here).
MAX_SECONDS = 2.0


def _raw_request(port: int, method: str, path: str, headers: dict[str, str], body_start: bytes) -> socket.socket:
    """Open a connection and send a request's headers and the first bytes of its body, never the rest."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}\r\n".encode() + body_start)
    return sock


@contextmanager
def _slow_sockets(port: int, person: Person, cookie_name: str) -> Iterator[list[socket.socket]]:
    """3 × the pool size of requests to /graphql and POST /oauth/consent that never finish their bodies: with a junk
    bearer token, the person's real session token, or their session cookie (each is looked up before the body is
    read, on the code this test was written against)."""
    credentials = [{"Authorization": "Bearer junk-token-that-is-no-session-at-all-0123456789"},
                   {"Authorization": f"Bearer {person.token}"},
                   {"Cookie": f"{cookie_name}={person.token}"}]
    targets = [("/graphql", "application/json", b'{"query": "{ viewer'),
               ("/oauth/consent", "application/x-www-form-urlencoded", b"request=QXV0aG9y&decision=appr")]
    sockets: list[socket.socket] = []
    try:
        for number in range(SLOW_SOCKETS):
            path, content_type, start = targets[number % len(targets)]
            headers = {**credentials[number % len(credentials)], "Content-Type": content_type,
                       "Content-Length": "4096"}
            sockets.append(_raw_request(port, "POST", path, headers, start))
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


async def _timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await call
    return response, time.perf_counter() - started


async def _normal_requests(http: httpx.AsyncClient, person: Person, reg: RegisteredApp,
                           refresh_token: str) -> tuple[list[tuple[str, int, float]], str]:
    """A GraphQL viewer query, /healthz, /readyz and a token request; each one's (name, status, seconds)."""
    results: list[tuple[str, int, float]] = []
    viewer, seconds = await _timed(http.post("/graphql", json={"query": VIEWER}, headers=person.headers))
    results.append(("graphql viewer", viewer.status_code, seconds))
    assert viewer.status_code != 200 or viewer.json() == {"data": {"viewer": {"username": "alice"}}}, viewer.text
    for probe in ("/healthz", "/readyz"):
        response, seconds = await _timed(http.get(probe))
        results.append((probe, response.status_code, seconds))
    token, seconds = await _timed(refresh(http, reg, refresh_token))
    results.append(("token refresh", token.status_code, seconds))
    next_refresh = token.json().get("refresh_token", refresh_token) if token.status_code == 200 else refresh_token
    return results, next_refresh


def _idle_in_transaction(database_url: str) -> int:
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND state = 'idle in transaction'").fetchone()
    return int(row[0]) if row else 0


async def test_k46_slow_bodies_leave_every_other_request_its_usual_latency(
    app: Starlette, settings: Settings, backend: str,
) -> None:
    """SECURITY.md K46: while 3 × the pool size of sockets send a bearer token (junk or real) or a session cookie
    and a Content-Length to /graphql and POST /oauth/consent but never finish the body, a GraphQL query, /healthz,
    /readyz and a token request all succeed (no 503) in well under 2 s each, on a pooled server; and on PostgreSQL
    no backend of our database sits "idle in transaction" meanwhile. (Before the fix the sockets' session lookups
    held every pooled connection, idle in transaction, and the other requests answered 503 after the pool's
    timeout.)"""
    person = await sign_in(app, "alice")
    reg = await register(app)
    async with client_for(app) as local:
        refresh_token = (await tokens_for(local, person, reg)).refresh_token
    assert refresh_token
    served = settings.with_overrides(database_timeout_seconds=3, request_body_timeout_seconds=120)
    with LiveServer(served, pooled=True) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as http:
            before, refresh_token = await _normal_requests(http, person, reg, refresh_token)
            assert all(status == 200 for _name, status, _seconds in before), before
            with _slow_sockets(server.port, person, server.settings.session_cookie_name):
                await asyncio.sleep(1)  # every slow request has reached the app (and, before the fix, the pool)
                during: list[tuple[str, int, float]] = []
                for _round in range(3):
                    results, refresh_token = await _normal_requests(http, person, reg, refresh_token)
                    during.extend(results)
                slow = [(name, status, seconds) for name, status, seconds in during
                        if status != 200 or seconds >= MAX_SECONDS]
                assert slow == [], f"under slow sockets: {during}; before them: {before}"
                if backend == "postgres":
                    # A request's transaction can be idle for a moment between its own statements: look a few times.
                    counts = []
                    for _look in range(10):
                        counts.append(_idle_in_transaction(settings.database_url))
                        if counts[-1] == 0:
                            break
                        await asyncio.sleep(0.2)
                    assert counts[-1] == 0, f"backends idle in transaction: {counts}"


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails the test)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.mark.parametrize(("path", "content_type", "body_start", "expected"), [
    ("/graphql", "application/json", b'{"query": "{ vi', b'"code":"REQUEST_TIMEOUT"'),
    ("/oauth/token", "application/x-www-form-urlencoded", b"grant_type=refr", b'"error":"invalid_request"'),
    ("/login", "application/x-www-form-urlencoded", b"username=ali", b"did not arrive in time"),
])
async def test_k46_a_body_slower_than_its_time_bound_gets_408_and_its_socket_is_closed(
    settings: Settings, path: str, content_type: str, body_start: bytes, expected: bytes,
) -> None:
    """SECURITY.md K46: a client that has not sent its whole body within the time bound (1 s here) is answered 408,
    in the form the endpoint's clients read, and the server closes the connection: the socket is freed instead of
    waiting on the client for as long as it likes."""
    with LiveServer(settings.with_overrides(request_body_timeout_seconds=1), pooled=True) as server:
        sock = _raw_request(server.port, "POST", path, {"Content-Type": content_type, "Content-Length": "1000"},
                            body_start)
        try:
            started = time.monotonic()
            response = _read_until_closed(sock)  # the server closes it; a recv timeout (10 s) would fail here
            waited = time.monotonic() - started
        finally:
            sock.close()
        assert response.startswith(b"HTTP/1.1 408 "), response
        assert b"connection: close" in response.lower(), response
        assert expected in response, response
        assert waited < 8, waited
        deadline = time.monotonic() + 5
        # Polled: uvicorn's server state has no event to wait on.
        while server.server.server_state.connections and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        assert not server.server.server_state.connections  # the server let go of the socket too


async def test_k46_postgres_ends_a_transaction_our_connection_left_idle(settings: Settings, backend: str) -> None:
    """The backstop: PostgreSQL itself ends a session of ours that sits idle inside a transaction for three database
    timeouts (here 3 × 0.5 s), on the async and the sync engine alike, and what the request then sees is a
    retryable error (a 503 with Retry-After), not a 500."""
    if backend != "postgres":
        pytest.skip("a PostgreSQL server setting")
    database = create_database(settings.database_url, timeout_seconds=0.5)
    try:
        async with database.async_sessions() as db:
            await db.execute(text("SELECT 1"))  # a transaction is open now, and left idle
            await asyncio.sleep(2.5)
            with pytest.raises(DBAPIError) as ended:
                await db.execute(text("SELECT 1"))
        assert is_database_unavailable(ended.value), describe(ended.value)

        def sync_idle() -> DBAPIError | None:
            with database.sync_sessions() as session:
                session.execute(text("SELECT 1"))
                time.sleep(2.5)
                try:
                    session.execute(text("SELECT 1"))
                except DBAPIError as error:
                    return error
            return None

        sync_error = await asyncio.to_thread(sync_idle)
        assert sync_error is not None and is_database_unavailable(sync_error), sync_error
    finally:
        await database.dispose()
