"""GraphQL object types. Built from models by ``from_model``; nothing of the tables leaks into the graph."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Generic, TypeVar

import strawberry
from strawberry import Info

from app.graphql.context import Context
from app.graphql.ids import node_id
from app.graphql.pagination import Page, encode_cursor
from app.models import AuthorizationRequest as AuthorizationRequestModel
from app.services.apps import AppRow
from app.services.grants import grant_covers
from app.services.paging import After
from app.services.permissions import Catalog, split_scopes
from app.services.permissions import Permission as CatalogPermission
from app.services.privacy import mask_ip
from app.services.receipts import Receipt
from app.services.sessions import SessionRow

T = TypeVar("T")


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global ID; pass it to `node(id:)`.")


@strawberry.enum(description="How a permission is grouped when shown to a person.")
class PermissionKind(Enum):
    VIEW = strawberry.enum_value("VIEW", description="Things this App can view.")
    DO = strawberry.enum_value("DO", description="Things this App can do.")
    STAY_CONNECTED = strawberry.enum_value(
        "STAY_CONNECTED", description="The app stays connected (gets a refresh token) until access is revoked.")


@strawberry.type(description="One thing an app may be allowed to see or do, in plain words.")
class Permission:
    scope: str = strawberry.field(description="The OAuth scope, e.g. `tweet.read`.")
    title: str = strawberry.field(description="Short name shown to people.")
    description: str = strawberry.field(description="What the app can see or do with it.")
    kind: PermissionKind = strawberry.field(description="Which group the permission is shown in.")

    @classmethod
    def from_catalog(cls, permission: CatalogPermission) -> Permission:
        return cls(scope=permission.scope, title=permission.title, description=permission.description,
                   kind=PermissionKind(permission.kind))


# Graph objects per catalogue permission, keyed by identity: a catalogue holds a few dozen permissions that live as
# long as it does, and a page shows each of them many times (hashing the frozen dataclass each time cost more than
# the lookup). Read-only values: one object can serve every response. Each entry holds its permission, so an id
# cannot be reused while the entry exists; cleared past the bound, like any cache here.
_graph_permissions: dict[int, tuple[CatalogPermission, Permission]] = {}
_GRAPH_PERMISSIONS_SIZE = 1024


def _graph_permission(permission: CatalogPermission) -> Permission:
    entry = _graph_permissions.get(id(permission))
    if entry is None or entry[0] is not permission:
        if len(_graph_permissions) >= _GRAPH_PERMISSIONS_SIZE:
            _graph_permissions.clear()
        entry = _graph_permissions[id(permission)] = (permission, Permission.from_catalog(permission))
    return entry[1]


def permission_lists(permissions: Sequence[CatalogPermission]) -> list[Permission]:
    return [_graph_permission(p) for p in permissions]


@strawberry.type(description="Where a page of a connection starts and ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item on this page.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item; pass it as `after`.")


@strawberry.type(description="An item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list that can grow.")
class Connection(Generic[T]):
    nodes: list[T] = strawberry.field(description="The items on this page.")
    total_count: int = strawberry.field(description="How many items there are in all pages.")
    positions: strawberry.Private[list[After]]  # of the nodes, in order: what their cursors say
    has_more: strawberry.Private[bool]
    after: strawberry.Private[After | None]

    # Edges and paging information are built only when asked for: the settings page asks for neither, and building
    # a cursor per item cost more than the rest of its connection.
    @strawberry.field(description="The items on this page with their cursors.")
    def edges(self) -> list[Edge[T]]:
        return [Edge(cursor=encode_cursor(position), node=item)
                for position, item in zip(self.positions, self.nodes, strict=True)]

    @strawberry.field(description="Paging information.")
    def page_info(self) -> PageInfo:
        return PageInfo(
            has_next_page=self.has_more,
            has_previous_page=self.after is not None,
            start_cursor=encode_cursor(self.positions[0]) if self.positions else None,
            end_cursor=encode_cursor(self.positions[-1]) if self.positions else None,
        )


def build_connection(items: list[T], *, positions: list[After], total: int, has_more: bool,
                     page: Page) -> Connection[T]:
    return Connection(nodes=items, total_count=total, positions=positions, has_more=has_more, after=page.after)


@strawberry.enum(description="What kind of client opened a session.")
class ClientKind(Enum):
    WEB = strawberry.enum_value("web", description="A browser, signed in through the sign-in page (a cookie).")
    MOBILE = strawberry.enum_value("mobile", description="A mobile app, signed in with the `login` mutation.")
    API = strawberry.enum_value("api", description="A script or other client using a session token.")


FullAddress = Annotated[bool, strawberry.argument(
    description="The whole address instead of its network (IPv4 /24 as `203.0.113.x`, IPv6 /48). Ask for it only "
                "when the person asks to see it.")]


def shown_ip(address: str | None, full: bool) -> str | None:
    return address if full else mask_ip(address)


@strawberry.type(description="A place where the account is signed in.")
class Session(Node):
    is_current: bool = strawberry.field(description="This is the session making the request (\"This device\").")
    client_kind: ClientKind = strawberry.field(description="Browser, mobile app or API client.")
    device: str | None = strawberry.field(description="Device, e.g. `iPhone` or `Computer`.")
    browser: str | None = strawberry.field(description="Browser or app with its version.")
    os: str | None = strawberry.field(description="Operating system with its version.")
    location: str | None = strawberry.field(description="Approximate location from the IP address (country).")
    last_location: str | None = strawberry.field(
        description="Where the session was last active from, when that is not where it signed in (else null).")
    signed_in_at: datetime = strawberry.field(description="When the person signed in.")
    last_active_at: datetime = strawberry.field(description="Last request made with this session (to the minute).")
    ip: strawberry.Private[str | None]
    last_ip: strawberry.Private[str | None]

    @strawberry.field(description="IP address the session signed in from: masked unless `full` is asked for.")
    def ip_address(self, full: FullAddress = False) -> str | None:
        return shown_ip(self.ip, full)

    @strawberry.field(description="IP address the session was last active from, when it is not the one it signed in "
                                  "from (else null): masked unless `full` is asked for.")
    def last_ip_address(self, full: FullAddress = False) -> str | None:
        return shown_ip(self.last_ip, full)

    @classmethod
    def from_model(cls, session: SessionRow, *, current_session_id: object) -> Session:
        return cls(
            id=node_id("Session", session.id),
            is_current=session.id == current_session_id,
            client_kind=ClientKind(session.client_kind),
            device=session.device,
            browser=session.browser,
            os=session.os,
            location=session.location,
            last_location=session.last_location if session.last_ip_address else None,
            signed_in_at=session.signed_in_at,
            last_active_at=session.last_active_at,
            ip=session.ip_address,
            last_ip=session.last_ip_address,
        )


@strawberry.type(description="What a revocation ended, counted from the statements that ended it.")
class RevocationReceipt:
    access_tokens: int = strawberry.field(description="Live access tokens that stopped working.")
    refresh_tokens: int = strawberry.field(description="Live refresh tokens that stopped working.")
    sessions: int = strawberry.field(description="Signed-in sessions that ended.")
    ended_at: datetime = strawberry.field(description="When they ended.")

    @classmethod
    def from_receipt(cls, receipt: Receipt) -> RevocationReceipt:
        return cls(access_tokens=receipt.access_tokens, refresh_tokens=receipt.refresh_tokens,
                   sessions=receipt.sessions, ended_at=receipt.ended_at)


@strawberry.enum(description="How a third-party app connects to accounts.")
class AppProtocol(Enum):
    OAUTH1 = strawberry.enum_value(
        "oauth1", description="OAuth 1.0a User Context: one access level for the whole app, plus add-ons.")
    OAUTH2 = strawberry.enum_value("oauth2", description="OAuth 2.0 User Context: the permissions of each request.")


@strawberry.type(description="A third-party application that can ask for access to accounts over OAuth 2.0 or "
                             "OAuth 1.0a.")
class App(Node):
    client_id: str = strawberry.field(description="The OAuth `client_id`.")
    name: str = strawberry.field(description="Name shown to people.")
    description: str = strawberry.field(description="What the app does, in its developer's words.")
    website_url: str | None = strawberry.field(description="The app's website.")
    icon_url: str | None = strawberry.field(description="The app's icon.")
    developer_name: str | None = strawberry.field(description="Who makes the app.")
    privacy_policy_url: str | None = strawberry.field(description="The app's privacy policy: read it before you "
                                                                  "authorize the app.")
    terms_url: str | None = strawberry.field(description="The app's terms of service.")
    is_confidential: bool = strawberry.field(description="The app authenticates with a client secret.")
    redirect_uris: list[str] = strawberry.field(description="Where authorization responses may be sent.")
    allowed_scopes: list[str] = strawberry.field(description="Every scope the app may ask for.")
    protocol: AppProtocol = strawberry.field(description="How the app connects.")
    access_level: str | None = strawberry.field(
        description="OAuth 1.0a: the key of the app's access level in the permission catalogue (e.g. `read-write`).")
    add_ons: list[str] = strawberry.field(
        description="OAuth 1.0a: the keys of the app's add-ons in the permission catalogue (e.g. `email`).")

    @classmethod
    def from_model(cls, app: AppRow) -> App:
        return cls(
            id=node_id("App", app.id),
            client_id=app.client_id,
            name=app.name,
            description=app.description,
            website_url=app.website_url,
            icon_url=app.icon_url,
            developer_name=app.developer_name,
            privacy_policy_url=app.privacy_policy_url,
            terms_url=app.terms_url,
            is_confidential=app.confidential,
            redirect_uris=list(app.redirect_uris),
            allowed_scopes=split_scopes(app.scopes),
            protocol=AppProtocol(app.protocol),
            access_level=app.access_level,
            add_ons=app.add_ons.split(),
        )


@strawberry.type(description="A pending request from an app for access to the signed-in account.")
class AuthorizationRequest(Node):
    app: App = strawberry.field(description="The app asking for access.")
    permissions: list[Permission] = strawberry.field(description="Everything the app asks for.")
    can_view: list[Permission] = strawberry.field(description="Things this App could view.")
    can_do: list[Permission] = strawberry.field(description="Things this App could do.")
    stays_connected: bool = strawberry.field(description="The app asks to stay connected (`offline.access`).")
    redirect_uri: str = strawberry.field(description="Where the decision will be sent.")
    expires_at: datetime = strawberry.field(description="When the request can no longer be answered.")
    app_id: strawberry.Private[uuid.UUID]
    scopes: strawberry.Private[list[str]]

    # Looked up only when asked for: most consent screens read the request once, and nothing else needs it.
    @strawberry.field(description=(
        "The account already granted the app every permission asked for, yet the person must still answer (the "
        "app is public, redirects to this device, or asked for consent): a consent screen may show a one-click "
        "\"Continue to <app>\" instead of the full list."))
    async def is_already_authorized(self, info: Info[Context, None]) -> bool:
        ctx = info.context
        login = ctx.require_login()
        async with ctx.db() as db:
            return await grant_covers(db, account=login.account, app_id=self.app_id, scopes=self.scopes)

    @classmethod
    def from_model(cls, request: AuthorizationRequestModel, app: AppRow, catalog: Catalog) -> AuthorizationRequest:
        groups = catalog.groups(request.scopes)
        return cls(
            id=node_id("AuthorizationRequest", request.id),
            app=App.from_model(app),
            permissions=permission_lists(groups.permissions),
            can_view=permission_lists(groups.can_view),
            can_do=permission_lists(groups.can_do),
            stays_connected=groups.stays_connected,
            redirect_uri=request.redirect_uri,
            expires_at=request.expires_at,
            app_id=request.app_id,
            scopes=split_scopes(request.scopes),
        )
