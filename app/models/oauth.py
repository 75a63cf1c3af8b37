"""OAuth 2.0 apps (clients), grants, pending authorization requests, codes and tokens.

Every secret (client secret, code, access and refresh token) is stored only as a SHA-256 digest; an OAuth 1.0a
app's consumer secret is also kept encrypted, as HMAC signatures need it (``app.models.oauth1``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import timestamp, uuid_pk


class App(SQLModel, table=True):
    __tablename__ = "apps"

    id: uuid.UUID = uuid_pk()
    client_id: str = Field(max_length=64, unique=True, index=True)
    client_secret_digest: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)
    website_url: str | None = Field(default=None, max_length=2000)
    icon_url: str | None = Field(default=None, max_length=2000)
    developer_name: str | None = Field(default=None, max_length=128)
    privacy_policy_url: str | None = Field(default=None, max_length=2000)
    terms_url: str | None = Field(default=None, max_length=2000)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="accounts.id", index=True, ondelete="SET NULL")
    redirect_uris: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scopes: str = Field(default="", max_length=2000)  # space-separated, what the app may ever ask for
    confidential: bool = Field(default=True)
    created_at: datetime = timestamp(default_now=True)
    # How the app connects: "oauth2" (scopes chosen per request) or "oauth1" (OAuth 1.0a User Context: one access
    # level for the whole app, plus add-ons; ``scopes`` then holds what they amount to in the catalogue).
    protocol: str = Field(default="oauth2", max_length=8, sa_column_kwargs={"server_default": "oauth2"})
    access_level: str | None = Field(default=None, max_length=32)  # the catalogue's level key (OAuth 1.0a)
    add_ons: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})  # its add-on keys
    # OAuth 1.0a only: HMAC signatures are keyed with the consumer secret, so it is kept encrypted (never in clear)
    # beside its digest; see app.services.oauth1.sealing.
    client_secret_sealed: str | None = Field(default=None, max_length=512)
    # OAuth 2.0: the part of ``scopes`` a person may untick on the consent page (and later take back with
    # updateAppPermissions); the rest is required. Space-separated, always a subset of ``scopes``.
    optional_scopes: str = Field(default="", max_length=2000, sa_column_kwargs={"server_default": ""})
    # OpenID Connect Back-Channel Logout 1.0: where this app receives logout tokens, if it registered one.
    backchannel_logout_uri: str | None = Field(default=None, max_length=2000)


class Grant(SQLModel, table=True):
    """What one account allowed one app. One row per (account, app); revoking sets ``revoked_at``."""

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint("account_id", "app_id", name="uq_grants_account_app"),
        Index("ix_grants_account_active", "account_id", "revoked_at"),
    )

    id: uuid.UUID = uuid_pk()
    account_id: uuid.UUID = Field(foreign_key="accounts.id", ondelete="CASCADE")
    app_id: uuid.UUID = Field(foreign_key="apps.id", index=True, ondelete="CASCADE")
    scopes: str = Field(default="", max_length=2000)
    authorized_at: datetime = timestamp(default_now=True)
    last_used_at: datetime | None = timestamp(nullable=True)
    # The client address of the last use, and its country: shown masked ("203.0.113.x, Germany").
    last_used_ip: str | None = Field(default=None, max_length=45)
    last_used_location: str | None = Field(default=None, max_length=128)
    revoked_at: datetime | None = timestamp(nullable=True)


class GrantUse(SQLModel, table=True):
    """One recorded use of a grant's access (token or resource request): a short history per grant, at most one row
    a minute (the same write as ``Grant.last_used_at``) and at most ``app.services.usage.HISTORY_SIZE`` rows."""

    __tablename__ = "grant_uses"
    __table_args__ = (Index("ix_grant_uses_grant_at", "grant_id", "used_at"),)

    id: uuid.UUID = uuid_pk()
    grant_id: uuid.UUID = Field(foreign_key="grants.id", ondelete="CASCADE")
    used_at: datetime = timestamp(default_now=True)
    ip_address: str | None = Field(default=None, max_length=45)
    location: str | None = Field(default=None, max_length=128)


class AuthorizationRequest(SQLModel, table=True):
    """A validated ``/oauth/authorize`` request waiting for the person's decision, bound to one login session."""

    __tablename__ = "authorization_requests"

    id: uuid.UUID = uuid_pk()
    session_id: uuid.UUID = Field(foreign_key="login_sessions.id", index=True, ondelete="CASCADE")
    account_id: uuid.UUID = Field(foreign_key="accounts.id", index=True, ondelete="CASCADE")
    app_id: uuid.UUID = Field(foreign_key="apps.id", index=True, ondelete="CASCADE")
    redirect_uri: str = Field(max_length=2000)
    scopes: str = Field(default="", max_length=2000)
    state: str | None = Field(default=None, max_length=2000)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(default="S256", max_length=8)
    created_at: datetime = timestamp(default_now=True)
    expires_at: datetime = timestamp()
    decided_at: datetime | None = timestamp(nullable=True)
    decision: str | None = Field(default=None, max_length=16)  # approved | denied


class AuthorizationCode(SQLModel, table=True):
    __tablename__ = "authorization_codes"

    id: uuid.UUID = uuid_pk()
    code_digest: str = Field(max_length=64, unique=True, index=True)
    app_id: uuid.UUID = Field(foreign_key="apps.id", index=True, ondelete="CASCADE")
    account_id: uuid.UUID = Field(foreign_key="accounts.id", index=True, ondelete="CASCADE")
    grant_id: uuid.UUID = Field(foreign_key="grants.id", index=True, ondelete="CASCADE")
    redirect_uri: str = Field(max_length=2000)
    scopes: str = Field(default="", max_length=2000)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(default="S256", max_length=8)
    created_at: datetime = timestamp(default_now=True)
    expires_at: datetime = timestamp()
    used_at: datetime | None = timestamp(nullable=True)


class OAuthToken(SQLModel, table=True):
    """An access token and (with ``offline.access``) its refresh token.

    ``family_id`` ties every token descended from one authorization code, so reuse of a rotated refresh token can
    revoke the whole family in one UPDATE.
    """

    __tablename__ = "oauth_tokens"
    __table_args__ = (Index("ix_oauth_tokens_grant_live", "grant_id", "revoked_at"),)

    id: uuid.UUID = uuid_pk()
    grant_id: uuid.UUID = Field(foreign_key="grants.id", ondelete="CASCADE")
    app_id: uuid.UUID = Field(foreign_key="apps.id", index=True, ondelete="CASCADE")
    account_id: uuid.UUID = Field(foreign_key="accounts.id", index=True, ondelete="CASCADE")
    family_id: uuid.UUID = Field(index=True)
    code_id: uuid.UUID | None = Field(default=None, index=True)
    access_digest: str = Field(max_length=64, unique=True, index=True)
    refresh_digest: str | None = Field(default=None, max_length=64, unique=True, index=True)
    scopes: str = Field(default="", max_length=2000)
    # The refresh token's scope where a refresh narrowed the access token's: RFC 6749 §6 keeps a rotated refresh
    # token at the scope of the one it replaces. None when both are the same.
    refresh_scopes: str | None = Field(default=None, max_length=2000)
    issued_at: datetime = timestamp(default_now=True)
    access_expires_at: datetime = timestamp()
    refresh_expires_at: datetime | None = timestamp(nullable=True)
    refresh_used_at: datetime | None = timestamp(nullable=True)
    revoked_at: datetime | None = timestamp(nullable=True)
