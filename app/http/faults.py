"""Database trouble answers 503 with ``Retry-After``, never a 500 or a stack trace.

What counts as trouble: the server is unreachable or refuses connections, the database is gone, the connection
pool is exhausted, SQLite stays locked past its busy timeout, or PostgreSQL aborts a transaction that a retry would
pass (serialization failure, deadlock, lock or statement timeout, shutdown). Nothing here keeps state between
requests, so the service answers normally again as soon as the database does, without a restart.

A connection that cannot be opened is trouble whatever the server said: refused with SQLSTATE 55000
(``ALLOW_CONNECTIONS false``), 57P03 (starting up), 28P01 (a password changed under us), or a socket error. asyncpg
raises these as plain PostgreSQL errors, the same classes a statement that is our bug raises, so the SQLSTATE alone
cannot tell them apart; app.db.engines marks every failure to connect as a lost connection (SQLAlchemy's
``connection_invalidated``) at the moment it happens, and that mark is what is read here. A 55000 raised by a
statement stays a 500: it is a bug to fix, not an outage to wait out.
"""

from __future__ import annotations

import errno
import logging
import socket

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Try again in a few seconds."
GRAPHQL_CODE = "TEMPORARILY_UNAVAILABLE"
OAUTH_ERROR = "temporarily_unavailable"

# SQLSTATE classes and codes a retry can get past: connection exceptions, transaction rollback (serialization
# failure, deadlock), insufficient resources, operator intervention (shutdown, statement timeout), system errors,
# a database that does not exist (yet), lock not available, a session the server ended for sitting idle in a
# transaction (app.db.engines sets that timeout).
_RETRYABLE_CLASSES = ("08", "40", "53", "57", "58")
_RETRYABLE_CODES = ("3D000", "55P03", "25P03")
# asyncpg raises socket errors bare (unwrapped) when it cannot open a connection: refused, reset, timed out, a name
# that does not resolve, and the plain OSErrors of a network or host out of reach.
_NETWORK_ERRORS = (ConnectionError, TimeoutError, socket.gaierror)
_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN})


def _sqlstate(error: BaseException) -> str | None:
    for attr in ("sqlstate", "pgcode"):
        value = getattr(error, attr, None)
        if isinstance(value, str):
            return value
    return None


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return seen


def is_database_unavailable(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) means "the database cannot serve this now; retry soon"."""
    for cause in _causes(error):
        if isinstance(cause, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, *_NETWORK_ERRORS)):
            return True
        if isinstance(cause, OSError) and cause.errno in _UNREACHABLE:
            return True
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return True
        state = _sqlstate(cause)
        if state and (state[:2] in _RETRYABLE_CLASSES or state in _RETRYABLE_CODES):
            return True
    return False


def describe(error: BaseException) -> dict[str, str]:
    """Loggable facts about a database failure: class names and SQLSTATE, never the statement or its parameters."""
    causes = _causes(error)
    facts = {"error": " <- ".join(type(cause).__name__ for cause in causes)}
    state = next((s for s in (_sqlstate(c) for c in causes) if s), None)
    if state:
        facts["sqlstate"] = state
    return facts


def retry_after_headers() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}


def error_response(path: str, *, status: int, message: str, graphql_code: str, oauth_error: str,
                   headers: dict[str, str]) -> Response:
    """A refusal in the form the client of ``path`` understands: GraphQL errors, OAuth error JSON, or plain text."""
    if path.startswith("/graphql"):
        return JSONResponse({"data": None, "errors": [{"message": message, "extensions": {"code": graphql_code}}]},
                            status_code=status, headers=headers)
    if path.startswith(("/oauth/", "/api/", "/.well-known/")):
        return JSONResponse({"error": oauth_error, "error_description": message}, status_code=status,
                            headers=headers)
    return PlainTextResponse(message, status_code=status, headers=headers)


def unavailable_response(path: str) -> Response:
    """The 503 with ``Retry-After``, in the form the client of ``path`` understands."""
    return error_response(path, status=503, message=UNAVAILABLE_MESSAGE, graphql_code=GRAPHQL_CODE,
                          oauth_error=OAUTH_ERROR, headers=retry_after_headers())


class DatabaseFaultMiddleware:
    """Turn a database failure anywhere below (routes, auth lookup, session close) into a clean 503."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started or not is_database_unavailable(error):
                raise
            log.warning("database unavailable; answered 503", extra={"path": scope.get("path"), **describe(error)})
            await unavailable_response(str(scope.get("path", "")))(scope, receive, send)


async def check_write_lock(conn: AsyncConnection) -> None:
    """On SQLite, take and release the write lock: readers still pass in WAL mode while a writer holds the file,
    so only this shows a locked database. (PostgreSQL has no database-wide write lock to probe.)"""
    if conn.dialect.name != "sqlite":
        return
    await conn.exec_driver_sql("BEGIN IMMEDIATE")
    await conn.exec_driver_sql("ROLLBACK")
