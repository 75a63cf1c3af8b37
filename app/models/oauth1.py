"""OAuth 1.0a User Context (RFC 5849): temporary credentials, token credentials and the nonces already seen.

Both kinds of credentials are an ``oauth_token`` and an ``oauth_token_secret``. The token is stored as a SHA-256
digest like every other token. The secret cannot be: HMAC-SHA1 and HMAC-SHA256 signatures are keyed with it, so the
server must be able to read it back. It is stored encrypted with a key derived from ``CONSENTRY_SECRET_KEY``
(``app.services.oauth1.sealing``), and so is an OAuth 1.0a app's consumer secret (``App.client_secret_sealed``).

Token credentials hang off the same ``grants`` row as OAuth 2.0 tokens: one connected-apps list, and one
``revokeAccess`` ends both in the same bulk statements.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.base import timestamp, uuid_pk

SEALED_LENGTH = 512  # a Fernet token of a 43-character secret is about 140 characters


class OAuth1TemporaryCredential(SQLModel, table=True):
    """``POST /oauth/request_token``'s answer, waiting for the person (``/oauth/authorize``) and then for the app
    (``/oauth/access_token``). Lives 15 minutes; used once: exchanged, or ended by Cancel."""

    __tablename__ = "oauth1_temporary_credentials"

    id: uuid.UUID = uuid_pk()
    token_digest: str = Field(max_length=64, unique=True, index=True)
    secret_sealed: str = Field(max_length=SEALED_LENGTH)
    app_id: uuid.UUID = Field(foreign_key="apps.id", index=True, ondelete="CASCADE")
    callback: str = Field(max_length=2000)  # a registered callback URL, or "oob" (the PIN flow)
    scopes: str = Field(default="", max_length=2000)  # what the person is asked for: the app's level, or less
    created_at: datetime = timestamp(default_now=True)
    expires_at: datetime = timestamp()
    # Set when the person answers: who, which grant, and (approved) the verifier's digest.
    account_id: uuid.UUID | None = Field(default=None, foreign_key="accounts.id", index=True, ondelete="CASCADE")
    grant_id: uuid.UUID | None = Field(default=None, foreign_key="grants.id", index=True, ondelete="CASCADE")
    verifier_digest: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = timestamp(nullable=True)
    decision: str | None = Field(default=None, max_length=16)  # approved | denied
    used_at: datetime | None = timestamp(nullable=True)  # exchanged, denied, or ended with its grant


class OAuth1Token(SQLModel, table=True):
    """A token credential: what the app signs its API calls with until the person revokes it (no expiry, as on X).

    ``temporary_credential_id`` is unique: one temporary credential yields at most one token, whatever races."""

    __tablename__ = "oauth1_tokens"
    __table_args__ = (Index("ix_oauth1_tokens_grant_live", "grant_id", "revoked_at"),)

    id: uuid.UUID = uuid_pk()
    grant_id: uuid.UUID = Field(foreign_key="grants.id", ondelete="CASCADE")
    app_id: uuid.UUID = Field(foreign_key="apps.id", index=True, ondelete="CASCADE")
    account_id: uuid.UUID = Field(foreign_key="accounts.id", index=True, ondelete="CASCADE")
    temporary_credential_id: uuid.UUID | None = Field(default=None, unique=True)
    token_digest: str = Field(max_length=64, unique=True, index=True)
    secret_sealed: str = Field(max_length=SEALED_LENGTH)
    scopes: str = Field(default="", max_length=2000)
    issued_at: datetime = timestamp(default_now=True)
    revoked_at: datetime | None = timestamp(nullable=True)


class OAuth1Nonce(SQLModel, table=True):
    """A nonce already used within the timestamp window (the database store; Redis when configured). The digest
    covers the consumer key, the token, the timestamp and the nonce (RFC 5849 §3.3); the row is useless once its
    timestamp leaves the window, and ``purge-expired`` deletes it then."""

    __tablename__ = "oauth1_nonces"

    id: uuid.UUID = uuid_pk()
    nonce_digest: str = Field(max_length=64, unique=True)
    expires_at: datetime = timestamp(index=True)
