"""``node(id:)``: load any object of the signed-in account by global ID, enforcing ownership."""

from __future__ import annotations

import base64

from app.graphql.account import Account, ConnectedApp
from app.graphql.context import Context
from app.graphql.ids import from_global_id
from app.graphql.types import App, AuthorizationRequest, Node, Session
from app.services import apps as app_service
from app.services import grants as grant_service
from app.services import sessions as session_service
from app.services.errors import DomainError


def _type_name(global_id: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return raw.partition(":")[0] or None


async def resolve_node(ctx: Context, global_id: str) -> Node | None:
    login = ctx.require_login()
    type_name = _type_name(global_id)
    object_id = from_global_id(global_id, type_name or "")
    if type_name is None or object_id is None:
        return None
    try:
        async with ctx.db() as db:
            if type_name == "Account":
                return Account.from_model(login.account) if object_id == login.account.id else None
            if type_name == "Session":
                session = await session_service.get_session(db, account=login.account, session_id=object_id,
                                                            policy=ctx.state.session_policy)
                return Session.from_model(session, current_session_id=login.session.id)
            if type_name == "ConnectedApp":
                grant = await grant_service.get_connected_app(db, account=login.account, grant_id=object_id)
                app = await app_service.get_visible_app(db, account=login.account, app_id=grant.app_id)
                return ConnectedApp.from_model(grant, app, ctx.state.catalog)
            if type_name == "App":
                app = await app_service.get_visible_app(db, account=login.account, app_id=object_id)
                return App.from_model(app)
            if type_name == "AuthorizationRequest":
                pending = await grant_service.get_authorization_request(
                    db, account=login.account, session_id=login.session.id, request_id=object_id)
                return AuthorizationRequest.from_model(pending.request, pending.app, ctx.state.catalog)
    except DomainError:
        return None
    return None
