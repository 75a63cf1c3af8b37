"""The example resource API for third-party apps, behind the scope guard."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.oauth.guard import oauth_access, require_scopes

EMAIL_SCOPE = "users.email"


@require_scopes("users.read")
async def me(request: Request) -> Response:
    """The account the token acts for; the email address only when the person granted ``users.email``."""
    access = oauth_access(request)
    account = access.account
    body: dict[str, str | None] = {"id": str(account.id), "username": account.username, "name": account.name}
    if EMAIL_SCOPE in access.scopes:
        body["email"] = account.email
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
