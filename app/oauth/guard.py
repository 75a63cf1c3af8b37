"""A reusable scope guard for resource endpoints: third-party bearer access tokens (RFC 6750) and OAuth 1.0a signed
requests (RFC 5849, ``app.oauth.oauth1.guard``), under the same scope rules.

Session tokens are not OAuth tokens and are never found here; tokens in the query string are refused because URLs
end up in logs and Referer headers (RFC 6750 §2.3, RFC 9700 §2.5).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.http.auth import bearer_token, client_ip
from app.http.state import request_db
from app.oauth.oauth1.checks import InsufficientScopeError
from app.oauth.oauth1.guard import is_oauth1, refusal, verify_signed_request
from app.services.oauth.tokens import AccessContext, authenticate_access_token, mark_grant_used

REALM = "consentry"
Endpoint = Callable[[Request], Awaitable[Response]]


def _challenge(status: int, error: str | None = None, description: str | None = None,
               scope: str | None = None) -> Response:
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    body = {"error": error or "unauthorized"}
    if description:
        body["error_description"] = description
    headers = {"WWW-Authenticate": "Bearer " + ", ".join(parts), "Cache-Control": "no-store"}
    return JSONResponse(body, status_code=status, headers=headers)


def oauth_access(request: Request) -> AccessContext:
    """The access token context the guard put on this request."""
    context: AccessContext = request.scope["state"]["oauth_access"]
    return context


def require_scopes(*scopes: str) -> Callable[[Endpoint], Endpoint]:
    """Let the endpoint run only with a live access token carrying every one of ``scopes``."""
    needed = frozenset(scopes)

    def decorator(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            if "access_token" in request.query_params:
                return _challenge(401, "invalid_request", "Send the access token in the Authorization header.")
            db = request_db(request)
            if is_oauth1(request):
                signed = await verify_signed_request(request)
                if isinstance(signed, Response):
                    return signed
                context = signed.access
                if not needed <= context.scopes:
                    return refusal(InsufficientScopeError())
            else:
                token = bearer_token(request)
                if token is None:
                    return _challenge(401)  # RFC 6750 §3.1: no error code when no credentials were sent
                found = await authenticate_access_token(db, token=token)
                if found is None:
                    return _challenge(401, "invalid_token", "The access token is invalid, expired or revoked.")
                context = found
                if not needed <= context.scopes:
                    return _challenge(403, "insufficient_scope", "The access token lacks a required scope.",
                                      " ".join(sorted(needed)))
            await mark_grant_used(db, access=context, ip_address=client_ip(request))
            request.scope.setdefault("state", {})["oauth_access"] = context
            return await endpoint(request)

        return guarded

    return decorator
