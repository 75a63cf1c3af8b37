"""Authorization codes: issued after consent (async, in the consent's transaction), then redeemed once at the token
endpoint (sync, in Authlib's worker thread) in the lock order of ``locks``. Codes are single use: a replay revokes
what the first redemption issued, and a failed PKCE check burns the code."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from app import metrics
from app.models import AuthorizationCode, Grant, OAuthToken, utcnow
from app.services.digests import digest, new_token
from app.services.errors import Invalid
from app.services.oauth.revocation import revoke_tokens_of_code
from app.services.oauth.tokens import NewTokens, issue_after_consuming, new_token_row


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


def find_live_code(session: Session, *, code: str, app_id: uuid.UUID) -> AuthorizationCode | None:
    """The unexpired code issued to this app. A code that was already redeemed is a replay (RFC 6749 §4.1.2):
    the tokens of its first redemption are revoked before answering None."""
    row = session.execute(
        select(AuthorizationCode).where(col(AuthorizationCode.code_digest) == digest(code))
    ).scalar_one_or_none()
    if row is None or row.app_id != app_id:
        return None
    if row.used_at is not None:
        metrics.CODE_REUSE.inc()
        revoke_tokens_of_code(session, grant_id=row.grant_id, code_id=row.id)
        return None
    return row if row.expires_at > utcnow() else None


def redeem_code(session: Session, *, code: AuthorizationCode, tokens: NewTokens) -> OAuthToken:
    """Consume the code and store its tokens in one transaction; ``Invalid`` when the code was consumed meanwhile
    (its first redemption's tokens are then revoked) or the grant ended."""
    row = issue_after_consuming(
        session, grant_id=code.grant_id,
        consume=update(AuthorizationCode)
        .where(col(AuthorizationCode.id) == code.id, col(AuthorizationCode.used_at).is_(None))
        .values(used_at=utcnow()),
        new_row=lambda grant: new_token_row(tokens, grant=grant, family_id=uuid.uuid4(), code_id=code.id),
    )
    if row is not None:
        metrics.TOKENS_ISSUED.inc()
        return row
    metrics.CODE_REUSE.inc()
    revoke_tokens_of_code(session, grant_id=code.grant_id, code_id=code.id)
    raise Invalid("The authorization code was already used.")


def burn_code(session: Session, *, code_id: uuid.UUID) -> None:
    """Use a code up without issuing anything (its PKCE verification failed), committed on its own: the request
    that burns it fails, and the code must stay burnt. Conditional, so a code redeemed meanwhile keeps its tokens;
    it locks only the code's row and ends no token, so it needs no grant lock (``locks``)."""
    try:
        session.execute(
            update(AuthorizationCode)
            .where(col(AuthorizationCode.id) == code_id, col(AuthorizationCode.used_at).is_(None))
            .values(used_at=utcnow())
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
