"""Every HTTP request's body is read in full, within a size bound and a time bound, before anything else runs.

Why first: a request that looked up its session and then waited for a slow client kept a pooled connection "idle in
transaction" for as long as the client took; twenty sockets that never finished their bodies starved the pool and
every database-backed endpoint answered 503 (SECURITY.md K46). Here, outside the per-request database session, no
route, sign-in lookup or statement runs until the client has sent everything, so **no request holds a database
connection while it waits on its client**. The cost is the body in memory, which the bounds below keep small.

The bounds (SECURITY.md K48), enforced before anything decodes the body:
- **size**: one written bound per endpoint (``BODY_LIMITS``). A ``Content-Length`` over it is refused at once with
  413, without reading a byte; a chunked body is cut off with 413 as soon as it passes the bound.
- **time**: the whole body must arrive within ``Settings.request_body_timeout_seconds`` of the request's headers,
  or the answer is 408.
Both refusals close the connection (``Connection: close``), so the socket is freed and the unread rest of the body
is never parsed, and both come in the form the endpoint's clients understand (app.http.faults.error_response).

The body is then replayed to the app through a new ``receive``, as one message, so Starlette and Strawberry read
it exactly as they would have read it from the server.

The other direction is ``state.DatabaseSessionMiddleware``'s: it closes the request's session as the response
starts, so a client that never reads its answers holds no connection either.
"""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.faults import error_response

KB = 1024

# The body bound of every endpoint, in bytes. First match wins: an entry ending in "/" is a prefix, any other is a
# whole path. Numbers are a few times what the largest honest request needs, so no client ever meets them.
BODY_LIMITS: tuple[tuple[str, int], ...] = (
    # {"query", "variables", "operationName"} as JSON. The query text itself has its own, smaller bound (32 KB,
    # app.graphql.endpoint.MAX_QUERY_BYTES); variables get the rest.
    ("/graphql", 100 * KB),
    # OAuth form posts (token, revoke, introspect, consent, device and OAuth 1.0a requests) and the resource API:
    # a few hundred bytes of parameters each, a few KB with a signed client assertion.
    ("/oauth/", 16 * KB),
    ("/api/", 16 * KB),
    # Sign-in and sign-out forms: username, password (at most 1 KB, app.services.accounts), next URL, CSRF token.
    ("/login", 16 * KB),
    ("/logout", 16 * KB),
)
# Every other path: pages, their forms (settings, developers' app registration) and probes.
DEFAULT_BODY_LIMIT = 64 * KB

TOO_LARGE_CODE = "REQUEST_TOO_LARGE"
TIMEOUT_CODE = "REQUEST_TIMEOUT"
OAUTH_ERROR = "invalid_request"
TIMEOUT_MESSAGE = "The request body did not arrive in time. Send it again in one go."


def body_limit(path: str) -> int:
    """The most bytes a request body to ``path`` may have."""
    for pattern, limit in BODY_LIMITS:
        if path == pattern or (pattern.endswith("/") and path.startswith(pattern)):
            return limit
    return DEFAULT_BODY_LIMIT


def _declared_length(scope: Scope) -> int | None:
    """The largest Content-Length the request declares (uvicorn refuses conflicting ones; be safe anyway)."""
    declared: int | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                continue
            declared = length if declared is None else max(declared, length)
    return declared


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()  # app.http.logs records it as 499, nothing else happens
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over the buffered body once, then waits on the server's (for the disconnect)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _too_large(path: str, limit: int) -> Response:
    message = f"The request body is larger than this endpoint takes ({limit // KB} KB)."
    return error_response(path, status=413, message=message, graphql_code=TOO_LARGE_CODE, oauth_error=OAUTH_ERROR,
                          headers={"Connection": "close"})


def _timed_out(path: str) -> Response:
    return error_response(path, status=408, message=TIMEOUT_MESSAGE, graphql_code=TIMEOUT_CODE,
                          oauth_error=OAUTH_ERROR, headers={"Connection": "close"})


class RequestBodyMiddleware:
    """Read each HTTP request's body within its size and time bounds before the app sees the request."""

    def __init__(self, app: ASGIApp, *, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = body_limit(path)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _too_large(path, limit)(scope, receive, send)  # refused before a byte of the body is read
            return
        try:
            async with asyncio.timeout(self.timeout_seconds):
                body = await _read_body(receive, limit)
        except TimeoutError:
            await _timed_out(path)(scope, receive, send)
            return
        if body is None:
            await _too_large(path, limit)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)
