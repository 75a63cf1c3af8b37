"""Storage for the token, revocation and introspection endpoints: sync functions for Authlib's worker thread.

Each takes the thread's own sync ``Session`` and owns its transaction.

Lock order (the one place it is written down; ``app.services.revocation`` follows it too): **the grant row first,
then its tokens and codes.** Every path that issues or ends tokens takes the grant's row lock before it writes a
token row:

- issuing (code redemption, refresh rotation) locks the live grant with ``SELECT ... FOR UPDATE`` and then, in the
  same transaction, consumes the code or old refresh token and inserts the new row;
- ending (RFC 7009 revocation, refresh-token reuse, code replay) locks the grant with ``SELECT ... FOR UPDATE``
  whatever its state, then ends the tokens with one bulk UPDATE;
- revoking the app (``revoke_access``, a password change) UPDATEs the grant row first, which takes the same lock.

So an ending either waits for a rotation's commit and then, in a new statement snapshot (READ COMMITTED), sees and
ends the new row too, or commits first and makes the rotation's conditional consume fail. Without the lock a bare
``UPDATE ... WHERE family_id = ?`` could run between a rotation's "mark old used" and "insert new" and miss the new
row. On SQLite writers are serialised by the database lock and every write below is conditional, which gives the
same outcome.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Update, bindparam, select, update
from sqlalchemy.orm import Session

from app.models import Account, App, AuthorizationCode, Grant, OAuthToken, utcnow
from app.services.errors import Invalid
from app.services.tokens import digest

ACCESS_TOKEN, REFRESH_TOKEN = "access_token", "refresh_token"


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
    def scopes(self) -> str:
        """This token's own scope: a refresh token's can be wider than the access token it came with."""
        return refresh_scope(self.row) if self.kind == REFRESH_TOKEN else self.row.scopes

    @property
    def expires_at(self) -> datetime | None:
        return self.row.access_expires_at if self.kind == ACCESS_TOKEN else self.row.refresh_expires_at

    def is_active(self, now: datetime) -> bool:
        if self.row.revoked_at is not None or not self.grant_live or self.account.is_disabled:
            return False
        if self.kind == REFRESH_TOKEN and self.row.refresh_used_at is not None:
            return False
        return self.expires_at is not None and self.expires_at > now


def refresh_scope(row: OAuthToken) -> str:
    """The scope of a row's refresh token: its own where a refresh narrowed the access token, else the row's."""
    return row.refresh_scopes or row.scopes


def find_live_code(session: Session, *, code: str, app_id: uuid.UUID) -> AuthorizationCode | None:
    """The unexpired code issued to this app. A code that was already redeemed is a replay (RFC 6749 §4.1.2):
    the tokens of its first redemption are revoked before answering None."""
    row = session.execute(
        select(AuthorizationCode).where(AuthorizationCode.code_digest == digest(code))
    ).scalar_one_or_none()
    if row is None or row.app_id != app_id:
        return None
    if row.used_at is not None:
        revoke_tokens_of_code(session, grant_id=row.grant_id, code_id=row.id)
        return None
    return row if row.expires_at > utcnow() else None


def _end_tokens(session: Session, *, grant_id: uuid.UUID, criteria: ColumnElement[bool]) -> None:
    """Lock the grant (see the lock order above), then end its matching live tokens in one bulk UPDATE, committed
    on its own."""
    try:
        session.execute(select(Grant.id).where(Grant.id == grant_id).with_for_update())  # type: ignore[arg-type]
        session.execute(
            update(OAuthToken)
            .where(OAuthToken.grant_id == grant_id, criteria, OAuthToken.revoked_at.is_(None))  # type: ignore[arg-type,union-attr]
            .values(revoked_at=utcnow())
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise


def revoke_tokens_of_code(session: Session, *, grant_id: uuid.UUID, code_id: uuid.UUID) -> None:
    """End every token issued from one code (RFC 6749 §4.1.2: the code was replayed)."""
    _end_tokens(session, grant_id=grant_id, criteria=OAuthToken.code_id == code_id)  # type: ignore[arg-type]


def revoke_family(session: Session, *, grant_id: uuid.UUID, family_id: uuid.UUID) -> None:
    """Revoke every token descended from one code (RFC 9700 §4.14.2: refresh token reuse)."""
    _end_tokens(session, grant_id=grant_id, criteria=OAuthToken.family_id == family_id)  # type: ignore[arg-type]


def _lock_live_grant(session: Session, grant_id: uuid.UUID) -> Grant | None:
    return session.execute(
        select(Grant)
        .join(Account, Account.id == Grant.account_id)  # type: ignore[arg-type]
        .where(Grant.id == grant_id, Grant.revoked_at.is_(None), Account.is_disabled.is_(False))  # type: ignore[union-attr,attr-defined]
        .with_for_update(of=Grant)  # type: ignore[arg-type]
    ).scalar_one_or_none()


def _token_row(tokens: NewTokens, *, grant: Grant, family_id: uuid.UUID, code_id: uuid.UUID | None) -> OAuthToken:
    now = utcnow()
    return OAuthToken(
        grant_id=grant.id, app_id=grant.app_id, account_id=grant.account_id, family_id=family_id, code_id=code_id,
        access_digest=digest(tokens.access_token),
        refresh_digest=digest(tokens.refresh_token) if tokens.refresh_token else None,
        scopes=tokens.scopes, refresh_scopes=tokens.refresh_scopes if tokens.refresh_token else None, issued_at=now,
        access_expires_at=now + tokens.access_lifetime,
        refresh_expires_at=now + tokens.refresh_lifetime if tokens.refresh_token else None,
    )


def _consume_then_store(session: Session, *, grant_id: uuid.UUID, consume: Update,
                        new_row: Callable[[Grant], OAuthToken]) -> OAuthToken | None:
    """In ONE transaction: lock the live grant (the lock order revocation follows), run the conditional ``consume``
    UPDATE, and store the new tokens only when it matched. None, rolled back, when another request consumed the
    credential first; ``Invalid`` when the grant has ended."""
    try:
        grant = _lock_live_grant(session, grant_id)
        if grant is None:
            raise Invalid("The person has revoked this app's access.")
        if session.execute(consume).rowcount == 1:  # type: ignore[attr-defined]
            row = new_row(grant)
            session.add(row)
            session.commit()
            return row
    except BaseException:
        session.rollback()
        raise
    session.rollback()
    return None


def redeem_code(session: Session, *, code: AuthorizationCode, tokens: NewTokens) -> OAuthToken:
    """Consume the code and store its tokens in one transaction; ``Invalid`` when the code was consumed meanwhile
    (its first redemption's tokens are then revoked) or the grant ended."""
    row = _consume_then_store(
        session, grant_id=code.grant_id,
        consume=update(AuthorizationCode)
        .where(AuthorizationCode.id == code.id, AuthorizationCode.used_at.is_(None))  # type: ignore[arg-type,union-attr]
        .values(used_at=utcnow()),
        new_row=lambda grant: _token_row(tokens, grant=grant, family_id=uuid.uuid4(), code_id=code.id),
    )
    if row is not None:
        return row
    revoke_tokens_of_code(session, grant_id=code.grant_id, code_id=code.id)
    raise Invalid("The authorization code was already used.")


def find_live_refresh_token(session: Session, *, refresh_token: str, app_id: uuid.UUID) -> OAuthToken | None:
    """The live refresh token of this app. Presenting one that was already rotated is reuse: the whole family is
    revoked before answering None. Another app's token is simply unknown here and left untouched."""
    row = session.execute(
        select(OAuthToken).where(OAuthToken.refresh_digest == digest(refresh_token))
    ).scalar_one_or_none()
    if row is None or row.app_id != app_id or row.revoked_at is not None:
        return None
    if row.refresh_used_at is not None:
        revoke_family(session, grant_id=row.grant_id, family_id=row.family_id)
        return None
    return row if row.refresh_expires_at is not None and row.refresh_expires_at > utcnow() else None


def rotate_refresh_token(session: Session, *, old: OAuthToken, tokens: NewTokens) -> OAuthToken:
    """Retire ``old``'s refresh token and store the new tokens in one transaction. Losing a race for ``old`` counts
    as reuse (the family is revoked): a parallel refresh cannot be told apart from a stolen token."""
    row = _consume_then_store(
        session, grant_id=old.grant_id,
        consume=update(OAuthToken)
        .where(
            OAuthToken.id == old.id,  # type: ignore[arg-type]
            OAuthToken.refresh_used_at.is_(None),  # type: ignore[union-attr]
            OAuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
        )
        .values(refresh_used_at=utcnow()),
        new_row=lambda grant: _token_row(tokens, grant=grant, family_id=old.family_id, code_id=old.code_id),
    )
    if row is not None:
        return row
    revoke_family(session, grant_id=old.grant_id, family_id=old.family_id)
    raise Invalid("The refresh token was already used.")


def _token_by(column: Any) -> Select[Any]:
    return (
        select(OAuthToken, Grant, Account, App)
        .join(Grant, Grant.id == OAuthToken.grant_id)  # type: ignore[arg-type]
        .join(Account, Account.id == OAuthToken.account_id)  # type: ignore[arg-type]
        .join(App, App.id == OAuthToken.app_id)  # type: ignore[arg-type]
        .where(column == bindparam("digest"))
    )


# Built once: every introspection and revocation runs them, and building an ORM statement costs more than running
# it does.
_TOKEN_BY_DIGEST = {ACCESS_TOKEN: _token_by(OAuthToken.access_digest),
                    REFRESH_TOKEN: _token_by(OAuthToken.refresh_digest)}


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


def revoke_token(session: Session, *, view: TokenView) -> None:
    """RFC 7009: revoking a refresh token also revokes every access token of its family; revoking an access token
    ends its row, refresh token included."""
    if view.kind == REFRESH_TOKEN:
        revoke_family(session, grant_id=view.row.grant_id, family_id=view.row.family_id)
        return
    _end_tokens(session, grant_id=view.row.grant_id, criteria=OAuthToken.id == view.row.id)  # type: ignore[arg-type]


def burn_code(session: Session, *, code_id: uuid.UUID) -> None:
    """Use a code up without issuing anything (its PKCE verification failed), committed on its own: the request
    that burns it fails, and the code must stay burnt. Conditional, so a code redeemed meanwhile keeps its tokens;
    it locks only the code's row and ends no token, so it needs no grant lock (see the lock order above)."""
    try:
        session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == code_id, AuthorizationCode.used_at.is_(None))  # type: ignore[arg-type,union-attr]
            .values(used_at=utcnow())
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
