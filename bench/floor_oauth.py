"""G3's references: introspection written by hand, and ``/api/v1/me``'s own handler without the bearer check.

The introspection floor authenticates the client (HTTP Basic), finds the token with one joined SELECT on the
request's AsyncSession and answers the same JSON, byte for byte, as Authlib's endpoint; it stays on the event loop,
which is what a hand-written endpoint would do.
"""

from __future__ import annotations

import base64
import uuid
from urllib.parse import unquote

from sqlalchemy import Uuid, bindparam, text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.http.state import app_state, request_db
from app.models import utcnow
from app.models.base import UTCDateTime
from app.oauth import api
from app.services.digests import digest, digest_matches
from app.services.oauth.tokens import AccessContext, TokenAccount
from app.services.permissions import split_scopes

_ID, _TIME = Uuid(), UTCDateTime()
_CLIENT = text("SELECT id, client_secret_digest FROM apps WHERE client_id = :client_id AND confidential").columns(
    id=_ID)
_TOKEN = text(
    "SELECT t.app_id, t.scopes, t.issued_at, t.access_expires_at, t.revoked_at, g.revoked_at AS grant_revoked_at, "
    "a.id AS account_id, a.username, a.is_disabled, ap.client_id FROM oauth_tokens t "
    "JOIN grants g ON g.id = t.grant_id JOIN accounts a ON a.id = t.account_id JOIN apps ap ON ap.id = t.app_id "
    "WHERE t.access_digest = :digest"
).columns(app_id=_ID, issued_at=_TIME, access_expires_at=_TIME, revoked_at=_TIME, grant_revoked_at=_TIME,
          account_id=_ID)
_ACCOUNT = text("SELECT id, username, name, email FROM accounts WHERE id = :id").bindparams(
    bindparam("id", type_=_ID)).columns(id=_ID)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    client_id, _, secret = base64.b64decode(value).decode().partition(":")
    return unquote(client_id), unquote(secret)


async def introspect(request: Request) -> Response:
    db = request_db(request)
    credentials = _basic(request)
    form = await request.form()
    client = None
    if credentials:
        client = (await db.execute(_CLIENT, {"client_id": credentials[0]})).first()
    if client is None or not digest_matches(credentials[1], client.client_secret_digest):  # type: ignore[index]
        return JSONResponse({"error": "invalid_client"}, status_code=401, headers=_NO_STORE)
    token = str(form.get("token") or "")
    row = (await db.execute(_TOKEN, {"digest": digest(token)})).first() if token else None
    now = utcnow()
    if (row is None or row.app_id != client.id or row.revoked_at is not None or row.grant_revoked_at is not None
            or row.is_disabled or row.access_expires_at <= now):
        return JSONResponse({"active": False}, headers=_NO_STORE)
    return JSONResponse({
        "active": True, "scope": row.scopes, "client_id": row.client_id, "username": row.username,
        "token_type": "Bearer", "exp": int(row.access_expires_at.timestamp()), "iat": int(row.issued_at.timestamp()),
        "sub": str(row.account_id), "iss": app_state(request).settings.issuer,
    }, headers=_NO_STORE)


def routes(account_id: uuid.UUID, scopes: str) -> list[Route]:
    """``/bench/me-unguarded``: the handler of ``/api/v1/me`` fed a fixed token context instead of the guard's.

    It still loads the account by primary key (one SELECT), as any handler serving an account's data must, and
    the cheapest way: the columns it shows, no ORM objects (the guard reads them in its own one SELECT). What it
    skips is exactly the bearer check: the token lookup, its scope test and the grant's last-used write.
    """
    handler = api.me.__wrapped__  # the endpoint inside @require_scopes
    grant_id, granted = uuid.uuid4(), frozenset(split_scopes(scopes))

    async def me_unguarded(request: Request) -> Response:
        row = (await (await request_db(request).connection()).execute(_ACCOUNT, {"id": account_id})).one()
        request.scope.setdefault("state", {})["oauth_access"] = AccessContext(
            account=TokenAccount(id=row.id, username=row.username, name=row.name, email=row.email),
            grant_id=grant_id, grant_last_used_at=utcnow(), scopes=granted)
        return await handler(request)  # type: ignore[no-any-return]

    return [Route("/bench/floor/introspect", introspect, methods=["POST"]),
            Route("/bench/me-unguarded", me_unguarded, methods=["GET"])]

