"""OAuth 1.0a temporary credentials: issued to the app (``request_token``, sync, in Authlib's worker thread), then
answered by the person on the consent page (async): approved with a verifier, or declined, which ends them.

They live ``LIFETIME`` and serve once. The token is stored as a digest; its secret is sealed, because the app signs
its ``access_token`` request with it (``sealing``). The verifier is stored as a digest: a random token for a
callback URL, and for ``oob`` a 7-digit PIN the person types into the app (as X's PIN flow does; it is useless
without the app's consumer secret and the temporary token secret, which never leave the app).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from app.db.engines import transaction
from app.models import Account, App, OAuth1TemporaryCredential, utcnow
from app.services.digests import digest, new_token
from app.services.errors import Invalid, NotFound
from app.services.grants import grant_covers, may_skip_consent, upsert_grant
from app.services.oauth1.sealing import seal
from app.services.permissions import split_scopes
from app.services.security_events import Actor, Kind, record_event

LIFETIME = timedelta(minutes=15)
OOB = "oob"
APPROVED, DENIED = "approved", "denied"
PIN_DIGITS = 7


@dataclass(frozen=True)
class IssuedCredential:
    token: str
    secret: str


@dataclass(frozen=True)
class PendingCredential:
    """A temporary credential waiting for the person, with its app."""

    credential: OAuth1TemporaryCredential
    app: App
    token: str  # the raw oauth_token, as the page carries it

    @property
    def is_oob(self) -> bool:
        return self.credential.callback == OOB


@dataclass(frozen=True)
class OAuth1Answer:
    """What goes back to the app: a redirect to its callback (``oauth_token`` and ``oauth_verifier``, or X's
    ``denied``), or for ``oob`` a page showing the verifier as a PIN (nothing to show when declined)."""

    app: App
    callback: str
    token: str
    verifier: str | None  # None: declined

    @property
    def is_oob(self) -> bool:
        return self.callback == OOB


# --- issuing (sync, Authlib's worker thread) -----------------------------------------------------------------------


def issue_temporary_credential(session: Session, *, app: App, callback: str, scopes: str,
                               secret_key: str) -> IssuedCredential:
    """Store a new temporary credential and commit it (with whatever the session already holds: the request's
    nonce, when the database keeps nonces)."""
    issued = IssuedCredential(token=new_token(), secret=new_token())
    now = utcnow()
    try:
        session.add(OAuth1TemporaryCredential(
            token_digest=digest(issued.token), secret_sealed=seal(issued.secret, secret_key=secret_key),
            app_id=app.id, callback=callback, scopes=scopes, created_at=now, expires_at=now + LIFETIME))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return issued


def find_approved_credential(session: Session, *, token: str, app_id: uuid.UUID) -> OAuth1TemporaryCredential | None:
    """The temporary credential an ``access_token`` request presents: this app's, approved, unused, unexpired."""
    row = session.execute(
        select(OAuth1TemporaryCredential).where(col(OAuth1TemporaryCredential.token_digest) == digest(token))
    ).scalar_one_or_none()
    if (row is None or row.app_id != app_id or row.decision != APPROVED or row.used_at is not None
            or row.expires_at <= utcnow()):
        return None
    return row


# --- the person's answer (async, the consent page) ------------------------------------------------------------------


async def get_pending_credential(db: AsyncSession, *, token: str | None,
                                 expired_too: bool = False) -> PendingCredential:
    """The temporary credential behind ``oauth_token`` while the person may still answer it. Unknown: NotFound;
    answered, used or (unless ``expired_too``: declining needs no fresh request) expired: Invalid, saying which."""
    row = None
    if token and len(token) <= 200 and "\x00" not in token:
        row = (await db.execute(
            select(OAuth1TemporaryCredential, App).join(App, col(App.id) == col(OAuth1TemporaryCredential.app_id))
            .where(col(OAuth1TemporaryCredential.token_digest) == digest(token))
        )).first()
    if row is None:
        raise NotFound("No such request from an app.", field="oauth_token")
    credential, app = row
    if credential.decision == APPROVED:
        raise Invalid(f"You already authorized {app.name} with this request. Go back to the app.",
                      field="oauth_token")
    if credential.decision == DENIED or credential.used_at is not None:
        raise Invalid("This request was already answered, so nothing more was shared. Go back to the app and start "
                      "again.", field="oauth_token")
    if credential.expires_at <= utcnow() and not expired_too:
        raise Invalid("This request from the app has expired, so nothing was shared. Start again from the app.",
                      field="oauth_token")
    return PendingCredential(credential=credential, app=app, token=token or "")


def _new_verifier(callback: str) -> str:
    return f"{secrets.randbelow(10 ** PIN_DIGITS):0{PIN_DIGITS}d}" if callback == OOB else new_token()


async def approve_credential(db: AsyncSession, *, account: Account, pending: PendingCredential,
                             actor: Actor | None = None) -> OAuth1Answer:
    """Approve in one transaction: the grant gains the credential's scopes (one grant per account and app, shared
    with OAuth 2.0), and the credential gets the person, the grant and a verifier. A second answer finds nothing
    left to decide and changes nothing. With ``actor`` (the person chose Authorize app) APP_AUTHORIZED is recorded
    in the same transaction."""
    credential = pending.credential
    verifier = _new_verifier(credential.callback)
    async with transaction(db):
        grant = await upsert_grant(db, account_id=account.id, app_id=credential.app_id, scopes=credential.scopes)
        decided = await db.execute(
            update(OAuth1TemporaryCredential)
            .where(col(OAuth1TemporaryCredential.id) == credential.id,
                   col(OAuth1TemporaryCredential.decided_at).is_(None),
                   col(OAuth1TemporaryCredential.used_at).is_(None),
                   col(OAuth1TemporaryCredential.expires_at) > utcnow())
            .values(account_id=account.id, grant_id=grant.id, verifier_digest=digest(verifier), decision=APPROVED,
                    decided_at=utcnow())
        )
        if cast("CursorResult[Any]", decided).rowcount != 1:  # an UPDATE's result
            raise Invalid("This request was already answered. Go back to the app.", field="oauth_token")
        if actor is not None:
            await record_event(db, account_id=account.id, kind=Kind.APP_AUTHORIZED, actor=actor, app_id=pending.app.id,
                               at=grant.authorized_at,
                               details={"app_name": pending.app.name, "scopes": split_scopes(credential.scopes)})
    return OAuth1Answer(app=pending.app, callback=credential.callback, token=pending.token, verifier=verifier)


async def deny_credential(db: AsyncSession, *, account: Account, pending: PendingCredential) -> OAuth1Answer:
    """Decline: the temporary credential ends at once (it can never be exchanged), and nothing else changes."""
    credential = pending.credential
    now = utcnow()
    async with transaction(db):
        decided = await db.execute(
            update(OAuth1TemporaryCredential)
            .where(col(OAuth1TemporaryCredential.id) == credential.id,
                   col(OAuth1TemporaryCredential.decided_at).is_(None),
                   col(OAuth1TemporaryCredential.used_at).is_(None))
            .values(account_id=account.id, decision=DENIED, decided_at=now, used_at=now)
        )
        if cast("CursorResult[Any]", decided).rowcount != 1:  # an UPDATE's result
            raise Invalid("This request was already answered. Go back to the app.", field="oauth_token")
    return OAuth1Answer(app=pending.app, callback=credential.callback, token=pending.token, verifier=None)


async def already_granted(db: AsyncSession, *, account: Account, pending: PendingCredential) -> bool:
    """Whether the account's active grant to the app already covers everything this credential asks for."""
    return await grant_covers(db, account=account, app_id=pending.app.id,
                              scopes=split_scopes(pending.credential.scopes))


async def may_answer_silently(db: AsyncSession, *, account: Account, pending: PendingCredential) -> bool:
    """``/oauth/authenticate`` ("Sign in with …") goes straight back to the app only when the grant already covers
    the request and the callback can reach nobody but the app: a registered URL off the device. A loopback
    callback, or the PIN flow, always shows the page (as OAuth 2.0's ``may_skip_consent`` decides)."""
    if pending.is_oob or not may_skip_consent(app=pending.app, redirect_uri=pending.credential.callback):
        return False
    return await already_granted(db, account=account, pending=pending)
