"""Authlib's AuthorizationServer adapted to Starlette and to our storage.

One server is built per request, inside the worker thread, around that thread's own sync ``Session``
(``query_client`` has no request argument, so the session cannot travel any other way). Building it is cheap: it only
registers grants and endpoints.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidClientError, InvalidGrantError, InvalidRequestError, OAuth2Request
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.db.engines import POOL_SIZE
from app.http.state import app_state
from app.models import App
from app.oauth.adapters import ClientModel
from app.oauth.endpoints import IntrospectionEndpoint, RevocationEndpoint
from app.oauth.grant_types import AuthorizationCodeGrant, RefreshTokenGrant, S256CodeChallenge
from app.oauth.requests import RequestSnapshot, StarletteJsonRequest, StarletteOAuth2Request, parameter_problem
from app.services.digests import new_token
from app.services.errors import Invalid
from app.services.oauth import codes, tokens
from app.services.oauth1.registration import OAUTH2
from app.services.permissions import OFFLINE_ACCESS, Catalog, split_scopes
from app.settings import Settings

T = TypeVar("T")
NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Built once, used on every call. OAuth 2.0 clients only: an OAuth 1.0a app signs with its consumer secret and is
# nobody's client here (its connections go through app.oauth.oauth1).
_APP_BY_CLIENT_ID = select(App).where(col(App.client_id) == bindparam("client_id"), col(App.protocol) == OAUTH2)


class ConsentryAuthorizationServer(AuthorizationServer):
    def __init__(self, *, session: Session, settings: Settings, catalog: Catalog) -> None:
        super().__init__(scopes_supported=catalog.scopes)
        self.session = session
        self.settings = settings
        self.register_token_generator("default", self._generate_token)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(IntrospectionEndpoint)
        self.register_client_auth_method("client_secret_basic", _client_secret_basic)

    # --- Authlib's integration points -----------------------------------------------------------------------

    def query_client(self, client_id: str | None) -> ClientModel | None:
        if not client_id or len(client_id) > 64 or "\x00" in client_id:  # a NUL is no client (and no text to PG)
            return None
        app = self.session.execute(_APP_BY_CLIENT_ID, {"client_id": client_id}).scalar_one_or_none()
        return ClientModel(app) if app else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Store what the grant issued, atomically with consuming its credential (code or refresh token)."""
        # A rotated refresh token keeps the scope of the one it replaces, whatever the access token was narrowed to.
        kept = None if request.authorization_code is not None else request.refresh_token.get_scope()
        issued = tokens.NewTokens(
            access_token=token["access_token"], refresh_token=token.get("refresh_token"), scopes=token["scope"],
            access_lifetime=self.settings.access_token_lifetime, refresh_lifetime=self.settings.refresh_token_lifetime,
            refresh_scopes=kept if kept != token["scope"] else None,
        )
        try:
            if request.authorization_code is not None:
                codes.redeem_code(self.session, code=request.authorization_code.row, tokens=issued)
            else:
                tokens.rotate_refresh_token(self.session, old=request.refresh_token.row, tokens=issued)
        except Invalid as exc:
            raise InvalidGrantError(exc.message) from exc

    def authenticate_client(self, request: OAuth2Request, methods: list[str], endpoint: str = "token") -> ClientModel:
        """Authlib's client authentication (token, revocation and introspection endpoints), after refusing a request
        that authenticates the client in more than one way (RFC 6749 §2.3: a client MUST NOT use more than one
        method per request). Authlib would take the first method that works and ignore the rest."""
        if (problem := _more_than_one_client(request)) is not None:
            raise InvalidRequestError(problem)
        # Authlib is untyped: what it returns is the client query_client found.
        return cast(ClientModel, super().authenticate_client(request, methods, endpoint))

    def create_oauth2_request(self, request: RequestSnapshot | OAuth2Request) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else StarletteOAuth2Request(request)

    def create_json_request(self, request: RequestSnapshot) -> StarletteJsonRequest:
        return StarletteJsonRequest(request)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        header_map = dict(headers)
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=header_map)
        return Response(body or b"", status_code=status, headers=header_map)

    def handle_error_response(self, request: OAuth2Request, error: OAuth2Error) -> Response:
        if isinstance(error, InvalidClientError):
            # RFC 6749 §5.2: an unknown client or a failed authentication is 401 for every method, not just Basic.
            error.status_code = 401
        response = cast(Response, super().handle_error_response(request, error))  # made by handle_response
        response.headers.update(NO_STORE_HEADERS)
        return response

    def refuse_malformed(self, snapshot: RequestSnapshot, *, token_endpoint: bool = False) -> Response | None:
        """``invalid_request`` for a POST Authlib would otherwise take: NUL characters, a repeated parameter, and at
        the token endpoint a missing ``grant_type`` (Authlib answers that ``unsupported_grant_type``)."""
        problem = parameter_problem(snapshot.form, once=True) or parameter_problem(snapshot.query, once=False)
        if problem is None and token_endpoint and not snapshot.form.get("grant_type"):
            problem = "Missing 'grant_type'."
        if problem is None:
            return None
        return self.handle_error_response(self.create_oauth2_request(snapshot), InvalidRequestError(problem))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No listeners: auditing, if wanted, hooks in here."""

    # --- tokens ---------------------------------------------------------------------------------------------

    def _generate_token(
        self, grant_type: str, client: ClientModel, user: Any = None, scope: str | None = None,
        expires_in: int | None = None, include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """Opaque random tokens (256 bits). A refresh token only when the person granted offline.access."""
        lifetime = int(self.settings.access_token_lifetime.total_seconds())
        token: dict[str, Any] = {
            "token_type": "Bearer", "access_token": new_token(), "expires_in": expires_in or lifetime,
            "scope": scope or "",
        }
        if include_refresh_token and OFFLINE_ACCESS in split_scopes(scope):
            token["refresh_token"] = new_token()
        return token


def _client_secret_basic(query_client: Callable[[str], ClientModel | None], request: OAuth2Request) -> Any:
    """Authlib's Basic authentication, except that credentials it cannot take apart (not UTF-8, no separator)
    authenticate nobody (401) instead of raising (a 500)."""
    try:
        return authenticate_client_secret_basic(query_client, request)
    except (UnicodeDecodeError, ValueError):  # ValueError: a header like "Basic\xa0…" that splits into one part
        return None


def _more_than_one_client(request: OAuth2Request) -> str | None:
    """Why the request's client credentials conflict, if they do: an ``Authorization: Basic`` header (even one that
    cannot be decoded: it is an attempt) together with a ``client_secret`` in the body, or with a body ``client_id``
    that is not the header's. The same ``client_id`` in both places is allowed: many clients send it, and RFC 6749
    §4.1.3 does not forbid it. Fixed texts: nothing of the request is echoed."""
    scheme = (request.headers.get("Authorization") or "").split(None, 1)
    if not scheme or scheme[0].lower() != "basic":
        return None
    if "client_secret" in request.form:
        return "Authenticate the client in one way only: HTTP Basic or client_secret in the body, not both."
    if "client_id" not in request.form:
        return None
    try:
        basic_client_id, _ = extract_basic_authorization(request.headers)
    except (UnicodeDecodeError, ValueError):  # undecodable: no client_id can match it
        basic_client_id = None
    if request.form["client_id"] != basic_client_id:
        return "The client_id in the body is not the client of the Authorization header."
    return None


# Authlib's threads: as many as the sync engine's pool keeps connections for them (app.db.engines.POOL_SIZE), so
# concurrent OAuth requests wait here for a thread rather than in the pool for a connection, or for a new one to be
# opened.
_AUTHLIB_THREADS = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="authlib")


async def run_authlib(request: Request, work: Callable[[ConsentryAuthorizationServer, RequestSnapshot], T], *,
                      read_only: bool = False) -> T:
    """Read the request on the event loop, then run ``work`` in a worker thread with its own sync session.

    ``read_only`` work gets an autocommit session: nothing to commit, and no BEGIN or ROLLBACK round trips.
    """
    snapshot = await RequestSnapshot.read(request)
    state = app_state(request)

    def work_with_server(session: Session) -> T:
        server = ConsentryAuthorizationServer(session=session, settings=state.settings, catalog=state.catalog)
        return work(server, snapshot)

    return await run_with_sync_session(request, work_with_server, read_only=read_only)


async def run_with_sync_session(request: Request, work: Callable[[Session], T], *, read_only: bool = False) -> T:
    """Run ``work`` in one of Authlib's worker threads with a sync session of its own (OAuth 2.0 and OAuth 1.0a
    servers alike). Read the request body first: the thread never touches the Starlette request."""
    state = app_state(request)
    sessions = state.database.sync_autocommit_sessions if read_only else state.database.sync_sessions

    def run() -> T:
        with sessions() as session:
            return work(session)

    # The request's context (its ID for the logs) goes along, as Starlette's run_in_threadpool would carry it.
    return await asyncio.get_running_loop().run_in_executor(_AUTHLIB_THREADS, contextvars.copy_context().run, run)
