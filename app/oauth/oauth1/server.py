"""Authlib's RFC 5849 AuthorizationServer adapted to Starlette and our storage: ``/oauth/request_token`` and
``/oauth/access_token``.

As for OAuth 2.0 (``app.oauth.server``), the body is read on the event loop, and the server is built per request in
one of Authlib's worker threads around that thread's own sync ``Session``; Authlib's hooks only look rows up and
hand them to ``app.services.oauth1``. Every refusal is Authlib's OAuth 1.0a error, form-encoded, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.oauth1.rfc5849 import AuthorizationServer, OAuth1Request
from authlib.oauth1.rfc5849.errors import (
    InvalidNonceError,
    InvalidRequestError,
    InvalidTokenError,
    OAuth1Error,
)
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from app.http.state import app_state
from app.models import App
from app.oauth.oauth1.checks import (
    ConsumerModel,
    SignedRequestChecks,
    TemporaryCredentialModel,
    TokenCredentialModel,
    claim_key,
    usable,
)
from app.oauth.server import run_with_sync_session
from app.services.errors import Invalid
from app.services.oauth1 import temporary, tokens
from app.services.oauth1.nonces import NonceStore
from app.services.oauth1.registration import OAUTH1, requested_scopes
from app.services.oauth1.sealing import unseal
from app.services.permissions import Catalog
from app.settings import Settings

FORM_TYPE = "application/x-www-form-urlencoded"
_OAUTH1_APP = select(App).where(col(App.client_id) == bindparam("client_id"), col(App.protocol) == OAUTH1)


@dataclass(frozen=True)
class SignedSnapshot:
    """What Authlib needs of the request, read on the event loop: the URL as the client addressed it (scheme from
    the proxy headers uvicorn trusts, host from ``Host``), the headers, and a form body (only a form body is
    signed, RFC 5849 §3.4.1.3.1)."""

    method: str
    uri: str
    headers: Headers
    body: str | None

    @classmethod
    async def read(cls, request: Request) -> SignedSnapshot:
        body = None
        if request.headers.get("content-type", "").split(";")[0].strip().lower() == FORM_TYPE:
            body = (await request.body()).decode("latin-1")  # never fails; a non-ASCII body is not form-encoded
        return cls(method=request.method, uri=str(request.url), headers=Headers(raw=list(request.headers.raw)),
                   body=body)


def parse(snapshot: SignedSnapshot) -> OAuth1Request:
    """Authlib's view of the request; anything it cannot take apart is ``invalid_request``, never an exception."""
    try:
        return OAuth1Request(snapshot.method, snapshot.uri, snapshot.body, snapshot.headers)
    except OAuth1Error:
        raise
    except ValueError as exc:  # a malformed Authorization header, a query that is not form-encoded
        raise InvalidRequestError("The request's OAuth parameters could not be read.") from exc


class ConsentryOAuth1Server(SignedRequestChecks, AuthorizationServer):
    def __init__(self, *, session: Session, settings: Settings, catalog: Catalog, nonces: NonceStore) -> None:
        self.session = session
        self.settings = settings
        self.catalog = catalog
        self.nonces = nonces
        self.issued: tokens.IssuedToken | None = None  # the token answer's account (handle_response adds it)
        self.requested_scopes = ""  # what the temporary credential asks for (the app's level, or less)

    # --- Authlib's integration points -----------------------------------------------------------------------

    def create_oauth1_request(self, request: SignedSnapshot | OAuth1Request) -> OAuth1Request:
        return request if isinstance(request, OAuth1Request) else parse(request)

    def handle_response(self, status_code: int, payload: Any, headers: list[tuple[str, str]]) -> Response:
        """Form-encoded answers (RFC 5849 §2.1, §2.3), with ``true`` spelled as the RFC does; the token answer also
        names the account, as X's does (``user_id``, ``screen_name``)."""
        values = [(key, "true" if value is True else str(value)) for key, value in payload or []]
        if status_code == 200 and self.issued is not None:
            values += [("user_id", self.issued.user_id), ("screen_name", self.issued.screen_name)]
        return Response(urlencode(values), status_code=status_code, headers=dict(headers))

    def get_client_by_id(self, client_id: str) -> ConsumerModel | None:
        if not usable(client_id):
            return None
        app = self.session.execute(_OAUTH1_APP, {"client_id": client_id}).scalar_one_or_none()
        if app is None:
            return None
        return ConsumerModel(app.client_id, unseal(app.client_secret_sealed, secret_key=self.settings.secret_key),
                             row=app)

    def validate_temporary_credentials_request(self, request: OAuth1Request) -> OAuth1Request:
        """Authlib's checks, then ours: the callback is registered (byte for byte) or ``oob``, and any
        ``x_auth_access_type`` asks for a level the catalogue knows. The nonce is claimed last."""
        super().validate_temporary_credentials_request(request)
        app: App = request.client.row
        if request.redirect_uri != temporary.OOB and request.redirect_uri not in app.redirect_uris:
            raise InvalidRequestError("oauth_callback must be one of the app's registered callback URLs, or oob.")
        access_types = [value for key, value in request.params if key == "x_auth_access_type"]
        if len(access_types) > 1:
            raise InvalidRequestError("Send x_auth_access_type at most once.")
        try:
            self.requested_scopes = requested_scopes(app_scopes=app.scopes, app_level=app.access_level,
                                              access_type=access_types[0] if access_types else None,
                                              catalog=self.catalog)
        except Invalid as exc:
            raise InvalidRequestError(exc.message) from exc
        self._claim_nonce(request)
        return request

    def create_temporary_credential(self, request: OAuth1Request) -> TemporaryCredentialModel:
        issued = temporary.issue_temporary_credential(
            self.session, app=request.client.row, callback=request.redirect_uri, scopes=self.requested_scopes,
            secret_key=self.settings.secret_key)
        return TemporaryCredentialModel(consumer_key=request.client_id, token=issued.token, secret=issued.secret)

    def get_temporary_credential(self, request: OAuth1Request) -> TemporaryCredentialModel | None:
        """This app's approved, unused, unexpired temporary credential: another app's is unknown here."""
        if not usable(request.token) or request.client is None:
            return None
        row = temporary.find_approved_credential(self.session, token=request.token, app_id=request.client.row.id)
        if row is None:
            return None
        return TemporaryCredentialModel(consumer_key=request.client_id, token=request.token, row=row,
                                        secret=unseal(row.secret_sealed, secret_key=self.settings.secret_key))

    def delete_temporary_credential(self, request: OAuth1Request) -> None:
        """Nothing: a successful exchange consumed the credential already, and a refused one writes nothing (a
        stranger holding only the ``oauth_token`` of a redirect must not be able to end the person's flow)."""

    def validate_token_request(self, request: OAuth1Request) -> OAuth1Request:
        super().validate_token_request(request)
        self._claim_nonce(request)
        return request

    def create_token_credential(self, request: OAuth1Request) -> TokenCredentialModel:
        try:
            self.issued = tokens.exchange_credential(self.session, credential=request.credential.row,
                                                     secret_key=self.settings.secret_key)
        except Invalid as exc:
            raise InvalidTokenError(exc.message) from exc
        return TokenCredentialModel(token=self.issued.token, secret=self.issued.secret)

    def _claim_nonce(self, request: OAuth1Request) -> None:
        claim = claim_key(request)
        if claim is not None and not self.nonces.claim_sync(self.session, key=claim[0], timestamp=claim[1]):
            self.session.rollback()
            raise InvalidNonceError()


async def run_oauth1(request: Request, work: Callable[[ConsentryOAuth1Server, SignedSnapshot], Response]
                     ) -> Response:
    """Read the request, then run ``work`` on a fresh server in a worker thread. An error Authlib leaves to its
    caller (from a storage hook) is answered like the ones it handles itself."""
    snapshot = await SignedSnapshot.read(request)
    state = app_state(request)

    def run(session: Session) -> Response:
        server = ConsentryOAuth1Server(session=session, settings=state.settings, catalog=state.catalog,
                                       nonces=state.oauth1_nonces)
        try:
            return work(server, snapshot)
        except OAuth1Error as error:
            session.rollback()
            return server.handle_error_response(error)  # type: ignore[no-any-return]

    return await run_with_sync_session(request, run)
