"""Secrets that must be read back: an OAuth 1.0a app's consumer secret and its token secrets.

HMAC-SHA1 and HMAC-SHA256 signatures are keyed with ``consumer_secret&token_secret`` (RFC 5849 §3.4.2), so the
server needs both in clear when it checks a signature: a digest, as every other secret is stored, cannot key an
HMAC. They are sealed with Fernet (AES-128-CBC with HMAC-SHA256) under a key derived from ``CONSENTRY_SECRET_KEY``
with HKDF, so a database dump alone reveals none of them. Changing the secret key makes every sealed secret
unreadable: OAuth 1.0a apps then need a new consumer secret and their people a new authorization.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"consentry oauth1 secrets v1"  # another use of the secret key derives another key


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str, *, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode("utf-8")).decode("ascii")


def unseal(sealed: str | None, *, secret_key: str) -> str | None:
    """The secret, or None when there is none or it was sealed under another secret key (so nothing verifies)."""
    if not sealed:
        return None
    try:
        return _fernet(secret_key).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None
