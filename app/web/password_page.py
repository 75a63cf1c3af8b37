"""``/settings/password``: change the password, with the option to revoke every connected app (what to do after
giving the password to an app you no longer trust).

A plain form post (it works without JavaScript), answered on the same page; refused from another site, as every
cookie-authenticated write is. After "This wasn't me" it is the only page the session may see, and the form the
only thing on it, until a new password is chosen.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.http.auth import client_ip
from app.http.csrf import is_cross_site
from app.http.state import app_state, request_db
from app.services import password_change
from app.services.errors import DomainError, RateLimited
from app.services.password_change import PasswordChanged
from app.services.security_events import Actor
from app.services.sessions import Authenticated
from app.web.account_pages import page_login
from app.web.receipt_words import receipt_sentence
from app.web.templating import PAGE_SECURITY_HEADERS, templates


def _page(request: Request, login: Authenticated, *, error: str | None = None, field: str | None = None,
          changed: PasswordChanged | None = None, revoke_apps: bool = False, logout_others: bool = True,
          status_code: int = 200) -> Response:
    required = login.session.must_change_password and changed is None
    context = {
        "viewer": login.account, "current": "password", "required": required, "error": error, "field": field,
        "done": receipt_sentence(changed.receipt, apps=changed.revoked_apps) if changed else None,
        "revoke_apps": revoke_apps, "logout_others": logout_others,
    }
    return templates.TemplateResponse(request, "password.html", context, status_code=status_code,
                                      headers=PAGE_SECURITY_HEADERS)


async def password_page(request: Request) -> Response:
    login = await page_login(request)
    if isinstance(login, Response):
        return login
    return _page(request, login)


async def password_submit(request: Request) -> Response:
    if is_cross_site(request):
        return Response("Cross-site requests are not allowed.", status_code=403, media_type="text/plain")
    login = await page_login(request)
    if isinstance(login, Response):
        return login
    try:
        form = await request.form()
        current, new = str(form.get("current_password") or ""), str(form.get("new_password") or "")
        revoke_apps, logout_others = form.get("revoke_apps") == "on", form.get("logout_others") == "on"
    except Exception:  # noqa: BLE001 - an unreadable form is a bad request, never a 500
        return _page(request, login, error="The form could not be read. Try again.", status_code=400)
    state = app_state(request)
    try:
        changed = await password_change.change_password(
            request_db(request), account=login.account, current_session_id=login.session.id,
            policy=state.session_policy, current_password=current, new_password=new,
            logout_other_sessions=logout_others, revoke_apps=revoke_apps, ip_address=client_ip(request),
            limiter=state.login_limiter, actor=Actor.of(login.session.id, login.session))
    except RateLimited as error:
        response = _page(request, login, error=error.message, revoke_apps=revoke_apps, logout_others=logout_others,
                         status_code=429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except DomainError as error:
        return _page(request, login, error=error.message, field=error.field, revoke_apps=revoke_apps,
                     logout_others=logout_others, status_code=400)
    login.session.must_change_password = False
    return _page(request, login, changed=changed)
