"""``GET /settings``: the "Apps and sessions" page.

The lists are rendered on the server, so the page shows everything without JavaScript. The buttons (revoke, log
out) are driven by ``static/settings.js`` through the GraphQL mutations, which is where the rules live; this module
only reads and arranges what the services return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from app.graphql.ids import to_global_id
from app.http.state import app_state, request_db
from app.services import apps as app_service
from app.services import grants as grant_service
from app.services import sessions as session_service
from app.services.apps import AppRow
from app.services.grants import GrantRow
from app.services.oauth1.registration import OAUTH1
from app.services.permissions import Catalog
from app.services.privacy import mask_ip
from app.services.security_words import software
from app.services.sessions import SessionRow
from app.web import display
from app.web.account_pages import page_login
from app.web.templating import PAGE_SECURITY_HEADERS, templates

# The most rows GraphQL hands out per page too; an account with more sees a count of the rest.
PAGE_SIZE = 100
_DESKTOP_SYSTEMS = ("Windows", "Mac OS", "macOS", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS", "FreeBSD")


@dataclass(frozen=True)
class PermissionView:
    title: str
    description: str


@dataclass(frozen=True)
class ConnectedAppView:
    id: str  # GraphQL ID of the ConnectedApp
    app_id: str  # GraphQL ID of the App: what revokeAccess takes
    name: str
    description: str
    developer: str | None
    website_url: str | None
    website_host: str | None
    icon_url: str | None
    letter: str
    colour: int
    authorized_at: datetime
    last_used_at: datetime | None
    last_used_from: str | None  # "203.0.113.x, Germany": the network (masked) and the country
    can_view: list[PermissionView]
    can_do: list[PermissionView]
    stays_connected: bool
    access_levels: list[str]  # "Read and Write", then add-ons such as "Email address"
    privacy_policy_url: str | None
    terms_url: str | None


@dataclass(frozen=True)
class SessionView:
    id: str  # GraphQL ID of the Session: what logoutSession takes
    is_current: bool
    icon: str  # "computer", "phone" or "api": which picture the template draws
    device: str
    software: str  # "Safari 17.5 on iOS 17.5"
    location: str | None
    ip_address: str | None  # masked: the network only
    last_location: str | None  # where it was last active, when not where it signed in
    last_ip_address: str | None  # masked
    signed_in_at: datetime
    last_active_at: datetime
    software_family: str  # "Mobile Safari on iOS": what the log-out dialog calls it


def connected_app_view(grant: GrantRow, app: AppRow, catalog: Catalog) -> ConnectedAppView:
    groups = catalog.groups(grant.scopes)
    # An OAuth 1.0a app holds one access level (and add-ons): say what it allows area by area, in the level's own
    # words, as its consent page did.
    shown: tuple[Any, ...] | None = None
    if app.protocol == OAUTH1:
        described = catalog.describe_levels(grant.scopes)
        shown = (described.can_view, described.can_do)
    website_host = urlsplit(app.website_url).hostname if app.website_url else None
    return ConnectedAppView(
        id=to_global_id("ConnectedApp", grant.id),
        app_id=to_global_id("App", app.id),
        name=app.name,
        description=app.description,
        developer=app.developer_name,
        website_url=app.website_url,
        website_host=website_host,
        icon_url=app.icon_url,
        letter=display.avatar_letter(app.name),
        colour=display.avatar_colour(app.name),
        authorized_at=grant.authorized_at,
        last_used_at=grant.last_used_at,
        last_used_from=", ".join(part for part in (mask_ip(grant.last_used_ip), grant.last_used_location)
                                 if part) or None,
        can_view=[PermissionView(p.title, p.description) for p in (shown[0] if shown else groups.can_view)],
        can_do=[PermissionView(p.title, p.description) for p in (shown[1] if shown else groups.can_do)],
        stays_connected=groups.stays_connected,
        access_levels=list(groups.access_levels),
        privacy_policy_url=app.privacy_policy_url,
        terms_url=app.terms_url,
    )


def _software(session: SessionRow) -> str:
    if session.browser and session.os:
        return f"{session.browser} on {session.os}"
    if session.browser or session.os:
        return session.browser or session.os or ""
    return {"api": "API client", "mobile": "Mobile app"}.get(session.client_kind, "Unknown browser")


def _icon(session: SessionRow) -> str:
    if session.client_kind == "api":
        return "api"
    if session.device in ("Computer", "Mac") or (session.os or "").startswith(_DESKTOP_SYSTEMS):
        return "computer"
    return "phone" if session.device or session.client_kind == "mobile" else "computer"


def _session(session: SessionRow, *, current_id: object) -> SessionView:
    return SessionView(
        id=to_global_id("Session", session.id),
        is_current=session.id == current_id,
        icon=_icon(session),
        device=session.device or "Unknown device",
        software=_software(session),
        location=session.location,
        ip_address=mask_ip(session.ip_address),
        last_location=session.last_location if session.last_ip_address else None,
        last_ip_address=mask_ip(session.last_ip_address),
        signed_in_at=session.signed_in_at,
        last_active_at=session.last_active_at,
        software_family=software(device=session.device, browser=session.browser, os=session.os),
    )


def _notice(request: Request, *, limit: int) -> str | None:
    """What the page says on arrival: set by the sign-in that led here (``signin.SESSION_LIMIT_NOTICE``)."""
    if request.query_params.get("notice") == "session-limit":
        return (f"Signing in logged out your least recently active session, to keep your account within its limit "
                f"of {limit} signed-in sessions.")
    return None


async def settings_page(request: Request) -> Response:
    login = await page_login(request)
    if isinstance(login, Response):
        return login
    db = request_db(request)
    state = app_state(request)
    listed_apps = await grant_service.list_connected_apps(db, account=login.account, limit=PAGE_SIZE)
    grants, apps_total = listed_apps.rows, listed_apps.total
    apps = await app_service.get_apps_by_ids(db, ids=[grant.app_id for grant in grants])
    listed_sessions = await session_service.list_sessions(db, account=login.account, policy=state.session_policy,
                                                          limit=PAGE_SIZE)
    sessions, sessions_total = listed_sessions.rows, listed_sessions.total
    others = [_session(s, current_id=login.session.id) for s in sessions if s.id != login.session.id]
    context = {
        "viewer": login.account,
        "connected_apps": [connected_app_view(g, apps[g.app_id], state.catalog) for g in grants if g.app_id in apps],
        "apps_total": apps_total,
        # The request's own session, shown on its own whatever page of the list it falls on.
        "current_session": _session(login.session, current_id=login.session.id),
        "other_sessions": others,
        "sessions_total": sessions_total,
        # Counted from the total, so sessions past the first page are announced in the confirmation too.
        "other_count": max(sessions_total - 1, 0),
        "notice": _notice(request, limit=state.settings.max_sessions_per_account),
    }
    return templates.TemplateResponse(request, "settings.html", context, headers=PAGE_SECURITY_HEADERS)
