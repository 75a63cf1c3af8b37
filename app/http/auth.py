"""Who is signed in on this request: a first-party session from the cookie or an ``Authorization: Bearer`` header.

Third-party OAuth access tokens are never looked up here: they are not session tokens, so they never sign anyone in.
"""

from __future__ import annotations

from typing import cast

from starlette.requests import HTTPConnection

from app.http.state import app_state, request_db
from app.services.sessions import Authenticated, authenticate_token

_UNSET = object()


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def session_cookie(conn: HTTPConnection) -> str | None:
    return conn.cookies.get(app_state(conn).settings.session_cookie_name) or None


async def current_login(conn: HTTPConnection) -> Authenticated | None:
    """The signed-in account and session, resolved once per request."""
    cached = conn.scope.setdefault("state", {}).get("login", _UNSET)
    if cached is not _UNSET:
        return cast("Authenticated | None", cached)  # what this function stored below
    token = bearer_token(conn) or session_cookie(conn)
    login = None
    if token:
        login = await authenticate_token(request_db(conn), token=token, policy=app_state(conn).session_policy,
                                         ip_address=client_ip(conn))
    conn.scope["state"]["login"] = login
    return login


def authenticated_by_cookie(conn: HTTPConnection) -> bool:
    return bearer_token(conn) is None and session_cookie(conn) is not None


def client_ip(conn: HTTPConnection) -> str | None:
    return conn.client.host if conn.client else None
