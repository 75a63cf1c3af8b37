"""``GET /settings/security``: the "Security activity" page, the account's timeline in plain words.

Read on the server (the page works without JavaScript); ``?kinds=`` filters by a group of kinds and ``?after=``
pages back in time with the GraphQL connection's own cursors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response

from app.graphql.pagination import encode_cursor, page_from
from app.http.state import app_state, request_db
from app.services import security_events as event_service
from app.services.privacy import mask_ip
from app.services.security_events import EventRow, Kind
from app.services.security_words import describe
from app.web.account_pages import page_login
from app.web.templating import PAGE_SECURITY_HEADERS, templates

PAGE_SIZE = 50
# The filters the page offers: a name in the address, the words on the button, the kinds it keeps.
FILTERS: dict[str, tuple[str, tuple[Kind, ...] | None]] = {
    "all": ("All activity", None),
    "sign-ins": ("Sign-ins", (Kind.SIGNED_IN, Kind.SIGN_IN_LIMITED, Kind.SIGNED_OUT)),
    "sessions": ("Sessions", (Kind.SESSION_LOGGED_OUT, Kind.OTHER_SESSIONS_LOGGED_OUT, Kind.ACCOUNT_SECURED)),
    "apps": ("Apps", (Kind.APP_AUTHORIZED, Kind.APP_PERMISSIONS_CHANGED, Kind.APP_REVOKED, Kind.APP_EXPIRY_WARNING)),
    "password": ("Password", (Kind.PASSWORD_CHANGED, Kind.ACCOUNT_SECURED)),
}
_ICONS = {"SIGNED_IN": "sessions", "SIGN_IN_LIMITED": "shield", "SIGNED_OUT": "sessions", "APP_AUTHORIZED": "apps",
          "APP_PERMISSIONS_CHANGED": "apps", "APP_REVOKED": "apps", "APP_EXPIRY_WARNING": "apps",
          "PASSWORD_CHANGED": "shield", "ACCOUNT_SECURED": "shield"}


@dataclass(frozen=True)
class EventView:
    kind: str
    summary: str
    at: datetime
    ip_address: str | None  # masked
    icon: str
    is_new_device: bool
    is_new_country: bool
    is_warning: bool  # worth a second look: a new device or country, a refused sign-in


def event_view(event: EventRow) -> EventView:
    return EventView(
        kind=event.kind, summary=describe(event), at=event.at, ip_address=mask_ip(event.ip_address),
        icon=_ICONS.get(event.kind, "sessions"), is_new_device=event.is_new_device,
        is_new_country=event.is_new_country,
        is_warning=event.is_new_device or event.is_new_country or event.kind == Kind.SIGN_IN_LIMITED)


async def security_page(request: Request) -> Response:
    login = await page_login(request)
    if isinstance(login, Response):
        return login
    chosen = request.query_params.get("kinds", "all")
    if chosen not in FILTERS:
        chosen = "all"
    try:
        page = page_from(PAGE_SIZE, request.query_params.get("after") or None)
    except GraphQLError:  # a cursor from elsewhere (an edited address): start from the newest
        page = page_from(PAGE_SIZE, None)
    listed = await event_service.list_security_events(request_db(request), account=login.account, limit=page.limit,
                                                      after=page.after, kinds=FILTERS[chosen][1])
    older = encode_cursor(event_service.position_of(listed.rows[-1])) if listed.has_more else None
    context = {
        "viewer": login.account, "current": "security", "events": [event_view(e) for e in listed.rows],
        "total": listed.total, "filters": [(name, words) for name, (words, _kinds) in FILTERS.items()],
        "chosen": chosen, "older": older, "paged": page.after is not None,
        "keep_days": app_state(request).settings.security_event_days,
    }
    return templates.TemplateResponse(request, "security.html", context, headers=PAGE_SECURITY_HEADERS)
