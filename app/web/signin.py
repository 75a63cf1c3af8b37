"""``/login`` and ``/logout``: the browser's way to open and end a first-party session (a cookie)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.http.auth import client_ip, current_login, session_cookie
from app.http.csrf import LOGIN_FORM_FIELD, is_cross_site, login_form_token, login_post_vouched, set_login_form_cookie
from app.http.device_cookie import known_device, remember_device
from app.http.state import app_state, request_db
from app.services import sessions as session_service
from app.services.errors import DomainError, RateLimited
from app.services.security_events import Actor
from app.web.templating import PAGE_SECURITY_HEADERS, templates

DEFAULT_NEXT = "/settings"
SESSION_LIMIT_NOTICE = "session-limit"
FORM_EXPIRED = "This sign-in form has expired. Sign in again."


def safe_next(value: str | None) -> str:
    """Only same-origin paths: anything with a scheme, a host or a protocol-relative form becomes /settings."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in value):
        return DEFAULT_NEXT
    return value


def _page(request: Request, *, next_url: str, error: str | None = None, username: str = "",
          status_code: int = 200, ended: bool = False) -> Response:
    token = login_form_token(request)
    response = templates.TemplateResponse(
        request, "login.html",
        {"next": next_url, "error": error, "username": username, "viewer": None, "ended": ended,
         "csrf_field": LOGIN_FORM_FIELD, "csrf_token": token.field},
        status_code=status_code, headers=PAGE_SECURITY_HEADERS)
    set_login_form_cookie(request, response, token)
    return response


async def login_page(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    # force=1: an app asked for the password again (OAuth 1.0a force_login), so a signed-in person sees the form.
    if request.query_params.get("force") != "1" and await current_login(request):
        return RedirectResponse(next_url, status_code=303)
    # ?ended=1: a page found its session gone when the person acted (settings.js), so what they asked was not done.
    return _page(request, next_url=next_url, ended=request.query_params.get("ended") == "1")


async def login_submit(request: Request) -> Response:
    if is_cross_site(request):
        return Response("Cross-site sign-in is not allowed.", status_code=403, media_type="text/plain")
    form = await request.form()
    next_url = safe_next(str(form.get("next") or ""))
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    if not login_post_vouched(request, form_token=str(form.get(LOGIN_FORM_FIELD) or "")):
        # Neither Origin nor Sec-Fetch-Site, and no valid form token: nothing says our own page sent this.
        return _page(request, next_url=next_url, username=username, error=FORM_EXPIRED, status_code=403)
    if not username or not password:
        return _page(request, next_url=next_url, username=username, error="Enter your username and password.",
                     status_code=400)
    try:
        signed_in = await session_service.sign_in(
            app_state(request).database, username=username, password=password,
            ip_address=client_ip(request), user_agent=request.headers.get("user-agent"), client_kind="web",
            limiter=app_state(request).login_limiter, device=known_device(request, username=username),
            policy=app_state(request).session_policy,
            # The cookie's session, not current_login's (a bearer header comes first): the cookie will name the new one.
            replacing_token=session_cookie(request))
    except RateLimited as error:
        response = _page(request, next_url=next_url, username=username, error=error.message, status_code=429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except DomainError as error:
        return _page(request, next_url=next_url, username=username, error=error.message, status_code=401)
    settings = app_state(request).settings
    if signed_in.ended_sessions and next_url == DEFAULT_NEXT:
        # The settings page tells the person that signing in logged their least recently active session out.
        next_url = f"{DEFAULT_NEXT}?notice={SESSION_LIMIT_NOTICE}"
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        settings.session_cookie_name, signed_in.token, httponly=True, samesite="lax", secure=settings.cookie_secure,
        path="/", max_age=int(settings.session_absolute_lifetime.total_seconds()))
    remember_device(request, response, account=signed_in.account)
    return response


async def logout_submit(request: Request) -> Response:
    if is_cross_site(request):
        return Response("Cross-site sign-out is not allowed.", status_code=403, media_type="text/plain")
    login = await current_login(request)
    if login is not None and session_cookie(request):
        await session_service.logout_session(request_db(request), account=login.account,
                                             session_id=login.session.id, policy=app_state(request).session_policy,
                                             actor=Actor.of(login.session.id, login.session))
    settings = app_state(request).settings
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(settings.session_cookie_name, path="/", secure=settings.cookie_secure, httponly=True,
                           samesite="lax")
    return response
