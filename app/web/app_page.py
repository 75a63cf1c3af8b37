"""``GET /settings/apps/<id>``: everything known about one connected app, with Revoke access at the bottom (as the
reference describes: "at the bottom of the page after clicking the app's name").

``<id>`` is the ConnectedApp's GraphQL ID, what the settings page links to and ``revokeAccess`` accepts. Three
statements whatever the app holds: the session, the app with its grant, and its recent uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from app.graphql.ids import from_global_id
from app.http.state import app_state, request_db
from app.services import grants as grant_service
from app.services import usage
from app.services.errors import NotFound
from app.services.privacy import mask_ip
from app.web.account_pages import page_login
from app.web.pages import error_page
from app.web.settings_page import connected_app_view
from app.web.templating import PAGE_SECURITY_HEADERS, templates


@dataclass(frozen=True)
class UseView:
    at: datetime
    place: str  # "203.0.113.x, Germany"


async def app_page(request: Request) -> Response:
    login = await page_login(request)
    if isinstance(login, Response):
        return login
    gid = request.path_params["id"]
    db = request_db(request)
    try:
        grant, app = await grant_service.get_connected_app_with_app(
            db, account=login.account, grant_id=from_global_id(gid, "ConnectedApp"))
    except NotFound:
        return error_page(request, title="This app is not connected to your account",
                          message="It may have been revoked already. See the apps that are connected on Apps and "
                                  "sessions.", status_code=404, viewer=login.account)
    uses = await usage.use_history(db, grant_id=grant.id)
    context = {
        "viewer": login.account, "current": "apps", "app": connected_app_view(grant, app, app_state(request).catalog),
        "client_id": app.client_id, "description": app.description,
        "uses": [UseView(at=use.used_at, place=", ".join(part for part in (mask_ip(use.ip_address), use.location)
                                                           if part) or "Unknown network")
                 for use in uses],
    }
    return templates.TemplateResponse(request, "app.html", context, headers=PAGE_SECURITY_HEADERS)
