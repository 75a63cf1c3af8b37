"""``/oauth/consent``: the page that asks the person, and the form post that answers (Authorize app / Cancel), for
OAuth 2.0 authorization requests and OAuth 1.0a temporary credentials alike.

The answer is refused from another site (Fetch Metadata / Origin, SECURITY A6) and without the session that made
the request; the service refuses another account's or session's request as unknown. When the account's grant
already covers the request (a public client or a loopback redirect, which never get a code silently, or
``prompt=consent``), the page is the one-click "Continue to <app>" form.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.graphql.ids import AUTHORIZATION_REQUEST, from_global_id
from app.http.auth import current_login
from app.http.csrf import is_cross_site
from app.http.state import app_state, request_db
from app.models import Account
from app.oauth.redirects import answer_uri, redirect_with
from app.services.errors import DomainError, NotFound
from app.services.grants import (
    approve_authorization_request,
    deny_authorization_request,
    get_authorization_request,
    grant_covers,
)
from app.services.oauth1.temporary import (
    OAuth1Answer,
    already_granted,
    approve_credential,
    deny_credential,
    get_pending_credential,
    may_answer_silently,
)
from app.services.permissions import split_scopes
from app.services.security_events import Actor
from app.services.sessions import Authenticated
from app.web.account_pages import PASSWORD_PAGE
from app.web.pages import (
    consent_page,
    error_page,
    login_redirect,
    oauth1_consent_page,
    oauth1_pin_page,
    redirect_to,
)

DECISIONS = ("approve", "deny")


def _domain_error_page(request: Request, error: DomainError, viewer: Account | None) -> Response:
    # The service's messages say what happened to a request it found (answered which way, expired).
    if isinstance(error, NotFound):
        status, message = 404, f"{error.message} Nothing was shared. Go back to the app and start again."
    else:
        status, message = 400, error.message
    return error_page(request, title="This request can no longer be answered", message=message, status_code=status,
                      viewer=viewer)


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
        oauth_token = str(form["oauth_token"]) if "oauth_token" in form else None
    except Exception:  # noqa: BLE001 - an unreadable form is a bad request, never a 500
        request_gid, decision, oauth_token = "", "", None
    if decision not in DECISIONS:
        return error_page(request, title="Choose Authorize app or Cancel",
                          message="The form did not say whether to authorize the app.", viewer=login.account)
    if oauth_token is not None:
        return await _oauth1_decision(request, login, oauth_token=oauth_token, approve=decision == "approve")
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


# --- OAuth 1.0a: GET /oauth/authorize?oauth_token=…, GET /oauth/authenticate, and their answers ---------------------


async def oauth1_consent(request: Request, *, authenticate: bool = False) -> Response:
    """Ask the person about an app's temporary credentials. The credential is checked first, signed in or not, so
    a dead one never detours through the sign-in page. ``authenticate`` ("Sign in with …") answers at once when
    the app already holds this access (``may_answer_silently``); ``force_login=true`` asks for the password again
    when the session signed in before the app asked."""
    tokens = request.query_params.getlist("oauth_token")
    db = request_db(request)
    try:
        pending = await get_pending_credential(db, token=tokens[0] if len(tokens) == 1 else None)
    except DomainError as error:
        return _domain_error_page(request, error, None)
    login = await current_login(request)
    if login is None:
        return login_redirect(request)
    if login.session.must_change_password:  # "This wasn't me": this session gives nothing to an app until then
        return redirect_to(PASSWORD_PAGE, status_code=303)
    if (authenticate and request.query_params.get("force_login") == "true"
            and login.session.signed_in_at <= pending.credential.created_at):
        return login_redirect(request, force=True)
    if authenticate and await may_answer_silently(db, account=login.account, pending=pending):
        try:
            answer = await approve_credential(db, account=login.account, pending=pending)
        except DomainError as error:
            return _domain_error_page(request, error, login.account)
        return _oauth1_answer(request, answer, login.account)
    covered = await already_granted(db, account=login.account, pending=pending)
    return oauth1_consent_page(request, pending=pending, viewer=login.account, catalog=app_state(request).catalog,
                               already_authorized=covered)


async def _oauth1_decision(request: Request, login: Authenticated, *, oauth_token: str, approve: bool) -> Response:
    db = request_db(request)
    try:
        pending = await get_pending_credential(db, token=oauth_token, expired_too=not approve)
        if approve:
            answer = await approve_credential(db, account=login.account, pending=pending,
                                              actor=Actor.of(login.session.id, login.session))
        else:
            answer = await deny_credential(db, account=login.account, pending=pending)
    except DomainError as error:
        return _domain_error_page(request, error, login.account)
    return _oauth1_answer(request, answer, login.account)


def _oauth1_answer(request: Request, answer: OAuth1Answer, viewer: object) -> Response:
    """Back to the app's callback with ``oauth_token`` and ``oauth_verifier`` (RFC 5849 §2.2), or ``denied`` (X's
    answer to Cancel); the PIN page for ``oob``."""
    if answer.is_oob:
        return oauth1_pin_page(request, answer=answer, viewer=viewer)  # type: ignore[arg-type]
    if answer.verifier is None:
        return redirect_to(redirect_with(answer.callback, {"denied": answer.token}), status_code=303)
    return redirect_to(redirect_with(answer.callback, {"oauth_token": answer.token,
                                                       "oauth_verifier": answer.verifier}), status_code=303)
