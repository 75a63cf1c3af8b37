"""Authorization codes and access tokens on the async side: issuing codes after consent, and recognising access
tokens at the resource API.

The token endpoint's side (redeeming codes, rotating refresh tokens, revocation) runs in Authlib's worker thread
and lives in ``app.oauth.storage``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import transaction
from app.models import Account, AuthorizationCode, Grant, OAuthToken, utcnow
from app.services.permissions import split_scopes
from app.services.tokens import digest, new_token

# Grant.last_used_at is written at most this often per grant, not on every API call.
LAST_USED_WRITE_INTERVAL = timedelta(minutes=1)


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


def add_authorization_code(
    db: AsyncSession, *, grant: Grant, redirect_uri: str, scopes: str, code_challenge: str,
    code_challenge_method: str, lifetime: timedelta,
) -> str:
    """Stage a new single-use code in the caller's transaction and return its raw value."""
    code = new_token()
    now = utcnow()
    db.add(AuthorizationCode(
        code_digest=digest(code), app_id=grant.app_id, account_id=grant.account_id, grant_id=grant.id,
        redirect_uri=redirect_uri, scopes=scopes, code_challenge=code_challenge,
        code_challenge_method=code_challenge_method, created_at=now, expires_at=now + lifetime,
    ))
    return code


# --- resource API (async) -----------------------------------------------------------------------------------------


# Built once: the bearer check runs on every API call. Plain columns run on the connection skip the ORM's
# statement building and object loading, which cost more than the SELECT itself.
_LIVE_ACCESS_TOKEN = (
    select(OAuthToken.scopes, Grant.id, Grant.last_used_at, Account.id, Account.username, Account.name,
           Account.email)
    .join_from(OAuthToken, Grant, Grant.id == OAuthToken.grant_id)  # type: ignore[arg-type]
    .join(Account, Account.id == OAuthToken.account_id)  # type: ignore[arg-type]
    .where(
        OAuthToken.access_digest == bindparam("digest"),
        OAuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
        OAuthToken.access_expires_at > bindparam("now"),
        Grant.revoked_at.is_(None),  # type: ignore[union-attr]
        Account.is_disabled.is_(False),  # type: ignore[attr-defined]
    )
)


async def authenticate_access_token(db: AsyncSession, *, token: str) -> AccessContext | None:
    """The live access token behind a raw value (never a session token), with its grant and account. One SELECT."""
    connection = await db.connection()
    row = (await connection.execute(_LIVE_ACCESS_TOKEN, {"digest": digest(token), "now": utcnow()})).first()
    if row is None:
        return None
    scopes, grant_id, last_used_at, account_id, username, name, email = row
    return AccessContext(account=TokenAccount(id=account_id, username=username, name=name, email=email),
                         grant_id=grant_id, grant_last_used_at=last_used_at, scopes=frozenset(split_scopes(scopes)))


async def mark_grant_used(db: AsyncSession, *, access: AccessContext) -> None:
    """Record API use on the grant, at most once per LAST_USED_WRITE_INTERVAL (the condition holds across
    processes, so a busy app costs one UPDATE a minute, not one per call)."""
    now = utcnow()
    last_used_at = access.grant_last_used_at
    if last_used_at is not None and now - last_used_at < LAST_USED_WRITE_INTERVAL:
        return
    async with transaction(db):
        await db.execute(
            update(Grant)
            .where(
                Grant.id == access.grant_id,  # type: ignore[arg-type]
                or_(Grant.last_used_at.is_(None), Grant.last_used_at < now - LAST_USED_WRITE_INTERVAL),  # type: ignore[union-attr,operator]
            )
            .values(last_used_at=now)
        )
