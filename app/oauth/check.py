"""``/oauth/check``: the gateway check (forward auth) that nginx ``auth_request``, Traefik ``ForwardAuth`` and Envoy's
HTTP ``ext_authz`` call before each API request they guard.

The gateway passes the API request's own ``Authorization`` header along; the scope the API needs comes as
``?scope=`` or in ``X-Consentry-Scope`` (space-separated; every scope named in either is required). The answer has
no body: 200 with ``X-Consentry-Account``, ``-Username``, ``-Client`` and ``-Scopes`` for the gateway to hand to the
API, or 401/403 with RFC 6750's ``WWW-Authenticate``. Only the gateway may call it (``app.http.gateway``).

Every check reads the token's row: nothing is cached, so a revoked token fails the very next check on every
process. Use is recorded on the grant as ``/api/v1/me`` records it (at most one write a minute per grant).

Envoy sends the check with the API request's own method (``path_override: /oauth/check`` fixes the path), so
every method is answered the same way.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import metrics
from app.http.auth import bearer_token
from app.http.gateway import refused
from app.http.state import app_state, request_db
from app.oauth.guard import REALM
from app.services.oauth.tokens import AccessContext, authenticate_access_token, mark_grant_used
from app.services.permissions import split_scopes

SCOPE_HEADER = "x-consentry-scope"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_NO_STORE = {"Cache-Control": "no-store"}
# RFC 6749 §3.3's scope-token: what may be named in the challenge's scope attribute (the required scopes come from the
# gateway's configuration or the query string; anything else, a quote or a control character, is held by no token
# and is left out of the header rather than breaking it).
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")

# A way to recognise the API request's credentials, by its Authorization scheme (lower case): the live access it
# stands for, or None when the credentials are not good. This is the extension point for OAuth 1.0a: its checker
# (registered under "oauth") verifies the signature against the API request's method and URL, which the gateway
# passes as X-Original-Method / X-Original-URI (nginx) or X-Forwarded-Method / -Uri / -Host / -Proto (Traefik), and
# returns the AccessContext of the grant the OAuth 1.0a token belongs to.
CredentialCheck = Callable[[Request], Awaitable[AccessContext | None]]


async def _bearer(request: Request) -> AccessContext | None:
    token = bearer_token(request)
    return await authenticate_access_token(request_db(request), token=token) if token else None


CHECKS: dict[str, CredentialCheck] = {"bearer": _bearer}


def _challenge(status: int, error: str | None = None, scope: str | None = None) -> Response:
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return Response(status_code=status, headers={"WWW-Authenticate": "Bearer " + ", ".join(parts), **_NO_STORE})


def _required_scopes(request: Request) -> frozenset[str]:
    named = [*request.query_params.getlist("scope"), *request.headers.getlist(SCOPE_HEADER)]
    return frozenset(scope for value in named for scope in split_scopes(value))


async def check(request: Request) -> Response:
    if not app_state(request).gateway.allows(request):
        metrics.CHECK_REFUSED.inc()
        return refused()
    scheme = request.headers.get("authorization", "").partition(" ")[0].lower()
    credential_check = CHECKS.get(scheme)
    if credential_check is None:
        metrics.CHECK_NO_TOKEN.inc()
        return _challenge(401)  # RFC 6750 §3.1: no error code when no credentials it knows were sent
    access = await credential_check(request)
    if access is None:
        metrics.CHECK_INVALID.inc()
        return _challenge(401, "invalid_token")
    needed = _required_scopes(request)
    if not needed <= access.scopes:
        metrics.CHECK_SCOPE.inc()
        named = " ".join(sorted(scope for scope in needed if _SCOPE_TOKEN.fullmatch(scope)))
        return _challenge(403, "insufficient_scope", named)
    await mark_grant_used(request_db(request), access=access)
    metrics.CHECK_ALLOWED.inc()
    return Response(status_code=200, headers={
        "X-Consentry-Account": str(access.account.id), "X-Consentry-Username": access.account.username,
        "X-Consentry-Client": access.client_id, "X-Consentry-Scopes": " ".join(sorted(access.scopes)), **_NO_STORE})


routes = [Route("/oauth/check", check, methods=METHODS)]
