"""OAuth 1.0a token credentials: issued once per approved temporary credential (``access_token``, sync, in
Authlib's worker thread), found for signed API calls (async), and ended by the app itself (``invalidate_token``).

They hang off the same grant as OAuth 2.0 tokens and follow the lock order of ``app.services.oauth.locks``: issuing
locks the live grant before consuming the temporary credential; ending locks the grant before the UPDATE; revoking
the app (``app.services.oauth.revocation``) ends them in its bulk statements. They do not expire: as on X, they
live until the person revokes the app or the app invalidates them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from app.db.engines import transaction
from app.models import Account, App, Grant, OAuth1TemporaryCredential, OAuth1Token, utcnow
from app.services.digests import digest, new_token
from app.services.errors import Invalid
from app.services.oauth.locks import lock_grant
from app.services.oauth.tokens import AccessContext, TokenAccount, issue_after_consuming
from app.services.oauth1.sealing import seal
from app.services.oauth1.temporary import APPROVED
from app.services.permissions import split_scopes


@dataclass(frozen=True)
class IssuedToken:
    token: str
    secret: str
    user_id: str
    screen_name: str


def exchange_credential(session: Session, *, credential: OAuth1TemporaryCredential,
                        secret_key: str) -> IssuedToken:
    """Consume the approved temporary credential and store a token credential for its grant, in one transaction.
    ``Invalid`` when another request consumed it first (exactly one of many parallel exchanges wins) or the person
    revoked the app meanwhile."""
    if credential.grant_id is None or credential.account_id is None:
        raise Invalid("The person has not authorized this request.")
    token, secret = new_token(), new_token()
    now = utcnow()
    row = issue_after_consuming(
        session, grant_id=credential.grant_id,
        consume=update(OAuth1TemporaryCredential)
        .where(col(OAuth1TemporaryCredential.id) == credential.id, col(OAuth1TemporaryCredential.used_at).is_(None),
               col(OAuth1TemporaryCredential.decision) == APPROVED,
               col(OAuth1TemporaryCredential.expires_at) > now)
        .values(used_at=now),
        new_row=lambda grant: OAuth1Token(
            grant_id=grant.id, app_id=grant.app_id, account_id=grant.account_id,
            temporary_credential_id=credential.id, token_digest=digest(token),
            secret_sealed=seal(secret, secret_key=secret_key), scopes=credential.scopes, issued_at=now),
    )
    if row is None:
        raise Invalid("The temporary credentials were already used.")
    username = session.execute(select(col(Account.username)).where(col(Account.id) == row.account_id)).scalar_one()
    return IssuedToken(token=token, secret=secret, user_id=str(row.account_id), screen_name=username)


@dataclass(frozen=True)
class LiveToken:
    """A live token credential with what checking a signed request needs: both sealed secrets, the app's consumer
    key, and the grant and account it acts for."""

    id: uuid.UUID
    token: str  # the raw oauth_token it was found by (never stored)
    consumer_key: str
    consumer_secret_sealed: str | None
    token_secret_sealed: str
    access: AccessContext


# Built once: it runs on every signed API call. Plain columns, as the bearer check reads them.
_LIVE_TOKEN = (
    select(col(OAuth1Token.id), col(OAuth1Token.scopes), col(OAuth1Token.secret_sealed), col(App.client_id),
           col(App.client_secret_sealed), col(Grant.id), col(Grant.last_used_at), col(Account.id),
           col(Account.username), col(Account.name), col(Account.email))
    .join_from(OAuth1Token, Grant, col(Grant.id) == col(OAuth1Token.grant_id))
    .join(Account, col(Account.id) == col(OAuth1Token.account_id))
    .join(App, col(App.id) == col(OAuth1Token.app_id))
    .where(
        col(OAuth1Token.token_digest) == bindparam("digest"),
        col(OAuth1Token.revoked_at).is_(None),
        col(Grant.revoked_at).is_(None),
        col(Account.is_disabled).is_(False),
    )
)


async def find_live_token(db: AsyncSession, *, token: str) -> LiveToken | None:
    """The live token credential behind a raw ``oauth_token``, or None (unknown, invalidated, app revoked, account
    disabled). One SELECT."""
    connection = await db.connection()
    row = (await connection.execute(_LIVE_TOKEN, {"digest": digest(token)})).first()
    if row is None:
        return None
    (token_id, scopes, secret_sealed, client_id, client_secret_sealed, grant_id, last_used_at, account_id, username,
     name, email) = row
    access = AccessContext(account=TokenAccount(id=account_id, username=username, name=name, email=email),
                           grant_id=grant_id, grant_last_used_at=last_used_at,
                           scopes=frozenset(split_scopes(scopes)))
    return LiveToken(id=token_id, token=token, consumer_key=client_id, consumer_secret_sealed=client_secret_sealed,
                     token_secret_sealed=secret_sealed, access=access)


async def invalidate_token(db: AsyncSession, *, token: LiveToken) -> datetime:
    """End one token credential (the app asked, signing with it): lock its grant, then end it, in one transaction.
    The app stays connected; its other tokens live on."""
    now = utcnow()
    async with transaction(db):
        await db.run_sync(lambda session: lock_grant(session, token.access.grant_id))
        await db.execute(update(OAuth1Token)
                         .where(col(OAuth1Token.id) == token.id, col(OAuth1Token.revoked_at).is_(None))
                         .values(revoked_at=now))
    return now
