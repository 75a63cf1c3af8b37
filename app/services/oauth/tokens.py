"""Access and refresh tokens: issuing them (after a code or an old refresh token is consumed), rotating refresh
tokens with reuse detection, finding a token for revocation and introspection, and recognising an access token at
the resource API.

The token endpoint's side is sync, for Authlib's worker thread: each function takes the thread's own ``Session``
and owns its transaction, in the lock order of ``locks``. The resource API's side is async.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Select, Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from app import metrics
from app.models import Account, App, Grant, OAuthToken, utcnow
from app.services.digests import digest
from app.services.errors import Invalid
from app.services.oauth.locks import lock_live_grant
from app.services.oauth.revocation import revoke_family
from app.services.permissions import split_scopes
from app.services.usage import record_use

ACCESS_TOKEN, REFRESH_TOKEN = "access_token", "refresh_token"
RowT = TypeVar("RowT")


@dataclass(frozen=True)
class NewTokens:
    """Raw token values produced for one token response; only their digests are stored."""

    access_token: str
    refresh_token: str | None
    scopes: str
    access_lifetime: timedelta
    refresh_lifetime: timedelta
    refresh_scopes: str | None = None  # when the refresh token's scope is not the access token's


@dataclass(frozen=True)
class TokenView:
    """A token found by its raw value, for revocation and introspection."""

    row: OAuthToken
    kind: str  # ACCESS_TOKEN | REFRESH_TOKEN
    account: Account
    app: App
    grant_live: bool

    @property
    def is_refresh_token(self) -> bool:
        return self.kind == REFRESH_TOKEN

    @property
    def scopes(self) -> str:
        """This token's own scope: a refresh token's can be wider than the access token it came with."""
        return refresh_scope(self.row) if self.is_refresh_token else self.row.scopes

    @property
    def expires_at(self) -> datetime | None:
        return self.row.refresh_expires_at if self.is_refresh_token else self.row.access_expires_at

    def is_active(self, now: datetime) -> bool:
        if self.row.revoked_at is not None or not self.grant_live or self.account.is_disabled:
            return False
        if self.is_refresh_token and self.row.refresh_used_at is not None:
            return False
        return self.expires_at is not None and self.expires_at > now


def refresh_scope(row: OAuthToken) -> str:
    """The scope of a row's refresh token: its own where a refresh narrowed the access token, else the row's."""
    return row.refresh_scopes or row.scopes


# --- issuing (sync) ------------------------------------------------------------------------------------------------


def new_token_row(tokens: NewTokens, *, grant: Grant, family_id: uuid.UUID, code_id: uuid.UUID | None) -> OAuthToken:
    """The row that stores ``tokens`` (as digests) for ``grant``."""
    now = utcnow()
    return OAuthToken(
        grant_id=grant.id, app_id=grant.app_id, account_id=grant.account_id, family_id=family_id, code_id=code_id,
        access_digest=digest(tokens.access_token),
        refresh_digest=digest(tokens.refresh_token) if tokens.refresh_token else None,
        scopes=tokens.scopes, refresh_scopes=tokens.refresh_scopes if tokens.refresh_token else None, issued_at=now,
        access_expires_at=now + tokens.access_lifetime,
        refresh_expires_at=now + tokens.refresh_lifetime if tokens.refresh_token else None,
    )


def issue_after_consuming(session: Session, *, grant_id: uuid.UUID, consume: Update,
                          new_row: Callable[[Grant], RowT]) -> RowT | None:
    """In ONE transaction: lock the live grant (``locks``), run the conditional ``consume`` UPDATE, and store the
    new tokens only when it matched. None, rolled back, when another request consumed the credential first;
    ``Invalid`` when the grant has ended. OAuth 2.0 tokens (after a code or a refresh token) and OAuth 1.0a token
    credentials (after a temporary credential) are issued through here alike."""
    try:
        grant = lock_live_grant(session, grant_id)
        if grant is None:
            raise Invalid("The person has revoked this app's access.")
        if cast("CursorResult[Any]", session.execute(consume)).rowcount == 1:  # an UPDATE's result: SQLAlchemy's advice
            row = new_row(grant)
            session.add(row)
            session.commit()
            return row
    except BaseException:
        session.rollback()
        raise
    session.rollback()
    return None


def find_live_refresh_token(session: Session, *, refresh_token: str, app_id: uuid.UUID) -> OAuthToken | None:
    """The live refresh token of this app. Presenting one that was already rotated is reuse: the whole family is
    revoked before answering None. Another app's token is simply unknown here and left untouched."""
    row = session.execute(
        select(OAuthToken).where(col(OAuthToken.refresh_digest) == digest(refresh_token))
    ).scalar_one_or_none()
    if row is None or row.app_id != app_id or row.revoked_at is not None:
        return None
    if row.refresh_used_at is not None:
        metrics.REFRESH_TOKEN_REUSE.inc()
        revoke_family(session, grant_id=row.grant_id, family_id=row.family_id)
        return None
    return row if row.refresh_expires_at is not None and row.refresh_expires_at > utcnow() else None


def rotate_refresh_token(session: Session, *, old: OAuthToken, tokens: NewTokens) -> OAuthToken:
    """Retire ``old``'s refresh token and store the new tokens in one transaction. Losing a race for ``old`` counts
    as reuse (the family is revoked): a parallel refresh cannot be told apart from a stolen token."""
    row = issue_after_consuming(
        session, grant_id=old.grant_id,
        consume=update(OAuthToken)
        .where(col(OAuthToken.id) == old.id, col(OAuthToken.refresh_used_at).is_(None),
               col(OAuthToken.revoked_at).is_(None))
        .values(refresh_used_at=utcnow()),
        new_row=lambda grant: new_token_row(tokens, grant=grant, family_id=old.family_id, code_id=old.code_id),
    )
    if row is not None:
        metrics.TOKENS_REFRESHED.inc()
        return row
    metrics.REFRESH_TOKEN_REUSE.inc()
    revoke_family(session, grant_id=old.grant_id, family_id=old.family_id)
    raise Invalid("The refresh token was already used.")


# --- finding a token (sync) ----------------------------------------------------------------------------------------


def _token_by(column: Any) -> Select[OAuthToken, Grant, Account, App]:
    return (
        select(OAuthToken, Grant, Account, App)
        .join(Grant, col(Grant.id) == col(OAuthToken.grant_id))
        .join(Account, col(Account.id) == col(OAuthToken.account_id))
        .join(App, col(App.id) == col(OAuthToken.app_id))
        .where(column == bindparam("digest"))
    )


# Built once: every introspection and revocation runs them, and building an ORM statement costs more than running
# it does.
_TOKEN_BY_DIGEST = {ACCESS_TOKEN: _token_by(col(OAuthToken.access_digest)),
                    REFRESH_TOKEN: _token_by(col(OAuthToken.refresh_digest))}


def find_token(session: Session, *, token: str, hint: str | None) -> TokenView | None:
    """Look a raw token up as an access or refresh token (the hint only decides which is tried first)."""
    kinds = [REFRESH_TOKEN, ACCESS_TOKEN] if hint == REFRESH_TOKEN else [ACCESS_TOKEN, REFRESH_TOKEN]
    token_digest = digest(token)
    for kind in kinds:
        row = session.execute(_TOKEN_BY_DIGEST[kind], {"digest": token_digest}).first()
        if row is not None:
            found, grant, account, app = row
            return TokenView(row=found, kind=kind, account=account, app=app, grant_live=grant.revoked_at is None)
    return None


# --- the resource API (async) --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenAccount:
    """The account an access token acts for: what resource endpoints may show of it."""

    id: uuid.UUID
    username: str
    name: str
    email: str | None


@dataclass(frozen=True)
class AccessContext:
    """A live third-party access token and whom it acts for."""

    account: TokenAccount
    grant_id: uuid.UUID
    grant_last_used_at: datetime | None
    scopes: frozenset[str]
    client_id: str  # the app's, as gateways pass it on (X-Consentry-Client)


# Built once: the bearer check runs on every API call. Plain columns run on the connection skip the ORM's
# statement building and object loading, which cost more than the SELECT itself.
_LIVE_ACCESS_TOKEN = (
    select(col(OAuthToken.scopes), col(Grant.id), col(Grant.last_used_at), col(Account.id), col(Account.username),
           col(Account.name), col(Account.email), col(App.client_id))
    .join_from(OAuthToken, Grant, col(Grant.id) == col(OAuthToken.grant_id))
    .join(Account, col(Account.id) == col(OAuthToken.account_id))
    .join(App, col(App.id) == col(OAuthToken.app_id))
    .where(
        col(OAuthToken.access_digest) == bindparam("digest"),
        col(OAuthToken.revoked_at).is_(None),
        col(OAuthToken.access_expires_at) > bindparam("now"),
        col(Grant.revoked_at).is_(None),
        col(Account.is_disabled).is_(False),
    )
)


async def authenticate_access_token(db: AsyncSession, *, token: str) -> AccessContext | None:
    """The live access token behind a raw value (never a session token), with its grant and account. One SELECT."""
    connection = await db.connection()
    row = (await connection.execute(_LIVE_ACCESS_TOKEN, {"digest": digest(token), "now": utcnow()})).first()
    if row is None:
        return None
    scopes, grant_id, last_used_at, account_id, username, name, email, client_id = row
    return AccessContext(account=TokenAccount(id=account_id, username=username, name=name, email=email),
                         grant_id=grant_id, grant_last_used_at=last_used_at, scopes=frozenset(split_scopes(scopes)),
                         client_id=client_id)


async def mark_grant_used(db: AsyncSession, *, access: AccessContext, ip_address: str | None = None) -> None:
    """Record API use on the grant (time, network, country), at most once per LAST_USED_WRITE_INTERVAL (the
    condition holds across processes, so a busy app costs one UPDATE a minute, not one per call)."""
    await record_use(db, grant_id=access.grant_id, last_used_at=access.grant_last_used_at, ip_address=ip_address)
