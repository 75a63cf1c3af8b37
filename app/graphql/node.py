"""``node(id:)``: load any object of the signed-in account by global ID, enforcing ownership."""

from __future__ import annotations

from app.graphql.account import Account, ConnectedApp
from app.graphql.context import Context
from app.graphql.ids import parse_global_id
from app.graphql.security_events import SecurityEvent
from app.graphql.types import App, AuthorizationRequest, Node, Session
from app.services import apps as app_service
from app.services import grants as grant_service
from app.services import security_events as event_service
from app.services import sessions as session_service
from app.services.errors import DomainError


async def resolve_node(ctx: Context, global_id: str) -> Node | None:
    login = ctx.require_login()
    parsed = parse_global_id(global_id)
    if parsed is None:
        return None
    type_name, object_id = parsed
    try:
        async with ctx.db() as db:
            if type_name == "Account":
                if object_id != login.account.id:
                    return None
                return Account.from_model(login.account, session_id=login.session.id)
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
            if type_name == "SecurityEvent":
                event = await event_service.get_security_event(db, account=login.account, event_id=object_id)
                sessions = await session_service.live_sessions_by_ids(
                    db, account=login.account, ids=[event.session_id] if event.session_id else [],
                    policy=ctx.state.session_policy)
                apps = await app_service.get_apps_by_ids(db, ids=[event.app_id] if event.app_id else [])
                return SecurityEvent.from_model(
                    event, catalog=ctx.state.catalog, current_session_id=login.session.id,
                    session=sessions.get(event.session_id) if event.session_id else None,
                    app=apps.get(event.app_id) if event.app_id else None)
            if type_name == "AuthorizationRequest":
                pending = await grant_service.get_authorization_request(
                    db, account=login.account, session_id=login.session.id, request_id=object_id)
                return AuthorizationRequest.from_model(pending.request, pending.app, ctx.state.catalog)
    except DomainError:
        return None
    return None
