"""Grants (what one account allowed one app): the connected-apps list and the consent decision (revoking is in
``app.services.oauth.revocation``).

A pending ``AuthorizationRequest`` is a validated ``/oauth/authorize`` call waiting for the person. It is bound to
the login session that made it, so only that session can approve or deny it, once.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, CursorResult, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engines import transaction
from app.models import Account, App, AuthorizationRequest, Grant, utcnow
from app.models.base import detached_from_row, table_of
from app.services.errors import Invalid, NotFound
from app.services.oauth.codes import add_authorization_code
from app.services.paging import After, KeysetList, ListPage
from app.services.permissions import join_scopes, split_scopes
from app.services.security_events import NOBODY, Actor, Kind, record_event
from app.settings import Settings


@dataclass(frozen=True)
class PendingAuthorization:
    request: AuthorizationRequest
    app: App


@dataclass(frozen=True)
class ConsentAnswer:
    """What goes back to the app (``app.oauth.redirects`` turns it into the redirect): a single-use ``code`` when
    the person approved or a grant already covered the request, none when they declined."""

    redirect_uri: str
    state: str | None
    code: str | None


# --- connected apps ---------------------------------------------------------------------------------------------


def _active_grants(account: Account) -> tuple[ColumnElement[bool], ...]:
    return (col(Grant.account_id) == account.id, col(Grant.revoked_at).is_(None))


class GrantRow(Protocol):
    """A connected app as lists show it: a read-only row of its grant (a ``Grant`` has the same attributes)."""

    id: uuid.UUID
    app_id: uuid.UUID
    scopes: str
    authorized_at: datetime
    last_used_at: datetime | None
    last_used_ip: str | None  # where from (shown masked)
    last_used_location: str | None


# Built once, not per call: building a statement costs more than the database spends running these. Core, not ORM:
# a page is read once and thrown away, and plain rows cost a fraction of ORM objects to build.
_grants = table_of(Grant)
_CONNECTED_LIST = KeysetList.build(
    [_grants.c[name] for name in GrantRow.__annotations__],
    where=[_grants.c.account_id == bindparam("account_id"), _grants.c.revoked_at.is_(None)],
    sort=func.coalesce(_grants.c.last_used_at, _grants.c.authorized_at), id_column=_grants.c.id, id_ascending=True,
)


async def list_connected_apps(
    db: AsyncSession, *, account: Account, limit: int, after: After | None = None
) -> ListPage[GrantRow]:
    """One page of active grants, most recently used first, with how many there are in all (one statement)."""
    page = await _CONNECTED_LIST.read(db, {"account_id": account.id}, limit=limit, after=after)
    return page


def position_of(grant: GrantRow) -> After:
    """Where the page after ``grant`` starts."""
    return After(key=grant.last_used_at or grant.authorized_at, id=grant.id)


_apps_table = table_of(App)
# A connected app and its app in one statement, for its page (Core rows: only read).
_CONNECTED_WITH_APP = (
    select(*(_grants.c[name] for name in GrantRow.__annotations__),
           *(column.label(f"of_app_{column.name}") for column in _apps_table.c))
    .join(_apps_table, _apps_table.c.id == _grants.c.app_id)
    .where(_grants.c.id == bindparam("grant_id"), _grants.c.account_id == bindparam("account_id"),
           _grants.c.revoked_at.is_(None))
)


async def get_connected_app_with_app(
    db: AsyncSession, *, account: Account, grant_id: uuid.UUID | None
) -> tuple[GrantRow, App]:
    """One of the account's connected apps with its app (one statement); NotFound for anything else."""
    row = None if grant_id is None else (
        await db.execute(_CONNECTED_WITH_APP, {"grant_id": grant_id, "account_id": account.id})).first()
    if row is None:
        raise NotFound("No such connected app.", field="id")
    values = row._mapping
    app = detached_from_row(App, {column.name: values[f"of_app_{column.name}"] for column in _apps_table.c})
    return row, app


async def get_connected_app(db: AsyncSession, *, account: Account, grant_id: uuid.UUID) -> Grant:
    grant = (
        await db.execute(select(Grant).where(col(Grant.id) == grant_id, *_active_grants(account)))
    ).scalar_one_or_none()
    if grant is None:
        raise NotFound("No such connected app.", field="id")
    return grant


# --- the authorization decision ---------------------------------------------------------------------------------


async def create_authorization_request(
    db: AsyncSession, *, account: Account, session_id: uuid.UUID, app: App, redirect_uri: str, scopes: list[str],
    state: str | None, code_challenge: str, code_challenge_method: str, settings: Settings,
) -> AuthorizationRequest:
    """Store a validated authorization request for the person to decide on (valid for a few minutes)."""
    now = utcnow()
    request = AuthorizationRequest(
        session_id=session_id, account_id=account.id, app_id=app.id, redirect_uri=redirect_uri,
        scopes=join_scopes(scopes), state=state, code_challenge=code_challenge,
        code_challenge_method=code_challenge_method, created_at=now,
        expires_at=now + settings.authorization_request_lifetime,
    )
    async with transaction(db):
        db.add(request)
    return request


def is_loopback_uri(uri: str) -> bool:
    """Whether ``uri`` points at the person's own device: any process there can listen on it (RFC 8252 §8.3).

    Wider than what registration allows plain http for: ``*.localhost`` names (RFC 6761 §6.3), the whole
    127.0.0.0/8, IPv4-mapped loopback and the unspecified address all reach the device too."""
    try:
        host = (urlsplit(uri).hostname or "").rstrip(".")
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return address.is_loopback or address.is_unspecified or (mapped is not None and mapped.is_loopback)


def may_skip_consent(*, app: App, redirect_uri: str) -> bool:
    """Whether a grant that covers a request may answer it with a code and no interaction.

    Only when the code can reach nobody but the app: a confidential client (it must prove itself at the token
    endpoint) redirecting to a host of its own. A public client's ``client_id`` and a loopback redirect can be used
    by any program on the device, and PKCE only proves that whoever redeems the code started the flow, not who
    they are (RFC 6749 §10.2, RFC 8252 §8.6): those requests always show the consent page."""
    return app.confidential and not is_loopback_uri(redirect_uri)


async def _covering_grant(
    db: AsyncSession, *, account: Account, app_id: uuid.UUID, scopes: list[str], lock: bool = False
) -> Grant | None:
    """The account's active grant to the app when it covers ``scopes``; with ``lock``, row-locked for issuing a
    code (the lock order of ``app.services.oauth.locks``: a revoke racing the issue either comes first and leaves no
    grant to cover, or waits for the code and ends it with the grant)."""
    statement = select(Grant).where(col(Grant.app_id) == app_id, *_active_grants(account))
    grant = (await db.execute(statement.with_for_update() if lock else statement)).scalar_one_or_none()
    return grant if grant is not None and set(scopes) <= set(split_scopes(grant.scopes)) else None


async def grant_covers(db: AsyncSession, *, account: Account, app_id: uuid.UUID, scopes: list[str]) -> bool:
    """Whether the account's active grant to the app already includes every one of ``scopes``."""
    return await _covering_grant(db, account=account, app_id=app_id, scopes=scopes) is not None


async def authorize_with_existing_grant(
    db: AsyncSession, *, account: Account, app: App, redirect_uri: str, scopes: list[str], state: str | None,
    code_challenge: str, code_challenge_method: str, settings: Settings,
) -> ConsentAnswer | None:
    """A fresh code when an active grant already covers every requested scope and the app may skip consent
    (``may_skip_consent``), else None: the person must be asked."""
    if not may_skip_consent(app=app, redirect_uri=redirect_uri):
        return None
    async with transaction(db):
        grant = await _covering_grant(db, account=account, app_id=app.id, scopes=scopes, lock=True)
        if grant is None:
            return None
        code = add_authorization_code(
            db, grant=grant, redirect_uri=redirect_uri, scopes=join_scopes(scopes), code_challenge=code_challenge,
            code_challenge_method=code_challenge_method, lifetime=settings.authorization_code_lifetime,
        )
    return ConsentAnswer(redirect_uri=redirect_uri, state=state, code=code)


async def get_authorization_request(
    db: AsyncSession, *, account: Account, session_id: uuid.UUID, request_id: uuid.UUID | None,
    expired_too: bool = False,
) -> PendingAuthorization:
    """A request this session may still decide on. Another account's or session's is indistinguishable from an
    unknown one (NotFound); a decided one is Invalid, and so is an expired one unless ``expired_too`` (declining
    needs no fresh request: the redirect URI was checked when the request was made)."""
    row = None
    if request_id is not None:
        row = (
            await db.execute(
                select(AuthorizationRequest, App)
                .join(App, col(App.id) == col(AuthorizationRequest.app_id))
                .where(col(AuthorizationRequest.id) == request_id)
            )
        ).first()
    if row is None or row[0].account_id != account.id or row[0].session_id != session_id:
        raise NotFound("No such authorization request.", field="requestId")
    request, app = row
    if request.decided_at is not None:
        # Says what happened: after "Authorize app" and Back, "nothing was shared" would be untrue.
        if request.decision == "approved":
            raise Invalid(f"You already authorized {app.name} with this request, so it is connected to your "
                          "account. Go back to the app.", field="requestId")
        raise Invalid("You already declined this request, so nothing was shared. Go back to the app and start "
                      "again.", field="requestId")
    if request.expires_at <= utcnow() and not expired_too:
        raise Invalid("This authorization request has expired, so nothing was shared. Start again from the app.",
                      field="requestId")
    return PendingAuthorization(request=request, app=app)


async def _decide(db: AsyncSession, *, request: AuthorizationRequest, decision: str) -> None:
    """Mark the request decided inside the caller's transaction; a second click finds nothing left to decide."""
    decided = await db.execute(
        update(AuthorizationRequest)
        .where(col(AuthorizationRequest.id) == request.id, col(AuthorizationRequest.decided_at).is_(None))
        .values(decided_at=utcnow(), decision=decision)
    )
    if cast("CursorResult[Any]", decided).rowcount != 1:  # an UPDATE's result (SQLAlchemy's advice: cast)
        raise Invalid("This authorization request was already answered. Go back to the app.", field="requestId")


async def upsert_grant(db: AsyncSession, *, account_id: uuid.UUID, app_id: uuid.UUID, scopes: str) -> Grant:
    """The (account, app) grant after an approval (OAuth 2.0 or 1.0a): an active one gains the requested scopes, a
    revoked one comes back with exactly them. The row is locked, as the token endpoint does, to serialise with
    revokes. Inside the caller's transaction."""
    now = utcnow()
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    await db.execute(
        insert(Grant)
        .values(id=uuid.uuid4(), account_id=account_id, app_id=app_id, scopes=scopes, authorized_at=now)
        .on_conflict_do_nothing(index_elements=["account_id", "app_id"])
    )
    grant = (
        await db.execute(
            select(Grant)
            .where(col(Grant.account_id) == account_id, col(Grant.app_id) == app_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    requested = split_scopes(scopes)
    if grant.revoked_at is not None:
        # A new connection: earlier scopes and usage belong to the access the person already took back.
        grant.scopes, grant.last_used_at, grant.revoked_at = join_scopes(requested), None, None
    else:
        grant.scopes = join_scopes([*split_scopes(grant.scopes), *requested])
    grant.authorized_at = now
    return grant


async def approve_authorization_request(
    db: AsyncSession, *, account: Account, session_id: uuid.UUID, request_id: uuid.UUID | None, settings: Settings,
    actor: Actor = NOBODY,
) -> ConsentAnswer:
    """Approve: decide the request, update the grant, record APP_AUTHORIZED (with the permissions given) and issue a
    60-second code, all in one transaction."""
    pending = await get_authorization_request(db, account=account, session_id=session_id, request_id=request_id)
    request = pending.request
    async with transaction(db):
        await _decide(db, request=request, decision="approved")
        grant = await upsert_grant(db, account_id=request.account_id, app_id=request.app_id, scopes=request.scopes)
        await record_event(db, account_id=account.id, kind=Kind.APP_AUTHORIZED, actor=actor, app_id=pending.app.id,
                           at=grant.authorized_at,
                           details={"app_name": pending.app.name, "scopes": split_scopes(request.scopes)})
        code = add_authorization_code(
            db, grant=grant, redirect_uri=request.redirect_uri, scopes=request.scopes,
            code_challenge=request.code_challenge, code_challenge_method=request.code_challenge_method,
            lifetime=settings.authorization_code_lifetime,
        )
    return ConsentAnswer(redirect_uri=request.redirect_uri, state=request.state, code=code)


async def deny_authorization_request(
    db: AsyncSession, *, account: Account, session_id: uuid.UUID, request_id: uuid.UUID | None
) -> ConsentAnswer:
    """Deny: decide the request; the answer carries no code. An expired request can still be declined, so Cancel on
    a page left open sends the person back to the app."""
    pending = await get_authorization_request(db, account=account, session_id=session_id, request_id=request_id,
                                              expired_too=True)
    async with transaction(db):
        await _decide(db, request=pending.request, decision="denied")
    return ConsentAnswer(redirect_uri=pending.request.redirect_uri, state=pending.request.state, code=None)
