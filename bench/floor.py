"""The floor: hand-written Starlette endpoints that run the same SQL as the GraphQL operations, by hand.

Each returns byte for byte the body GraphQL returns for the same request (the harness checks that before timing),
so a ratio against the floor measures only what the GraphQL layer and the ORM add. They run inside the same app,
behind the same middleware and on the same per-request AsyncSession, and are mounted by ``bench.server`` only.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.graphql.ids import from_global_id, to_global_id
from app.http.state import app_state, request_db
from app.models import utcnow
from app.models.base import UTCDateTime
from app.services.digests import digest
from app.services.sessions import ACTIVITY_WRITE_INTERVAL

_ID, _TIME = Uuid(), UTCDateTime()
_ACTIVE = ("s.revoked_at IS NULL AND s.last_active_at > :idle_after AND s.signed_in_at > :born_after")
_AUTH = text(
    "SELECT s.id, s.last_active_at, s.account_id FROM login_sessions s JOIN accounts a ON a.id = s.account_id "
    f"WHERE s.token_digest = :digest AND {_ACTIVE} AND NOT a.is_disabled"
).bindparams(bindparam("idle_after", type_=_TIME), bindparam("born_after", type_=_TIME)).columns(
    id=_ID, last_active_at=_TIME, account_id=_ID)
_TOUCH = text("UPDATE login_sessions SET last_active_at = :now WHERE id = :id").bindparams(
    bindparam("now", type_=_TIME), bindparam("id", type_=_ID))
_GRANTS = text(
    "SELECT g.id, g.app_id, g.scopes, g.authorized_at, g.last_used_at, count(*) OVER () AS total FROM grants g "
    "WHERE g.account_id = :account_id AND g.revoked_at IS NULL "
    "ORDER BY coalesce(g.last_used_at, g.authorized_at) DESC, g.id LIMIT 20 OFFSET 0"
).bindparams(bindparam("account_id", type_=_ID)).columns(
    id=_ID, app_id=_ID, authorized_at=_TIME, last_used_at=_TIME)
_APPS = text("SELECT id, name, description, icon_url, developer_name FROM apps WHERE id IN :ids").bindparams(
    bindparam("ids", type_=_ID, expanding=True)).columns(id=_ID)
_SESSIONS = text(
    "SELECT s.id, s.device, s.browser, s.os, s.location, s.signed_in_at, s.last_active_at, "
    f"count(*) OVER () AS total FROM login_sessions s WHERE s.account_id = :account_id AND {_ACTIVE} "
    "ORDER BY s.last_active_at DESC, s.id DESC LIMIT 20 OFFSET 0"
).bindparams(bindparam("account_id", type_=_ID), bindparam("idle_after", type_=_TIME),
             bindparam("born_after", type_=_TIME)).columns(
    id=_ID, signed_in_at=_TIME, last_active_at=_TIME)
_GRANT_OF_APP = text(
    "SELECT g.id, a.id AS app_id, a.name FROM grants g JOIN apps a ON a.id = g.app_id "
    "WHERE g.app_id = :app_id AND g.account_id = :account_id AND g.revoked_at IS NULL"
).bindparams(bindparam("app_id", type_=_ID), bindparam("account_id", type_=_ID)).columns(id=_ID, app_id=_ID)
_REVOKE = [text(sql).bindparams(bindparam("now", type_=_TIME), bindparam("grant_id", type_=_ID)) for sql in (
    "UPDATE grants SET revoked_at = :now WHERE id = :grant_id AND revoked_at IS NULL",
    "UPDATE oauth_tokens SET revoked_at = :now WHERE grant_id = :grant_id AND revoked_at IS NULL",
    "UPDATE authorization_codes SET used_at = :now WHERE grant_id = :grant_id AND used_at IS NULL",
)]
_LOGOUT_OTHERS = text(
    "UPDATE login_sessions SET revoked_at = :now, revoked_reason = 'logged_out_by_other' "
    "WHERE account_id = :account_id AND id != :current AND "
    "revoked_at IS NULL AND last_active_at > :idle_after AND signed_in_at > :born_after"
).bindparams(*(bindparam(name, type_=_TIME) for name in ("now", "idle_after", "born_after")),
             bindparam("account_id", type_=_ID), bindparam("current", type_=_ID))


def _json(data: dict[str, Any], status: int = 200) -> Response:
    # The same compact encoding Strawberry's HTTP view uses.
    return Response(json.dumps(data, separators=(",", ":")), status_code=status, media_type="application/json")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def _signed_in(request: Request, db: AsyncSession) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(session id, account id) for the bearer token, touching last_active_at at most once a minute."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return None
    policy = app_state(request).session_policy
    now = utcnow()
    row = (await db.execute(_AUTH, {"digest": digest(header[7:].strip()), "idle_after": now - policy.idle_timeout,
                                    "born_after": now - policy.absolute_lifetime})).first()
    if row is None:
        return None
    if now - row.last_active_at >= ACTIVITY_WRITE_INTERVAL:
        await db.execute(_TOUCH, {"now": now, "id": row.id})
        await db.commit()
    return row.id, row.account_id


async def page(request: Request) -> Response:
    db = request_db(request)
    signed_in = await _signed_in(request, db)
    if signed_in is None:
        return _json({"errors": [{"message": "You must be signed in."}]}, 401)
    session_id, account_id = signed_in
    catalog = app_state(request).catalog
    policy = app_state(request).session_policy
    grants = (await db.execute(_GRANTS, {"account_id": account_id})).all()
    apps = {row.id: row for row in (await db.execute(_APPS, {"ids": [g.app_id for g in grants]})).all()} \
        if grants else {}
    now = utcnow()
    sessions = (await db.execute(_SESSIONS, {"account_id": account_id, "idle_after": now - policy.idle_timeout,
                                             "born_after": now - policy.absolute_lifetime})).all()
    nodes = []
    for grant in grants:
        app = apps[grant.app_id]
        described = catalog.describe(grant.scopes)
        nodes.append({
            "id": to_global_id("ConnectedApp", grant.id),
            "app": {"id": to_global_id("App", app.id), "name": app.name, "description": app.description,
                    "iconUrl": app.icon_url, "developerName": app.developer_name},
            "permissions": [{"scope": p.scope, "title": p.title} for p in described],
            "canView": [{"title": p.title} for p in described if p.kind == "VIEW"],
            "canDo": [{"title": p.title} for p in described if p.kind == "DO"],
            "authorizedAt": _iso(grant.authorized_at),
            "lastUsedAt": _iso(grant.last_used_at),
        })
    session_nodes = [{
        "id": to_global_id("Session", s.id), "isCurrent": s.id == session_id, "device": s.device,
        "browser": s.browser, "os": s.os, "location": s.location, "signedInAt": _iso(s.signed_in_at),
        "lastActiveAt": _iso(s.last_active_at)} for s in sessions]
    return _json({"data": {"viewer": {
        "connectedApps": {"nodes": nodes, "totalCount": grants[0].total if grants else 0},
        "sessions": {"nodes": session_nodes, "totalCount": sessions[0].total if sessions else 0},
    }}})


async def revoke_access(request: Request) -> Response:
    db = request_db(request)
    signed_in = await _signed_in(request, db)
    if signed_in is None:
        return _json({"errors": [{"message": "You must be signed in."}]}, 401)
    app_id = from_global_id(json.loads(await request.body())["variables"]["id"], "App")
    row = (await db.execute(_GRANT_OF_APP, {"app_id": app_id, "account_id": signed_in[1]})).first()
    if row is None:
        return _json({"data": {"revokeAccess": {"app": None, "userErrors": [{"code": "NOT_FOUND"}]}}})
    now = utcnow()
    for statement in _REVOKE:
        await db.execute(statement, {"now": now, "grant_id": row.id})
    await db.commit()
    return _json({"data": {"revokeAccess": {"app": {"id": to_global_id("App", row.app_id), "name": row.name},
                                            "userErrors": []}}})


async def logout_other_sessions(request: Request) -> Response:
    db = request_db(request)
    signed_in = await _signed_in(request, db)
    if signed_in is None:
        return _json({"errors": [{"message": "You must be signed in."}]}, 401)
    policy = app_state(request).session_policy
    now = utcnow()
    result = await db.execute(_LOGOUT_OTHERS, {
        "now": now, "account_id": signed_in[1], "current": signed_in[0],
        "idle_after": now - policy.idle_timeout, "born_after": now - policy.absolute_lifetime})
    await db.commit()
    return _json({"data": {"logoutOtherSessions": {"loggedOutCount": result.rowcount, "userErrors": []}}})


routes = [
    Route("/bench/floor/page", page, methods=["POST"]),
    Route("/bench/floor/revoke", revoke_access, methods=["POST"]),
    Route("/bench/floor/logout-others", logout_other_sessions, methods=["POST"]),
]
