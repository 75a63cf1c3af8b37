"""People who own accounts and the first-party login sessions they sign in with."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.base import timestamp, uuid_pk


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: uuid.UUID = uuid_pk()
    username: str = Field(max_length=64)
    # Lower-cased username: the unique index on it makes usernames unique regardless of case on every engine.
    username_key: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=128)
    email: str | None = Field(default=None, max_length=254)
    password_hash: str = Field(max_length=255)
    is_disabled: bool = Field(default=False)
    created_at: datetime = timestamp(default_now=True)


class LoginSession(SQLModel, table=True):
    """One sign-in. Only the SHA-256 digest of the bearer/cookie token is stored."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_account_active", "account_id", "revoked_at", "last_active_at"),)

    id: uuid.UUID = uuid_pk()
    account_id: uuid.UUID = Field(foreign_key="accounts.id", ondelete="CASCADE")
    token_digest: str = Field(max_length=64, unique=True, index=True)
    client_kind: str = Field(default="web", max_length=16)  # web | mobile | api
    ip_address: str | None = Field(default=None, max_length=45)
    user_agent: str | None = Field(default=None, max_length=512)
    device: str | None = Field(default=None, max_length=128)
    browser: str | None = Field(default=None, max_length=128)
    os: str | None = Field(default=None, max_length=128)
    location: str | None = Field(default=None, max_length=128)
    signed_in_at: datetime = timestamp(default_now=True)
    last_active_at: datetime = timestamp(default_now=True)
    revoked_at: datetime | None = timestamp(nullable=True)
    revoked_reason: str | None = Field(default=None, max_length=32)
    # Where the session was last active from, when that is not where it signed in (written with last_active_at).
    last_ip_address: str | None = Field(default=None, max_length=45)
    last_location: str | None = Field(default=None, max_length=128)
    # Set by "This wasn't me" (secureAccount): until a new password is chosen this session may do nothing else.
    must_change_password: bool = Field(default=False)
