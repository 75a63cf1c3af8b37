"""What every signed OAuth 1.0a request goes through, on Authlib's RFC 5849 servers: our rows in Authlib's mixins,
the signature methods we take, the timestamp window, and the nonce claimed once the signature verified.

Authlib computes every signature base string (``generate_signature_base_string``) and checks HMAC-SHA1 and
PLAINTEXT itself; HMAC-SHA256 is registered through ``register_signature_method`` over the same base string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from authlib.oauth1.rfc5849 import (
    SIGNATURE_HMAC_SHA1,
    SIGNATURE_PLAINTEXT,
    ClientMixin,
    OAuth1Request,
    TemporaryCredentialMixin,
    TokenCredentialMixin,
)
from authlib.oauth1.rfc5849.base_server import BaseServer
from authlib.oauth1.rfc5849.errors import InvalidSignatureError, OAuth1Error, UnsupportedSignatureMethodError
from authlib.oauth1.rfc5849.signature import generate_signature_base_string
from authlib.oauth1.rfc5849.util import escape

from app.models import OAuth1TemporaryCredential
from app.services.digests import digest_matches
from app.services.oauth1.nonces import WINDOW, nonce_key

SIGNATURE_HMAC_SHA256 = "HMAC-SHA256"
SIGNATURE_METHODS = [SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, SIGNATURE_PLAINTEXT]
WINDOW_SECONDS = int(WINDOW.total_seconds())
REALM = "consentry"


def verify_hmac_sha256(request: OAuth1Request) -> bool:
    """RFC 5849 §3.4.2 with SHA-256 instead of SHA-1 (as oauthlib and X's clients sign it), over Authlib's own
    signature base string."""
    if not request.client_secret:
        return False
    key = f"{escape(request.client_secret)}&{escape(request.token_secret or '')}"
    text = generate_signature_base_string(request)
    expected = base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, request.signature)


BaseServer.register_signature_method(SIGNATURE_HMAC_SHA256, verify_hmac_sha256)


class TimestampRefusedError(OAuth1Error):
    """A timestamp outside the window (OAuth Problem Reporting's ``timestamp_refused``): 401, like a replay."""

    error = "timestamp_refused"
    description = "oauth_timestamp is more than 5 minutes away from the server's clock."
    status_code = 401


class InsufficientScopeError(OAuth1Error):
    """The token credential's access level does not cover the endpoint (403, as for bearer tokens)."""

    error = "insufficient_scope"
    description = "The app's access level does not include this."
    status_code = 403


class ConsumerModel(ClientMixin):
    """An OAuth 1.0a app as Authlib's servers see it: its consumer key and (unsealed) consumer secret."""

    def __init__(self, consumer_key: str, secret: str | None, row: Any = None) -> None:
        self.consumer_key = consumer_key
        self.secret = secret
        self.row = row  # the App, where the server needs it

    def get_default_redirect_uri(self) -> None:
        return None  # never guess a callback: oob shows the PIN page instead

    def get_client_secret(self) -> str | None:
        return self.secret

    def get_rsa_public_key(self) -> None:
        return None  # RSA-SHA1 is not offered


class TemporaryCredentialModel(TemporaryCredentialMixin):
    def __init__(self, *, consumer_key: str, token: str, secret: str | None,
                 row: OAuth1TemporaryCredential | None = None) -> None:
        self.consumer_key, self.token, self.secret, self.row = consumer_key, token, secret, row

    def get_client_id(self) -> str:
        return self.consumer_key

    def get_redirect_uri(self) -> str | None:
        return self.row.callback if self.row else None

    def check_verifier(self, verifier: str) -> bool:
        return self.row is not None and digest_matches(verifier, self.row.verifier_digest)

    def get_oauth_token(self) -> str:
        return self.token

    def get_oauth_token_secret(self) -> str | None:
        return self.secret


class TokenCredentialModel(TokenCredentialMixin):
    def __init__(self, *, token: str, secret: str | None) -> None:
        self.token, self.secret = token, secret

    def get_oauth_token(self) -> str:
        return self.token

    def get_oauth_token_secret(self) -> str | None:
        return self.secret


def usable(value: str | None) -> bool:
    """A credential value worth looking up: present, bounded, and storable as text (no NUL) on every engine."""
    return bool(value) and len(value or "") <= 200 and "\x00" not in (value or "")


class SignedRequestChecks:
    """Mixed into both Authlib servers: HMAC-SHA1, HMAC-SHA256, and PLAINTEXT over https only; a timestamp within
    ±5 minutes (Authlib checks only the past side); nonces claimed after the signature verified, so a refused
    request writes nothing (``exists_nonce`` is therefore never a reason to refuse: ``claim_nonce`` is)."""

    SUPPORTED_SIGNATURE_METHODS = SIGNATURE_METHODS
    EXPIRY_TIME = WINDOW_SECONDS

    def exists_nonce(self, nonce: str, request: OAuth1Request) -> bool:
        return False

    def validate_timestamp_and_nonce(self, request: OAuth1Request) -> None:
        timestamp = request.timestamp
        # Past 15 digits it is ages away (and past Python's int() digit limit it would not even parse).
        if timestamp and timestamp.isascii() and timestamp.isdigit() and (
                len(timestamp) > 15 or abs(time.time() - int(timestamp)) > WINDOW_SECONDS):
            raise TimestampRefusedError()
        super().validate_timestamp_and_nonce(request)  # type: ignore[misc]

    def validate_oauth_signature(self, request: OAuth1Request) -> None:
        if request.signature_method == SIGNATURE_PLAINTEXT and not request.uri.lower().startswith("https://"):
            raise UnsupportedSignatureMethodError("PLAINTEXT signatures are accepted only over https.")
        if request.signature and not request.signature.isascii():
            raise InvalidSignatureError()  # no signature of ours has such characters (and hmac compares ASCII only)
        super().validate_oauth_signature(request)  # type: ignore[misc]


def claim_key(request: OAuth1Request) -> tuple[str, int] | None:
    """The nonce store's key and the timestamp for a verified request; None when PLAINTEXT left both out (allowed
    over https, RFC 5849 §3.4.4)."""
    params = request.oauth_params
    timestamp, nonce = params.get("oauth_timestamp"), params.get("oauth_nonce")
    if not timestamp or not nonce:
        return None
    key = nonce_key(consumer_key=request.client_id, token=request.token, timestamp=timestamp, nonce=nonce)
    return key, int(timestamp)
