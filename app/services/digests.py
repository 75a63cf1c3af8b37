"""Random tokens and the digests we store in their place."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32  # 256 bits


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(raw: str) -> str:
    """SHA-256 hex digest: the only form in which a token, code or secret reaches the database."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def digest_matches(raw: str, stored_digest: str | None) -> bool:
    return stored_digest is not None and hmac.compare_digest(digest(raw), stored_digest)
