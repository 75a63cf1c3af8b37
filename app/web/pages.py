"""The browser-facing answers of the OAuth flow: the consent page, the "cannot continue" page, and redirects."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.models import Account
from app.services.grants import PendingAuthorization
from app.services.oauth1.temporary import OAuth1Answer, PendingCredential
from app.services.permissions import Catalog
from app.web.templating import PAGE_SECURITY_HEADERS, templates


def login_redirect(request: Request, *, force: bool = False) -> Response:
    """Send a signed-out person to sign in, then back to exactly this URL (path and query, never another host).
    ``force`` asks a signed-in person for their password again (OAuth 1.0a's ``force_login``)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    again = "&force=1" if force else ""
    return RedirectResponse(f"/login?next={quote(target, safe='')}{again}", status_code=302,
                            headers=PAGE_SECURITY_HEADERS)


def redirect_to(uri: str, *, status_code: int = 302) -> Response:
    """A redirect to a URI the server built from a validated redirect URI (or to our own pages)."""
    return RedirectResponse(uri, status_code=status_code, headers=PAGE_SECURITY_HEADERS)


def error_page(request: Request, *, title: str, message: str, status_code: int = 400,
               viewer: Account | None = None, error_code: str | None = None) -> Response:
    """An HTML page for requests we must not redirect: the redirect URI is unknown or not trusted."""
    return templates.TemplateResponse(
        request,
        "consent.html",
        {"error": {"title": title, "message": message, "code": error_code}, "viewer": viewer},
        status_code=status_code,
        headers=PAGE_SECURITY_HEADERS,
    )


def consent_page(request: Request, *, pending: PendingAuthorization, request_gid: str, viewer: Account,
                 catalog: Catalog, already_authorized: bool = False) -> Response:
    """The consent page; ``already_authorized`` (the grant covers the request) makes it the one-click "Continue to
    <app>" form, which public clients and loopback redirects get instead of a silent code (and ``prompt=consent``
    instead of the full page)."""
    groups = catalog.groups(pending.request.scopes)
    return templates.TemplateResponse(
        request,
        "consent.html",
        {
            "viewer": viewer,
            "app": pending.app,
            "request_id": request_gid,
            "can_view": groups.can_view,
            "can_do": groups.can_do,
            "stay_connected": groups.other,
            "redirect_host": _host_of(pending.request.redirect_uri),
            "already_authorized": already_authorized,
        },
        headers=PAGE_SECURITY_HEADERS,
    )


def oauth1_consent_page(request: Request, *, pending: PendingCredential, viewer: Account, catalog: Catalog,
                        already_authorized: bool = False) -> Response:
    """The same consent page for an OAuth 1.0a app: its access level and add-ons in the catalogue's words, area by
    area, instead of scopes; the form answers with the ``oauth_token``."""
    described = catalog.describe_levels(pending.credential.scopes)
    return templates.TemplateResponse(
        request,
        "consent.html",
        {
            "viewer": viewer,
            "app": pending.app,
            "oauth_token": pending.token,
            "access_levels": described.names,
            "can_view": described.can_view,
            "can_do": described.can_do,
            "stay_connected": (),
            "redirect_host": None if pending.is_oob else _host_of(pending.credential.callback),
            "already_authorized": already_authorized,
        },
        headers=PAGE_SECURITY_HEADERS,
    )


def oauth1_pin_page(request: Request, *, answer: OAuth1Answer, viewer: Account) -> Response:
    """The PIN flow's answer (``oauth_callback=oob``): the verifier to type into the app, or that nothing was
    shared."""
    context = {"viewer": viewer, "app": answer.app, "pin": answer.verifier, "declined": answer.verifier is None}
    return templates.TemplateResponse(request, "consent.html", context, headers=PAGE_SECURITY_HEADERS)


def _host_of(uri: str) -> str:
    return urlsplit(uri).netloc
