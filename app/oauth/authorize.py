"""``GET /oauth/authorize``: validate with Authlib, then ask the person (or reuse a grant that covers the request).
With ``oauth_token`` and no ``response_type`` it is OAuth 1.0a's authorization step instead, which
``app.web.consent.oauth1_consent`` answers.

Validation runs first, signed in or not, so a malformed request never detours through the sign-in page. Errors found
before the redirect URI is known to be registered get a 400 page; later errors go back to the app with ``error``,
``state`` and ``iss`` (RFC 9207), as do successful answers.

A covering grant answers without a page only where ``app.services.grants.may_skip_consent`` allows it (confidential
clients, redirect URIs off the device); public clients and loopback redirects always see the consent page, in its
one-click "Continue" form when the grant already covers the request. ``prompt=none`` never shows a page: a request
that needs the person gets ``login_required``, ``consent_required`` or ``interaction_required`` (OpenID Connect Core
§3.1.2.6) at the redirect URI instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from authlib.oauth2.rfc6749.errors import OAuth2Error
from starlette.requests import Request
from starlette.responses import Response

from app.graphql.ids import AUTHORIZATION_REQUEST, to_global_id
from app.http.auth import current_login
from app.http.state import app_state, request_db
from app.models import Account, App
from app.oauth.grant_types import MAX_STATE_LENGTH
from app.oauth.redirects import answer_uri, redirect_with
from app.oauth.requests import RequestSnapshot, parameter_problem
from app.oauth.server import ConsentryAuthorizationServer, run_authlib
from app.services.grants import (
    authorize_with_existing_grant,
    create_authorization_request,
    grant_covers,
)
from app.services.permissions import split_scopes
from app.settings import Settings
from app.web.account_pages import PASSWORD_PAGE
from app.web.consent import oauth1_consent
from app.web.pages import error_page, login_redirect, redirect_to


@dataclass(frozen=True)
class ValidAuthorization:
    app: App
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str
    code_challenge_method: str
    force_consent: bool  # prompt=consent: ask even when a grant covers the request
    no_interaction: bool  # prompt=none: answer without any page, or with an error


class _Requested(TypedDict):
    """What the person is asked for: the arguments both grant services take."""

    account: Account
    app: App
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str
    code_challenge_method: str
    settings: Settings


@dataclass(frozen=True)
class RefusedAuthorization:
    error: str
    description: str
    redirect_uri: str | None  # only when it is registered for the client, so redirecting is safe
    state: str | None


def _validate(
    server: ConsentryAuthorizationServer, snapshot: RequestSnapshot
) -> ValidAuthorization | RefusedAuthorization:
    if (problem := parameter_problem(snapshot.query, once=False)) is not None:
        # Before anything else: the client and the redirect URI are looked up and the state is stored.
        return RefusedAuthorization(error="invalid_request", description=problem, redirect_uri=None, state=None)
    try:
        grant = server.get_consent_grant(snapshot)
    except OAuth2Error as error:
        state = error.state if error.state and len(error.state) <= MAX_STATE_LENGTH else None
        return RefusedAuthorization(
            error=error.error or "invalid_request", description=error.get_error_description() or "",
            redirect_uri=error.redirect_uri, state=state,
        )
    request = grant.request
    data = request.payload.data
    prompt = (data.get("prompt") or "").split()
    return ValidAuthorization(
        app=request.client.app,
        redirect_uri=grant.redirect_uri,
        scopes=split_scopes(request.scope),
        state=data.get("state") or None,
        code_challenge=data["code_challenge"],
        code_challenge_method=data["code_challenge_method"],
        force_consent="consent" in prompt,
        no_interaction="none" in prompt,
    )


def _refused(request: Request, refused: RefusedAuthorization) -> Response:
    if refused.redirect_uri is None:
        return error_page(
            request, title="This app sent an invalid request",
            message=f"{refused.description} Nothing was shared. Go back to the app and try again, or contact its "
                    "developer.",
            error_code=refused.error,
        )
    issuer = app_state(request).settings.issuer
    params = {"error": refused.error, "error_description": refused.description or None, "state": refused.state,
              "iss": issuer}
    return redirect_to(redirect_with(refused.redirect_uri, params))


def _needs_interaction(valid: ValidAuthorization, error: str, description: str) -> RefusedAuthorization:
    """The answer to ``prompt=none`` when the person would have to see a page."""
    return RefusedAuthorization(error=error, description=description, redirect_uri=valid.redirect_uri,
                                state=valid.state)


async def authorize(request: Request) -> Response:
    if "oauth_token" in request.query_params and "response_type" not in request.query_params:
        return await oauth1_consent(request)  # OAuth 1.0a (RFC 5849 §2.2): the person answers a temporary credential
    result = await run_authlib(request, _validate)
    if isinstance(result, RefusedAuthorization):
        return _refused(request, result)
    login = await current_login(request)
    if login is None:
        if result.no_interaction:
            return _refused(request, _needs_interaction(result, "login_required", "The person is not signed in."))
        return login_redirect(request)
    if login.session.must_change_password:
        # "This wasn't me" was used in this session: no app gets anything from it until the password is new.
        if result.no_interaction:
            return _refused(request, _needs_interaction(
                result, "interaction_required", "The person must choose a new password first."))
        return redirect_to(PASSWORD_PAGE)
    state = app_state(request)
    db = request_db(request)
    common: _Requested = {
        "account": login.account, "app": result.app, "redirect_uri": result.redirect_uri, "scopes": result.scopes,
        "state": result.state, "code_challenge": result.code_challenge,
        "code_challenge_method": result.code_challenge_method, "settings": state.settings,
    }
    if not result.force_consent:
        back_to_app = await authorize_with_existing_grant(db, **common)
        if back_to_app is not None:
            return redirect_to(answer_uri(back_to_app, issuer=state.settings.issuer))
    if result.no_interaction:
        if await grant_covers(db, account=login.account, app_id=result.app.id, scopes=result.scopes):
            # Granted before, but this client must have the person confirm (see may_skip_consent).
            return _refused(request, _needs_interaction(
                result, "interaction_required", "The person must confirm this request on the consent page."))
        return _refused(request, _needs_interaction(
            result, "consent_required", "The person has not authorized this app for these permissions."))
    pending = await create_authorization_request(db, session_id=login.session.id, **common)
    return redirect_to(f"/oauth/consent?request={to_global_id(AUTHORIZATION_REQUEST, pending.id)}")
