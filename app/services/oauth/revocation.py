"""Ending OAuth access: one app's grant (revokeAccess) or every grant of an account (a password change), with every
token and unused code of it, OAuth 2.0 and OAuth 1.0a alike, in bulk; and, for the token endpoint's thread, ending
one token, a refresh-token family (reuse) or what one code issued (replay). Every one of them follows the lock
order of ``locks``.

Statements are built once, at import, with bind parameters: building an UPDATE costs more than SQLite spends
running it, and revoking is what a person does when something is wrong, so it should be instant. They are Core
statements (no ORM objects are loaded or synchronised): no caller reads revoked rows back from the session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from app import metrics
from app.db.engines import transaction
from app.models import (
    Account,
    App,
    AuthorizationCode,
    Grant,
    OAuth1TemporaryCredential,
    OAuth1Token,
    OAuthToken,
    utcnow,
)
from app.models.base import table_of
from app.services.apps import AppRow
from app.services.errors import NotFound
from app.services.oauth.locks import lock_grant
from app.services.oauth1.registration import OAUTH1, OAUTH2
from app.services.receipts import Receipt, nothing_ended, tokens_ended
from app.services.security_events import NOBODY, Actor, Kind, record_event

if TYPE_CHECKING:
    from app.services.oauth.tokens import TokenView

_grants = table_of(Grant)
_tokens = table_of(OAuthToken)
_codes = table_of(AuthorizationCode)
_apps = table_of(App)
_oauth1_tokens = table_of(OAuth1Token)
_oauth1_temporary = table_of(OAuth1TemporaryCredential)

# Whether or not the grant is still active: revoking twice is still success (see revoke_access). By the app's ID or
# by the grant's (the ConnectedApp's), always within the account.
_GRANT_AND_APP = (
    select(_grants.c.id.label("grant_id"), *(_apps.c[name] for name in AppRow.__annotations__))
    .join(_apps, _apps.c.id == _grants.c.app_id)
    .where(_grants.c.account_id == bindparam("account_id"))
)
_GRANT_OF_APP = _GRANT_AND_APP.where(_grants.c.app_id == bindparam("app_id"))
_GRANT_BY_ID = _GRANT_AND_APP.where(_grants.c.id == bindparam("grant_id"))
NOT_CONNECTED = "This app is not connected to your account."


def _bulk_revocation(*, one_grant: bool) -> tuple[Update, ...]:
    """The UPDATEs, for one grant of the account or all of them: the grant, then OAuth 2.0 tokens and codes, then
    OAuth 1.0a token credentials and temporary credentials approved but not yet exchanged. Bind names differ from
    column names: an UPDATE reserves those for its SET values."""

    def scope(table: Table, done_column: str) -> list[ColumnElement[bool]]:
        criteria = [table.c.account_id == bindparam("of_account"), table.c[done_column].is_(None)]
        if one_grant:
            criteria.append((table.c.id if table is _grants else table.c.grant_id) == bindparam("of_grant"))
        return criteria

    now = bindparam("now", type_=_grants.c.revoked_at.type)
    # Each ended row says what it still held, for the receipt (``receipts.tokens_ended``): expired and rotated rows
    # end too (a longer lifetime configured later cannot bring one back) but count for nothing. Plain columns, judged
    # in Python: SQLite 3.40 evaluates ``IS NULL`` wrongly inside RETURNING.
    held = (_tokens.c.access_expires_at, _tokens.c.refresh_expires_at, _tokens.c.refresh_used_at)
    return (
        update(_grants).where(*scope(_grants, "revoked_at")).values(revoked_at=now),
        update(_tokens).where(*scope(_tokens, "revoked_at")).values(revoked_at=now).returning(*held),
        update(_codes).where(*scope(_codes, "used_at")).values(used_at=now),
        update(_oauth1_tokens).where(*scope(_oauth1_tokens, "revoked_at")).values(revoked_at=now)
        .returning(_oauth1_tokens.c.id),
        update(_oauth1_temporary).where(*scope(_oauth1_temporary, "used_at")).values(used_at=now),
    )


_REVOKE_ALL = _bulk_revocation(one_grant=False)
# One grant: an app connects through one protocol only, so only that protocol's tables are touched (the grant's
# UPDATE, then two more), which keeps revoking an app at the same statements as before OAuth 1.0a.
_REVOKE_ONE_BY_PROTOCOL = {
    protocol: tuple(statement for index, statement in enumerate(_bulk_revocation(one_grant=True))
                    if index == 0 or (index in (1, 2)) == (protocol == OAUTH2))
    for protocol in (OAUTH1, OAUTH2)
}


@dataclass(frozen=True)
class RevokedApp:
    app: AppRow
    receipt: Receipt


@dataclass(frozen=True)
class RevokedGrants:
    grants: int  # how many grants ended
    receipt: Receipt


async def revoke_access(
    db: AsyncSession, *, account: Account, app_id: uuid.UUID | None = None, grant_id: uuid.UUID | None = None,
    actor: Actor = NOBODY,
) -> RevokedApp:
    """End the account's grant to the app (named by the app's ID or by the grant's, a ConnectedApp's) and kill every
    token and pending code of it, in one transaction with its APP_REVOKED event.

    A concurrent revoke of the same app that got there first leaves nothing to update, which is still success: so
    the grant is looked up whether or not it is still active (revoking is idempotent), and only an app this account
    never connected is ``NotFound``. Only the revoke that ended the grant records the event; the other's receipt
    counts nothing.
    """
    row = None
    if grant_id is not None:
        row = (await db.execute(_GRANT_BY_ID, {"grant_id": grant_id, "account_id": account.id})).first()
    elif app_id is not None:
        row = (await db.execute(_GRANT_OF_APP, {"app_id": app_id, "account_id": account.id})).first()
    if row is None:
        raise NotFound(NOT_CONNECTED, field="appId")
    async with transaction(db):
        revoked = await revoke_grants(db, account_id=account.id, grant_id=row.grant_id, protocol=row.protocol)
        if revoked.grants:
            await record_event(db, account_id=account.id, kind=Kind.APP_REVOKED, actor=actor, app_id=row.id,
                               at=revoked.receipt.ended_at,
                               details={"app_name": row.name, **revoked.receipt.as_details()})
    return RevokedApp(app=cast(AppRow, row), receipt=revoked.receipt)


async def revoke_grants(db: AsyncSession, *, account_id: uuid.UUID, grant_id: uuid.UUID | None = None,
                        protocol: str = OAUTH2, now: datetime | None = None) -> RevokedGrants:
    """End the account's grant (or, without ``grant_id``, all of them) with every token and unused code, in bulk
    UPDATEs inside the caller's transaction: of the app's ``protocol`` for one grant, of both for all. Returns how
    many grants ended, and the receipt of the live tokens (OAuth 2.0 and OAuth 1.0a) that ended."""
    ended_at = now or utcnow()
    params: dict[str, object] = {"of_account": account_id, "now": ended_at}
    if grant_id is not None:
        params["of_grant"] = grant_id
    grants, *rest = _REVOKE_ONE_BY_PROTOCOL[protocol] if grant_id is not None else _REVOKE_ALL
    ended = await db.execute(grants, params)
    receipt = nothing_ended(ended_at)
    for statement in rest:
        result = await db.execute(statement, params)
        if statement.table is _tokens:
            receipt = receipt + tokens_ended(result.all(), ended_at)
        elif statement.table is _oauth1_tokens:
            # Token credentials do not expire: every one that was not yet revoked was live.
            receipt = receipt + Receipt(access_tokens=len(result.all()), refresh_tokens=0, sessions=0,
                                        ended_at=ended_at)
    # Counted before the caller commits: a commit that then fails (the database gone) overcounts, and a metric may.
    metrics.TOKENS_REVOKED.labels("access_revoked").inc(receipt.access_tokens)
    # an UPDATE's result (SQLAlchemy's advice: cast)
    return RevokedGrants(grants=int(cast("CursorResult[Any]", ended).rowcount), receipt=receipt)


# --- the token endpoint's thread (sync) ------------------------------------------------------------------------------


def end_tokens(session: Session, *, grant_id: uuid.UUID, criteria: ColumnElement[bool], reason: str) -> None:
    """Lock the grant (``locks``), then end its matching live tokens in one bulk UPDATE, committed on its own.
    ``reason`` files the ended tokens in the ``consentry_oauth_tokens_revoked`` metric."""
    try:
        lock_grant(session, grant_id)
        ended = session.execute(
            update(OAuthToken)
            .where(col(OAuthToken.grant_id) == grant_id, criteria, col(OAuthToken.revoked_at).is_(None))
            .values(revoked_at=utcnow())
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    metrics.TOKENS_REVOKED.labels(reason).inc(cast("CursorResult[Any]", ended).rowcount)


def revoke_tokens_of_code(session: Session, *, grant_id: uuid.UUID, code_id: uuid.UUID) -> None:
    """End every token issued from one code (RFC 6749 §4.1.2: the code was replayed)."""
    end_tokens(session, grant_id=grant_id, criteria=col(OAuthToken.code_id) == code_id, reason="code_replay")


def revoke_family(session: Session, *, grant_id: uuid.UUID, family_id: uuid.UUID,
                  reason: str = "reuse_detected") -> None:
    """Revoke every token descended from one code (RFC 9700 §4.14.2: refresh token reuse)."""
    end_tokens(session, grant_id=grant_id, criteria=col(OAuthToken.family_id) == family_id, reason=reason)


def revoke_token(session: Session, *, view: TokenView) -> None:
    """RFC 7009: revoking a refresh token also revokes every access token of its family; revoking an access token
    ends its row, refresh token included."""
    if view.is_refresh_token:
        revoke_family(session, grant_id=view.row.grant_id, family_id=view.row.family_id,
                      reason="revocation_endpoint")
        return
    end_tokens(session, grant_id=view.row.grant_id, criteria=col(OAuthToken.id) == view.row.id,
               reason="revocation_endpoint")
