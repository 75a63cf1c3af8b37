"""What every signed-in account page checks first: who is signed in, and whether they must choose a new password.

"This wasn't me" (``secureAccount``) leaves the session that used it able to do one thing only, choose a new
password: until then every account page sends it to ``/settings/password``, which shows only that form.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.http.auth import current_login
from app.services.sessions import Authenticated
from app.web.templating import PAGE_SECURITY_HEADERS

PASSWORD_PAGE = "/settings/password"  # noqa: S105 - a path, not a password


async def page_login(request: Request) -> Authenticated | Response:
    """The signed-in login, or the redirect to answer with: to sign in (and back here), or to the password page
    while the session must choose a new password."""
    login = await current_login(request)
    if login is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303,
                                headers=PAGE_SECURITY_HEADERS)
    if login.session.must_change_password and request.url.path != PASSWORD_PAGE:
        return RedirectResponse(PASSWORD_PAGE, status_code=303, headers=PAGE_SECURITY_HEADERS)
    return login


async def home(request: Request) -> Response:
    """``/``: the account's pages for a signed-in person, the sign-in page for anyone else."""
    login = await current_login(request)
    return RedirectResponse("/settings" if login is not None else "/login", status_code=303,
                            headers=PAGE_SECURITY_HEADERS)
