"""Deleting what can never be used again: ended sessions, dead tokens, expired codes and authorization requests,
and OAuth 1.0a's ended token credentials, expired temporary credentials and nonces past the timestamp window.

Nothing here is needed once it is over: an ended session is refused on its next request, and a token, code or
pending consent past its expiry is refused too. Security events are history, kept for their own period
(``CONSENTRY_SECURITY_EVENT_DAYS``, a year by default) and then deleted the same way. What is kept for ``keep``
after it ended still does its last job
in that time: a code or rotated refresh token presented again is recognised as a replay and revokes what it led to
(RFC 6749 §4.1.2, RFC 9700 §4.14). Grants stay: one row per account and app, which a new authorization reuses.

Rows are found in batches walking the primary key, so every row is looked at once however large the table, and
each batch is deleted in a short transaction of its own: writers (sign-ins, token requests) never wait behind one
long DELETE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, Uuid, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    AuthorizationCode,
    AuthorizationRequest,
    LoginSession,
    OAuth1Nonce,
    OAuth1TemporaryCredential,
    OAuth1Token,
    OAuthToken,
    SecurityEvent,
    utcnow,
)
from app.models.base import table_of
from app.services.sessions import SessionPolicy

DEFAULT_KEEP = timedelta(days=30)
DEFAULT_SECURITY_EVENT_KEEP = timedelta(days=365)
BATCH_SIZE = 5000


@dataclass(frozen=True)
class Purged:
    authorization_requests: int
    authorization_codes: int
    oauth_tokens: int
    login_sessions: int
    oauth1_temporary_credentials: int = 0
    oauth1_tokens: int = 0
    oauth1_nonces: int = 0
    security_events: int = 0


async def _purge(db: AsyncSession, table: Table, dead: ColumnElement[bool], batch_size: int) -> int:
    ids = table.c.id
    find = (select(ids).where(dead, ids > bindparam("last", type_=Uuid())).order_by(ids)
            .limit(batch_size))
    first = select(ids).where(dead).order_by(ids).limit(batch_size)
    deleted, last = 0, None
    while True:
        batch = list((await db.execute(first if last is None else find, {} if last is None else {"last": last}))
                     .scalars())
        if not batch:
            return deleted
        await db.execute(delete(table).where(ids.in_(batch)))
        await db.commit()
        deleted += len(batch)
        last = batch[-1]


async def purge_expired(db: AsyncSession, *, policy: SessionPolicy, keep: timedelta = DEFAULT_KEEP,
                        batch_size: int = BATCH_SIZE, now: datetime | None = None,
                        keep_security_events: timedelta = DEFAULT_SECURITY_EVENT_KEEP) -> Purged:
    """Delete what ended more than ``keep`` ago, and security events older than ``keep_security_events``, table by
    table; returns how many rows of each went."""
    now = now or utcnow()
    cutoff = now - keep
    requests, codes, tokens, sessions, events = (table_of(model) for model in (
        AuthorizationRequest, AuthorizationCode, OAuthToken, LoginSession, SecurityEvent))
    temporary, oauth1_tokens, nonces = (table_of(model) for model in (
        OAuth1TemporaryCredential, OAuth1Token, OAuth1Nonce))
    return Purged(
        oauth1_temporary_credentials=await _purge(db, temporary, temporary.c.expires_at < cutoff, batch_size),
        oauth1_tokens=await _purge(db, oauth1_tokens, oauth1_tokens.c.revoked_at < cutoff, batch_size),
        # A nonce outside the timestamp window guards nothing: its requests are refused for their timestamp.
        oauth1_nonces=await _purge(db, nonces, nonces.c.expires_at < now, batch_size),
        authorization_requests=await _purge(db, requests, requests.c.expires_at < cutoff, batch_size),
        authorization_codes=await _purge(db, codes, codes.c.expires_at < cutoff, batch_size),
        oauth_tokens=await _purge(db, tokens, or_(
            tokens.c.revoked_at < cutoff,
            (tokens.c.access_expires_at < cutoff)
            & or_(tokens.c.refresh_expires_at.is_(None), tokens.c.refresh_expires_at < cutoff),
        ), batch_size),
        # Pending consents of a deleted session go with it (ON DELETE CASCADE).
        login_sessions=await _purge(db, sessions, or_(
            sessions.c.revoked_at < cutoff,
            sessions.c.last_active_at < cutoff - policy.idle_timeout,
            sessions.c.signed_in_at < cutoff - policy.absolute_lifetime,
        ), batch_size),
        security_events=await _purge(db, events, events.c.at < now - keep_security_events,
                                     batch_size),
    )
