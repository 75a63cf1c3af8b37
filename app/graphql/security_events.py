"""The security timeline in the graph: ``viewer.securityEvents`` and the ``SecurityEvent`` node."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry

from app.graphql.context import Context
from app.graphql.ids import node_id
from app.graphql.pagination import page_from
from app.graphql.types import (
    App,
    Connection,
    FullAddress,
    Node,
    Permission,
    Session,
    build_connection,
    permission_lists,
    shown_ip,
)
from app.models import Account as AccountModel
from app.services import security_events as event_service
from app.services import sessions as session_service
from app.services.apps import AppRow
from app.services.permissions import Catalog, join_scopes
from app.services.security_events import EventRow, Kind
from app.services.security_words import describe
from app.services.sessions import SessionRow


@strawberry.enum(description="What happened to the account.")
class SecurityEventKind(Enum):
    SIGNED_IN = strawberry.enum_value("SIGNED_IN", description="Someone signed in (see `isNewDevice`).")
    SIGN_IN_LIMITED = strawberry.enum_value(
        "SIGN_IN_LIMITED", description="Sign-in attempts were refused after too many wrong passwords.")
    SIGNED_OUT = strawberry.enum_value("SIGNED_OUT", description="A session signed itself out.")
    SESSION_LOGGED_OUT = strawberry.enum_value(
        "SESSION_LOGGED_OUT", description="One session was logged out from another.")
    OTHER_SESSIONS_LOGGED_OUT = strawberry.enum_value(
        "OTHER_SESSIONS_LOGGED_OUT", description="Every other session was logged out (see `count`).")
    APP_AUTHORIZED = strawberry.enum_value("APP_AUTHORIZED", description="An app was authorized (see `permissions`).")
    APP_PERMISSIONS_CHANGED = strawberry.enum_value(
        "APP_PERMISSIONS_CHANGED", description="What a connected app may do was changed.")
    APP_REVOKED = strawberry.enum_value("APP_REVOKED", description="An app's access was revoked.")
    APP_EXPIRY_WARNING = strawberry.enum_value(
        "APP_EXPIRY_WARNING", description="An app's access is about to expire.")
    PASSWORD_CHANGED = strawberry.enum_value("PASSWORD_CHANGED", description="The password was changed.")
    ACCOUNT_SECURED = strawberry.enum_value(
        "ACCOUNT_SECURED", description="\"This wasn't me\" was used: other sessions and apps ended.")


@strawberry.type(description="One thing that happened to the account, and where it was done from.")
class SecurityEvent(Node):
    kind: SecurityEventKind = strawberry.field(description="What happened.")
    at: datetime = strawberry.field(description="When it happened.")
    summary: str = strawberry.field(
        description="The event in plain words, e.g. \"Signed in on a new device: Firefox on Windows, Germany\".")
    device: str | None = strawberry.field(description="Device of the session that did it, e.g. `iPhone`.")
    browser: str | None = strawberry.field(description="Browser or app of that session, with its version.")
    os: str | None = strawberry.field(description="Operating system of that session, with its version.")
    location: str | None = strawberry.field(description="Country it was done from.")
    is_new_device: bool = strawberry.field(
        description="A sign-in from a device (browser and system) this account had not signed in from before.")
    is_new_country: bool = strawberry.field(
        description="A sign-in from a country this account had not signed in from before.")
    count: int | None = strawberry.field(description="How many sessions `OTHER_SESSIONS_LOGGED_OUT` ended.")
    permissions: list[Permission] = strawberry.field(
        description="What `APP_AUTHORIZED` allowed the app (empty for other kinds).")
    session: Session | None = strawberry.field(
        description="The session that did it (for a sign-in, the session it opened), while it is still signed in.")
    app: App | None = strawberry.field(description="The app it concerns, if any.")
    ip: strawberry.Private[str | None]

    @strawberry.field(description="IP address it was done from: masked unless `full` is asked for.")
    def ip_address(self, full: FullAddress = False) -> str | None:
        return shown_ip(self.ip, full)

    @classmethod
    def from_model(cls, event: EventRow, *, catalog: Catalog, session: SessionRow | None, app: AppRow | None,
                   current_session_id: uuid.UUID) -> SecurityEvent:
        details = event.details or {}
        scopes = details.get("scopes") if event.kind == Kind.APP_AUTHORIZED else None
        return cls(
            id=node_id("SecurityEvent", event.id), kind=SecurityEventKind(event.kind), at=event.at,
            summary=describe(event), device=event.device, browser=event.browser, os=event.os,
            location=event.location, is_new_device=event.is_new_device, is_new_country=event.is_new_country,
            count=details.get("count") if event.kind == Kind.OTHER_SESSIONS_LOGGED_OUT else None,
            permissions=permission_lists(catalog.groups(join_scopes(scopes)).permissions) if scopes else [],
            session=Session.from_model(session, current_session_id=current_session_id) if session else None,
            app=App.from_model(app) if app else None, ip=event.ip_address,
        )


async def security_event_connection(
    ctx: Context, *, account: AccountModel, current_session_id: uuid.UUID, first: int | None, after: str | None,
    kinds: list[SecurityEventKind] | None,
) -> Connection[SecurityEvent]:
    """A page of the timeline: one statement for the events, one for their live sessions and one for their apps
    (each only when the page has any), whatever the number of events."""
    page = page_from(first, after)
    wanted = None if kinds is None else [Kind(kind.name) for kind in kinds]  # names and values are the same
    async with ctx.db() as db:
        listed = await event_service.list_security_events(db, account=account, limit=page.limit, after=page.after,
                                                          kinds=wanted)
        session_ids = [event.session_id for event in listed.rows if event.session_id is not None]
        sessions = await session_service.live_sessions_by_ids(db, account=account, ids=session_ids,
                                                              policy=ctx.state.session_policy)
    app_ids = tuple(dict.fromkeys(event.app_id for event in listed.rows if event.app_id is not None))
    apps = await ctx.apps_by_ids.load(app_ids) if app_ids else {}
    nodes = [SecurityEvent.from_model(
        event, catalog=ctx.state.catalog, current_session_id=current_session_id,
        session=sessions.get(event.session_id) if event.session_id else None,
        app=apps.get(event.app_id) if event.app_id else None) for event in listed.rows]
    return build_connection(nodes, positions=[event_service.position_of(event) for event in listed.rows],
                            total=listed.total, has_more=listed.has_more, page=page)
