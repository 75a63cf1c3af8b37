"""``/oauth/consent``: the page that asks the person, and the form post that answers (Authorize app / Cancel).

The answer is refused from another site (Fetch Metadata / Origin, SECURITY A6) and without the session that made
the request; the service refuses another account's or session's request as unknown. When the account's grant
already covers the request (a public client or a loopback redirect, which never get a code silently, or
``prompt=consent``), the page is the one-click "Continue to <app>" form.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.http.auth import current_login
from app.http.csrf import is_cross_site
from app.graphql.ids import AUTHORIZATION_REQUEST, from_global_id
from app.oauth.redirects import answer_uri
from app.web.account_pages import PASSWORD_PAGE
from app.web.pages import consent_page, error_page, login_redirect, redirect_to
from app.services.errors import DomainError, NotFound
from app.services.grants import (
    approve_authorization_request,
    deny_authorization_request,
    get_authorization_request,
    grant_covers,
)
from app.services.permissions import split_scopes
from app.services.security_events import Actor
from app.http.state import app_state, request_db

DECISIONS = ("approve", "deny")


def _domain_error_page(request: Request, error: DomainError, viewer: object) -> Response:
    # The service's messages say what happened to a request it found (answered which way, expired).
    if isinstance(error, NotFound):
        status, message = 404, f"{error.message} Nothing was shared. Go back to the app and start again."
    else:
        status, message = 400, error.message
    return error_page(request, title="This request can no longer be answered", message=message, status_code=status,
                      viewer=viewer)  # type: ignore[arg-type]


async def consent_form(request: Request) -> Response:
    login = await current_login(request)
    if login is None:
        return login_redirect(request)
    if login.session.must_change_password:
        return redirect_to(PASSWORD_PAGE, status_code=303)
    request_gid = request.query_params.get("request", "")
    db = request_db(request)
    try:
        pending = await get_authorization_request(
            db, account=login.account, session_id=login.session.id,
            request_id=from_global_id(request_gid, AUTHORIZATION_REQUEST),
        )
    except DomainError as error:
        return _domain_error_page(request, error, login.account)
    covered = await grant_covers(db, account=login.account, app_id=pending.app.id,
                                 scopes=split_scopes(pending.request.scopes))
    return consent_page(request, pending=pending, request_gid=request_gid, viewer=login.account,
                        catalog=app_state(request).catalog, already_authorized=covered)


async def consent_decision(request: Request) -> Response:
    if is_cross_site(request):
        return error_page(request, title="Request refused",
                          message="Answers to an app's request must come from this site.", status_code=403)
    login = await current_login(request)
    if login is None:
        return error_page(request, title="Sign in first",
                          message="Your session has ended. Go back to the app and start again.", status_code=403)
    if login.session.must_change_password:
        return error_page(request, title="Choose a new password first",
                          message="You told us something was not you, so nothing can be authorized from this "
                                  "session until you choose a new password.", status_code=403, viewer=login.account)
    try:
        form = await request.form()
        request_gid = str(form.get("request") or "")
        decision = str(form.get("decision") or "")
    except Exception:  # noqa: BLE001 - an unreadable form is a bad request, never a 500
        request_gid, decision = "", ""
    if decision not in DECISIONS:
        return error_page(request, title="Choose Authorize app or Cancel",
                          message="The form did not say whether to authorize the app.", viewer=login.account)
    settings = app_state(request).settings
    request_id = from_global_id(request_gid, AUTHORIZATION_REQUEST)
    try:
        if decision == "approve":
            answer = await approve_authorization_request(
                request_db(request), account=login.account, session_id=login.session.id, request_id=request_id,
                settings=settings, actor=Actor.of(login.session.id, login.session))
        else:
            answer = await deny_authorization_request(
                request_db(request), account=login.account, session_id=login.session.id, request_id=request_id)
    except DomainError as error:
        return _domain_error_page(request, error, login.account)
    # 303: the browser follows with a GET to the app, never re-posting the form there.
    return redirect_to(answer_uri(answer, issuer=settings.issuer), status_code=303)
