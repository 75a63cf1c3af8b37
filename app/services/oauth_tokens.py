"""Authorization codes and access tokens on the async side: issuing codes after consent, and recognising access
tokens at the resource API.

The token endpoint's side (redeeming codes, rotating refresh tokens, revocation) runs in Authlib's worker thread
and lives in ``app.oauth.storage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import transaction
from app.models import Account, AuthorizationCode, Grant, OAuthToken, utcnow
from app.services.permissions import split_scopes
from app.services.tokens import digest, new_token

# Grant.last_used_at is written at most this often per grant, not on every API call.
LAST_USED_WRITE_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class AccessContext:
    """A live third-party access token and whom it acts for."""

    account: Account
    grant: Grant
    token: OAuthToken

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(split_scopes(self.token.scopes))


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


async def authenticate_access_token(db: AsyncSession, *, token: str) -> AccessContext | None:
    """The live access token behind a raw value (never a session token), with its grant and account. One SELECT."""
    now = utcnow()
    row = (
        await db.execute(
            select(OAuthToken, Grant, Account)
            .join(Grant, Grant.id == OAuthToken.grant_id)  # type: ignore[arg-type]
            .join(Account, Account.id == OAuthToken.account_id)  # type: ignore[arg-type]
            .where(
                OAuthToken.access_digest == digest(token),
                OAuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
                OAuthToken.access_expires_at > now,
                Grant.revoked_at.is_(None),  # type: ignore[union-attr]
                Account.is_disabled.is_(False),  # type: ignore[attr-defined]
            )
        )
    ).first()
    if row is None:
        return None
    found, grant, account = row
    return AccessContext(account=account, grant=grant, token=found)


async def mark_grant_used(db: AsyncSession, *, grant: Grant) -> None:
    """Record API use on the grant, at most once per LAST_USED_WRITE_INTERVAL (the condition holds across
    processes, so a busy app costs one UPDATE a minute, not one per call)."""
    now = utcnow()
    if grant.last_used_at is not None and now - grant.last_used_at < LAST_USED_WRITE_INTERVAL:
        return
    async with transaction(db):
        await db.execute(
            update(Grant)
            .where(
                Grant.id == grant.id,  # type: ignore[arg-type]
                or_(Grant.last_used_at.is_(None), Grant.last_used_at < now - LAST_USED_WRITE_INTERVAL),  # type: ignore[union-attr,operator]
            )
            .values(last_used_at=now)
        )
    grant.last_used_at = now
