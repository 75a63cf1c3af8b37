"""OAuth 1.0a signed requests at the resource API (``Authorization: OAuth …``), on Authlib's ResourceProtector.

The token credential is looked up first, on the event loop, in one SELECT (with its app's consumer key and both
sealed secrets); Authlib then checks the request against it without touching the database, so no worker thread is
needed; the nonce is claimed last, once the signature verified. Only the Authorization header is taken here:
credentials in a URL end up in logs.
"""

from __future__ import annotations

from urllib.parse import urlencode

from authlib.oauth1.rfc5849 import SIGNATURE_TYPE_HEADER, OAuth1Request, ResourceProtector
from authlib.oauth1.rfc5849.errors import InvalidNonceError, InvalidRequestError, InvalidTokenError, OAuth1Error
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from app.http.state import app_state, request_db
from app.oauth.oauth1.checks import REALM, ConsumerModel, SignedRequestChecks, TokenCredentialModel, claim_key, usable
from app.oauth.oauth1.server import SignedSnapshot, parse
from app.services.oauth1.sealing import unseal
from app.services.oauth1.tokens import LiveToken, find_live_token


def is_oauth1(conn: HTTPConnection) -> bool:
    """The request is signed with OAuth 1.0a in its Authorization header."""
    return conn.headers.get("authorization", "")[:6].lower() == "oauth "


def refusal(error: OAuth1Error) -> Response:
    """Authlib's error, form-encoded, with an ``OAuth`` challenge (RFC 5849 §3.5.1's scheme)."""
    headers = {**dict(error.get_headers()), "WWW-Authenticate": f'OAuth realm="{REALM}"'}
    return Response(urlencode(error.get_body()), status_code=error.status_code, headers=headers)


class _PreloadedProtector(SignedRequestChecks, ResourceProtector):
    """Authlib's ResourceProtector over one token credential found beforehand (or none)."""

    def __init__(self, found: LiveToken | None, *, secret_key: str) -> None:
        self.found = found
        self.secret_key = secret_key

    def get_client_by_id(self, client_id: str) -> ConsumerModel | None:
        # Another app's consumer key with this token is no client of it: a token never changes hands.
        if self.found is None or self.found.consumer_key != client_id:
            return None
        return ConsumerModel(client_id, unseal(self.found.consumer_secret_sealed, secret_key=self.secret_key))

    def get_token_credential(self, request: OAuth1Request) -> TokenCredentialModel | None:
        if self.found is None:
            return None
        return TokenCredentialModel(token=request.token,
                                    secret=unseal(self.found.token_secret_sealed, secret_key=self.secret_key))


async def verify_signed_request(request: Request) -> LiveToken | Response:
    """The live token credential that signed this request, or the refusal to send (401, or 400 for a request
    that cannot be read). A verified request's nonce is claimed: the same request again is refused."""
    snapshot = await SignedSnapshot.read(request)
    state = app_state(request)
    db = request_db(request)
    try:
        parsed = parse(snapshot)
        if parsed.signature_type != SIGNATURE_TYPE_HEADER:
            raise InvalidRequestError("Send the OAuth 1.0a parameters in the Authorization header only.")
        found = await find_live_token(db, token=parsed.token) if usable(parsed.token) else None
        if parsed.client_id and parsed.token and found is None:
            raise InvalidTokenError()  # unknown, invalidated, or its app revoked: say so, not "invalid_client"
        protector = _PreloadedProtector(found, secret_key=state.settings.secret_key)
        verified = protector.validate_request(snapshot.method, snapshot.uri, snapshot.body, snapshot.headers)
        claim = claim_key(verified)
        if claim is not None and not await state.oauth1_nonces.claim(db, key=claim[0], timestamp=claim[1]):
            raise InvalidNonceError()
    except OAuth1Error as error:
        return refusal(error)
    except ValueError:
        return refusal(InvalidRequestError("The request's OAuth parameters could not be read."))
    return found if found is not None else refusal(InvalidTokenError())  # (validate_request refused that already)
