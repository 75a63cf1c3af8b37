"""The signed-in account and the lists hanging off it: sessions, connected apps, registered apps."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info

from app.graphql.context import Context
from app.graphql.ids import node_id
from app.graphql.pagination import page_from
from app.graphql.security_events import SecurityEvent, SecurityEventKind, security_event_connection
from app.graphql.types import (
    App,
    AppProtocol,
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
from app.services import apps as app_service
from app.services import grants as grant_service
from app.services import sessions as session_service
from app.services.apps import AppRow
from app.services.grants import GrantRow
from app.services.permissions import Catalog
from app.services.privacy import mask_ip

First = Annotated[int | None, strawberry.argument(description="Page size (0 to 100, default 20).")]
After = Annotated[str | None, strawberry.argument(description="Return items after this cursor.")]


@strawberry.type(description="A third-party app the account has authorized, with what it may see and do.")
class ConnectedApp(Node):
    permissions: list[Permission] = strawberry.field(description="Everything the app may see and do.")
    can_view: list[Permission] = strawberry.field(description="Things this App can view.")
    can_do: list[Permission] = strawberry.field(description="Things this App can do.")
    stays_connected: bool = strawberry.field(description="The app holds a refresh token (`offline.access`).")
    access_levels: list[str] = strawberry.field(
        description="The access level these permissions amount to, in the words of X's app settings (`Read`, "
                    "`Read and Write`, `Read, Write and Direct Messages`), then add-ons such as `Email address`: "
                    "the narrowest level of the permission catalogue that covers them all, so the most sensitive "
                    "thing the app can do is always named; empty only when some permission lies outside every "
                    "level.")
    protocol: AppProtocol = strawberry.field(description="How the app connects: OAuth 1.0a or OAuth 2.0.")
    authorized_at: datetime = strawberry.field(description="When the account last authorized the app.")
    last_used_at: datetime | None = strawberry.field(description="When the app last used its access.")
    last_used_location: str | None = strawberry.field(
        description="The country the app last used its access from (its request to the API).")
    last_used_ip: strawberry.Private[str | None]

    @strawberry.field(description="Where the app last used its access from, as people are shown it: its network "
                                  "and country, e.g. `203.0.113.x, Germany` (null before its first use).")
    def last_used_from(self) -> str | None:
        return ", ".join(part for part in (mask_ip(self.last_used_ip), self.last_used_location) if part) or None

    @strawberry.field(description="The address the app last used its access from: masked unless `full` is asked "
                                  "for.")
    def last_used_ip_address(self, full: FullAddress = False) -> str | None:
        return shown_ip(self.last_used_ip, full)
    # Loaded with the page in one SELECT and set here: a plain field keeps every node off the async path
    # (an async resolver per node costs a task each, the bulk of a page's time).
    app: App = strawberry.field(description="The app.")

    @classmethod
    def from_model(cls, grant: GrantRow, app: AppRow, catalog: Catalog) -> ConnectedApp:
        groups = catalog.groups(grant.scopes)
        return cls(
            id=node_id("ConnectedApp", grant.id),
            permissions=permission_lists(groups.permissions),
            can_view=permission_lists(groups.can_view),
            can_do=permission_lists(groups.can_do),
            stays_connected=groups.stays_connected,
            access_levels=list(groups.access_levels),
            protocol=AppProtocol(app.protocol),
            authorized_at=grant.authorized_at,
            last_used_at=grant.last_used_at,
            last_used_location=grant.last_used_location,
            last_used_ip=grant.last_used_ip,
            app=App.from_model(app),
        )


@strawberry.type(description="A person's account. Only the signed-in account is ever visible.")
class Account(Node):
    username: str = strawberry.field(description="Sign-in name, unique regardless of case.")
    name: str = strawberry.field(description="Display name.")
    email: str | None = strawberry.field(description="Email address.")
    model: strawberry.Private[AccountModel]
    # The session the account is seen from: the request's own, or the one `login` has just opened. Its lists are
    # that session's view (which session `isCurrent`), and only a signed-in session ever gets an Account.
    session_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, account: AccountModel, *, session_id: uuid.UUID) -> Account:
        return cls(id=node_id("Account", account.id), username=account.username, name=account.name,
                   email=account.email, model=account, session_id=session_id)

    @strawberry.field(description="Places where the account is signed in, most recently active first.")
    async def sessions(
        self, info: Info[Context, None], first: First = None, after: After = None
    ) -> Connection[Session]:
        ctx = info.context
        page = page_from(first, after)
        async with ctx.db() as db:
            listed = await session_service.list_sessions(
                db, account=self.model, policy=ctx.state.session_policy, limit=page.limit, after=page.after)
        nodes = [Session.from_model(row, current_session_id=self.session_id) for row in listed.rows]
        return build_connection(nodes, positions=[session_service.position_of(row) for row in listed.rows],
                                total=listed.total, has_more=listed.has_more, page=page)

    @strawberry.field(description="Apps that can use the account, most recently used first.")
    async def connected_apps(
        self, info: Info[Context, None], first: First = None, after: After = None
    ) -> Connection[ConnectedApp]:
        ctx = info.context
        page = page_from(first, after)
        async with ctx.db() as db:
            listed = await grant_service.list_connected_apps(db, account=self.model, limit=page.limit,
                                                             after=page.after)
        # One batched load for the whole page, then plain fields: no async resolver per node.
        apps = await ctx.apps_by_ids.load(tuple(grant.app_id for grant in listed.rows)) if listed.rows else {}
        shown = [grant for grant in listed.rows if grant.app_id in apps]
        nodes = [ConnectedApp.from_model(grant, apps[grant.app_id], ctx.state.catalog) for grant in shown]
        return build_connection(nodes, positions=[grant_service.position_of(grant) for grant in shown],
                                total=listed.total, has_more=listed.has_more, page=page)

    @strawberry.field(description="What happened to the account (sign-ins, logouts, apps authorized and revoked, "
                                  "password changes), newest first. Kept for `CONSENTRY_SECURITY_EVENT_DAYS` days.")
    async def security_events(
        self, info: Info[Context, None], first: First = None, after: After = None,
        kinds: Annotated[list[SecurityEventKind] | None, strawberry.argument(
            description="Only events of these kinds (all kinds when omitted).")] = None,
    ) -> Connection[SecurityEvent]:
        return await security_event_connection(info.context, account=self.model, current_session_id=self.session_id,
                                               first=first, after=after, kinds=kinds)

    @strawberry.field(description="Apps this account registered as a developer, newest first.")
    async def registered_apps(
        self, info: Info[Context, None], first: First = None, after: After = None
    ) -> Connection[App]:
        ctx = info.context
        page = page_from(first, after)
        async with ctx.db() as db:
            listed = await app_service.list_registered_apps(db, owner=self.model, limit=page.limit, after=page.after)
        return build_connection([App.from_model(app) for app in listed.rows],
                                positions=[app_service.position_of(app) for app in listed.rows],
                                total=listed.total, has_more=listed.has_more, page=page)
