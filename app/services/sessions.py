"""First-party login sessions: sign in, recognise a token, list, and log out.

A session is valid while it is not revoked, has been active within the idle timeout and is younger than the
absolute lifetime, and its account is not disabled. Every check reads stored times, so a token that was logged out
or expired is refused on its very next request by every server process.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, Integer, and_, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import metrics
from app.db.engines import Database, transaction
from app.models import Account, LoginSession, SecurityEvent, utcnow
from app.models.base import detached_from_row, table_of
from app.services.accounts import WRONG_CREDENTIALS, check_credentials_by, username_key
from app.services.devices import DeviceInfo, describe_location, describe_user_agent
from app.services.digests import digest, new_token
from app.services.errors import DomainError, Invalid, NotFound, RateLimited
from app.services.known_devices import KnownDevice
from app.services.paging import After, KeysetList, ListPage
from app.services.passwords import in_password_thread
from app.services.ratelimit import LoginLimiter, counted_attempt
from app.services.receipts import Receipt, sessions_ended
from app.services.security_events import (
    NOBODY,
    Actor,
    Kind,
    device_key,
    record_event,
    record_event_sync,
    record_limited_sign_in_sync,
)
from app.services.text import clipped
from app.settings import Settings

# Before any session: the live-session count of a sign-in without a policy counts every unrevoked session.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# last_active_at is written at most this often per session, not on every request.
ACTIVITY_WRITE_INTERVAL = timedelta(minutes=1)
CLIENT_KINDS = ("web", "mobile", "api")


@dataclass(frozen=True)
class SessionPolicy:
    idle_timeout: timedelta
    absolute_lifetime: timedelta
    # How many live sessions one account may hold; a sign-in past it ends the least recently active ones.
    max_live_sessions: int | None = None

    @classmethod
    def of(cls, settings: Settings) -> SessionPolicy:
        return cls(idle_timeout=settings.session_idle_timeout, absolute_lifetime=settings.session_absolute_lifetime,
                   max_live_sessions=settings.max_sessions_per_account)


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session: LoginSession
    token: str  # the raw token: handed to the client once, never stored
    # Sessions this sign-in ended to keep the account within its limit of live sessions, least recently active first.
    ended_sessions: tuple[SessionRow, ...] = ()


@dataclass(frozen=True)
class Authenticated:
    account: Account
    session: LoginSession


class SessionRow(Protocol):
    """A session as lists show it: a read-only row (a ``LoginSession`` has the same attributes)."""

    id: uuid.UUID
    client_kind: str
    device: str | None
    browser: str | None
    os: str | None
    ip_address: str | None
    location: str | None
    signed_in_at: datetime
    last_active_at: datetime
    last_ip_address: str | None  # where it was last active from, when not where it signed in
    last_location: str | None


_sessions = table_of(LoginSession)
_accounts = table_of(Account)

# A live session, with the time bounds as parameters (``_window``): statements that use it can be built once at
# import, because building a statement costs more than the database spends running these. The one definition of
# "live", in Core columns, which ORM and Core statements alike accept.
_ACTIVE = and_(
    _sessions.c.revoked_at.is_(None),
    _sessions.c.last_active_at > bindparam("idle_after"),
    _sessions.c.signed_in_at > bindparam("born_after"),
)
# Every request that carries a token runs this, so it is Core, not ORM: the ORM's per-statement bookkeeping and
# identity map cost more than the query (about 0.1 ms per request), and the two objects are then built from the
# row the way the ORM would, outside any session.
_SIGNED_IN = (
    select(*(column.label(f"s_{column.name}") for column in _sessions.c),
           *(column.label(f"a_{column.name}") for column in _accounts.c))
    .join(_accounts, _accounts.c.id == _sessions.c.account_id)
    .where(
        _sessions.c.token_digest == bindparam("digest"),
        _ACTIVE,
        _accounts.c.is_disabled.is_(False),
    )
)
_SESSION_COLUMNS = [(f"s_{column.name}", column.name) for column in _sessions.c]
_ACCOUNT_COLUMNS = [(f"a_{column.name}", column.name) for column in _accounts.c]
# The UPDATEs built at import are Core, not ORM: the ORM copies an UPDATE on every execution (to annotate it), and
# the copy's SQL cache key is then computed afresh, about 40 µs a request; a Core statement computes it once.
# Nothing needs the ORM session synced: the login a request holds is never in it (authenticate_token).
_TOUCH = (
    update(_sessions)
    .where(_sessions.c.id == bindparam("session_id"))
    .values(last_active_at=bindparam("now"), last_ip_address=bindparam("last_ip"),
            last_location=bindparam("last_place"))
)
# Core, not ORM: a page is read once and thrown away, and plain rows cost a fraction of ORM objects to build
# (identity map, instance state) on the settings page, the service's most frequent request.
_LIVE_LIST = KeysetList.build(
    [_sessions.c[name] for name in SessionRow.__annotations__],
    where=[_sessions.c.account_id == bindparam("account_id"), _ACTIVE],
    sort=_sessions.c.last_active_at, id_column=_sessions.c.id, id_ascending=False,
)
# Other sessions of an account, ended with a reason: the live ones (what "Log out all other sessions" and a
# password change count: the sessions the person could see), and the expired ones never ended (a password change
# ends those too, so that a longer timeout configured later cannot bring one back).
_END_OTHERS = (
    update(_sessions)
    .where(  # not "account_id": an UPDATE reserves its columns' names for bind parameters
        _sessions.c.account_id == bindparam("of_account"),
        _sessions.c.id != bindparam("current_session_id"),
    )
    .values(revoked_at=bindparam("now"), revoked_reason=bindparam("reason"))
)
_END_LIVE_OTHERS = _END_OTHERS.where(_ACTIVE)
_END_EXPIRED_OTHERS = _END_OTHERS.where(_sessions.c.revoked_at.is_(None))
# The account's live sessions past the newest ``keep`` by last activity: what a sign-in ends when the account holds
# more than its limit. SESSION_LIMIT_REASON is what the person is told ended them.
SESSION_LIMIT_REASON = "session_limit"
_END_OVER_LIMIT = (
    update(_sessions)
    .where(_sessions.c.id.in_(
        select(_sessions.c.id)
        # Never the session being opened: with a small limit or another host's clock it need not sort first.
        .where(_sessions.c.account_id == bindparam("of_account"), _sessions.c.id != bindparam("opened"), _ACTIVE)
        .order_by(_sessions.c.last_active_at.desc(), _sessions.c.id.desc())
        .offset(bindparam("keep_others", type_=Integer))
    ))
    .values(revoked_at=bindparam("now"), revoked_reason=SESSION_LIMIT_REASON)
    .returning(*(_sessions.c[name] for name in SessionRow.__annotations__))
)
# One session by its token, when it is live: the one a browser's cookie named before the browser signed in again.
_END_BY_TOKEN = (
    update(_sessions)
    .where(_sessions.c.token_digest == bindparam("digest"), _ACTIVE)
    .values(revoked_at=bindparam("now"), revoked_reason="logged_out")
)


def _window(policy: SessionPolicy, now: datetime) -> dict[str, datetime]:
    """The parameters of ``_ACTIVE`` at ``now``."""
    return {"idle_after": now - policy.idle_timeout, "born_after": now - policy.absolute_lifetime}


# Core, not the ORM's unit of work: a sign-in is one INSERT, and flushing an object costs more than running it.
_OPEN = insert(_sessions)
# A sign-in's INSERT, bound to the credential it checked: the row is written only while the account still has the
# password hash that was verified (and is not disabled), in the same statement. On PostgreSQL the SELECT takes a
# share lock on the account row, so a password change (which UPDATEs that row, then ends the other sessions) either
# waits for this INSERT and then ends the new session, or commits first and this statement, re-checking the row,
# writes nothing. SQLite runs the one statement under its write lock, which orders it the same way. Without it a
# password change landing during the tens of milliseconds of the hash check missed the session it opened.
_OPEN_IF_CREDENTIAL_HOLDS = insert(_sessions).from_select(
    [column.name for column in _sessions.c],
    select(*(bindparam(f"new_{column.name}", type_=column.type) for column in _sessions.c))
    .select_from(_accounts)
    .where(
        _accounts.c.id == bindparam("checked_account"),
        _accounts.c.password_hash == bindparam("checked_hash"),
        _accounts.c.is_disabled.is_(False),
    )
    .with_for_update(read=True),
).execution_options(preserve_rowcount=True)  # SQLAlchemy reports an INSERT's row count only when asked


def _new_session(
    *, account: Account, token: str, ip_address: str | None, user_agent: str | None, client_kind: str,
    signed_in_at: datetime | None = None, last_active_at: datetime | None = None,
    described: tuple[DeviceInfo, str | None] | None = None,
) -> dict[str, object]:
    """The new session's row. Blocking: the first device and location lookups load their data (~0.2 s of CPU) and
    an unseen user agent runs ua-parser's regexes, so this runs off the event loop (``described``: done already)."""
    device, location = described or (describe_user_agent(user_agent), describe_location(ip_address))
    now = signed_in_at or utcnow()
    return {
        "id": uuid.uuid4(),
        "account_id": account.id,
        "token_digest": digest(token),
        "client_kind": client_kind if client_kind in CLIENT_KINDS else "api",
        "ip_address": clipped(ip_address, 45),  # a proxy's X-Forwarded-For can say anything
        "user_agent": (user_agent or "")[:512] or None,
        # A user agent can describe itself at any length; the columns hold 128 characters.
        "device": clipped(device.device, 128),
        "browser": clipped(device.browser, 128),
        "os": clipped(device.os, 128),
        "location": clipped(location, 128),
        "signed_in_at": now,
        "last_active_at": last_active_at or now,
        "revoked_at": None,
        "revoked_reason": None,
        "last_ip_address": None,
        "last_location": None,
        "must_change_password": False,
    }


_events = table_of(SecurityEvent)


def _signed_in_before(label: str, *criteria: Any) -> Any:
    """Whether the account has a sign-in on its timeline matching ``criteria`` (its history)."""
    return (select(_events.c.id).where(_events.c.account_id == _accounts.c.id,
                                       _events.c.kind == Kind.SIGNED_IN.value, *criteria)
            .exists().label(label))


# The sign-in's one lookup: the account, how many live sessions it has (so the UPDATE above runs only when a sign-in
# takes the account past its limit), and what its sign-in history says of this device and country (for the
# timeline's "new device" and "new country"): the usual sign-in stays one SELECT, then one transaction of two INSERTs.
_SEEN_ANY, _SEEN_DEVICE, _SEEN_PLACE = (
    _signed_in_before("signed_in_before"),
    _signed_in_before("seen_device", _events.c.device_key == bindparam("device_key")),
    _signed_in_before("seen_place", _events.c.location == bindparam("location")),
)
_ACCOUNT_FOR_SIGN_IN = (
    select(*_accounts.c, select(func.count()).select_from(_sessions)
           .where(_sessions.c.account_id == _accounts.c.id, _ACTIVE).scalar_subquery().label("live_sessions"),
           _SEEN_ANY, _SEEN_DEVICE, _SEEN_PLACE)
    .where(_accounts.c.username_key == bindparam("key"))
)


def _end_sessions_over_limit(connection: Connection, *, account_id: uuid.UUID, opened: uuid.UUID,
                             policy: SessionPolicy | None, live_before: int, now: datetime) -> tuple[SessionRow, ...]:
    """End the account's least recently active live sessions beyond ``policy.max_live_sessions`` (one UPDATE),
    when the new session took it past the limit (``live_before`` did not count the new one). Two sign-ins racing
    at the limit can each see room; the next sign-in ends what they left over."""
    if policy is None or policy.max_live_sessions is None or live_before + 1 <= policy.max_live_sessions:
        return ()
    ended = connection.execute(_END_OVER_LIMIT, {
        "of_account": account_id, "opened": opened, "keep_others": policy.max_live_sessions - 1, "now": now,
        **_window(policy, now)}).all()
    return tuple(sorted(ended, key=lambda row: row.last_active_at))


def _check_and_open(
    database: Database, *, username: str, password: str, ip_address: str | None, user_agent: str | None,
    client_kind: str, policy: SessionPolicy | None, replacing_token: str | None,
) -> SignedIn:
    token = new_token()
    now = utcnow()
    window = _window(policy, now) if policy is not None else {"idle_after": _EPOCH, "born_after": _EPOCH}
    device, location = described = describe_user_agent(user_agent), describe_location(ip_address)
    key = device_key(device=device.device, browser=device.browser, os=device.os)
    # The lookup and the password check on an autocommit connection (no BEGIN or COMMIT around a read), ...
    with database.sync_autocommit_engine.connect() as connection:
        account, row = check_credentials_by(
            connection, lookup=_ACCOUNT_FOR_SIGN_IN, params={**window, "device_key": key, "location": location},
            username=username, password=password)
    values = _new_session(account=account, token=token, ip_address=ip_address, user_agent=user_agent,
                          client_kind=client_kind, signed_in_at=now, described=described)
    history = row[_SEEN_ANY.name]
    # ... and the writes in one transaction: the session and its SIGNED_IN event are committed together or not at all.
    with database.sync_engine.begin() as connection:
        opened = connection.execute(_OPEN_IF_CREDENTIAL_HOLDS, {
            **{f"new_{name}": value for name, value in values.items()},
            "checked_account": account.id, "checked_hash": account.password_hash})
        if opened.rowcount != 1:  # the password changed (or the account was disabled) while it was being checked
            raise Invalid(WRONG_CREDENTIALS, field="password")
        record_event_sync(
            connection, account_id=account.id, kind=Kind.SIGNED_IN, at=now,
            actor=Actor.of(cast(uuid.UUID, values["id"]), detached_from_row(LoginSession, values)),
            is_new_device=bool(history and key is not None and not row[_SEEN_DEVICE.name]),
            is_new_country=bool(history and location is not None and not row[_SEEN_PLACE.name]))
        if replacing_token is not None:
            connection.execute(_END_BY_TOKEN, {"digest": digest(replacing_token), "now": now, **window})
        ended = _end_sessions_over_limit(connection, account_id=account.id, opened=cast(uuid.UUID, values["id"]),
                                         policy=policy, live_before=int(row["live_sessions"]), now=now)
    return SignedIn(account=account, session=detached_from_row(LoginSession, values), token=token,
                    ended_sessions=ended)


def _record_limited(database: Database, *, username: str, ip_address: str | None, user_agent: str | None) -> None:
    """The SIGN_IN_LIMITED event of a refused attempt on an existing account (one statement, so it stands alone)."""
    device = describe_user_agent(user_agent)
    actor = Actor(session_id=None, device=device.device, browser=device.browser, os=device.os,
                  location=describe_location(ip_address), ip_address=ip_address)
    with database.sync_autocommit_engine.connect() as connection:
        record_limited_sign_in_sync(connection, username_key=username_key(username), actor=actor, now=utcnow())


async def sign_in(
    database: Database,
    *,
    username: str,
    password: str,
    ip_address: str | None,
    user_agent: str | None,
    client_kind: str = "web",
    limiter: LoginLimiter | None = None,
    policy: SessionPolicy | None = None,
    device: KnownDevice | None = None,
    replacing_token: str | None = None,
) -> SignedIn:
    """Check the credentials and open a new session with a fresh random token (no session fixation).

    ``replacing_token`` is the session token the client held until now (a browser's cookie, when a second tab signs
    in too): that session ends, since nobody could use or see it any more as this client's.

    With a ``policy`` that limits live sessions, the account's least recently active sessions past the limit end
    (reason ``SESSION_LIMIT_REASON``) and are named in ``SignedIn.ended_sessions``, so the person is told.

    With a ``limiter``, every attempt counts against the IP's budget of failures and the account's (or, from a
    ``device`` that signed in to this account before, that device's own) first (``RateLimited`` when one is spent,
    before any password is checked); a success, or a failure on our side (the database unavailable), hands its
    count back.

    The sign-in is recorded on the account's security timeline (SIGNED_IN, flagged when the device or the country
    is new to the account's sign-in history) in the same transaction as the session; a sign-in refused by a limit
    is recorded too (SIGN_IN_LIMITED, at most once per ``LIMITED_EVENT_INTERVAL``), when the account exists.

    The account lookup, the password check, the device lookup and the INSERTs run together in one password thread,
    on the sync engines (the lookup on the autocommit one, which saves a BEGIN and a COMMIT around a read on
    PostgreSQL). The check has to leave the event loop anyway, and the statements cost less there than coming back
    to the loop for each: a thread hop per statement step with aiosqlite, and on a single core every return to the
    loop is a context switch into caches the password hash has just evicted.
    """
    try:
        async with counted_attempt(limiter, username_key=username_key(username), ip_address=ip_address,
                                   device=device):
            signed_in = await in_password_thread(functools.partial(
                _check_and_open, database, username=username, password=password, ip_address=ip_address,
                user_agent=user_agent, client_kind=client_kind, policy=policy,
                replacing_token=replacing_token))
    except RateLimited:
        metrics.SIGN_IN_LIMITED.inc()
        await asyncio.get_running_loop().run_in_executor(None, functools.partial(
            _record_limited, database, username=username, ip_address=ip_address, user_agent=user_agent))
        raise
    except DomainError:
        metrics.SIGN_IN_WRONG.inc()
        raise
    except Exception:
        metrics.SIGN_IN_ERROR.inc()
        raise
    metrics.SIGN_IN_SUCCESS.inc()
    return signed_in


async def open_session(
    db: AsyncSession,
    *,
    account: Account,
    ip_address: str | None,
    user_agent: str | None,
    client_kind: str = "web",
    signed_in_at: datetime | None = None,
    last_active_at: datetime | None = None,
) -> SignedIn:
    """A new session for ``account`` without a password check (demo data, tests)."""
    token = new_token()
    values = await asyncio.get_running_loop().run_in_executor(None, functools.partial(
        _new_session, account=account, token=token, ip_address=ip_address, user_agent=user_agent,
        client_kind=client_kind, signed_in_at=signed_in_at, last_active_at=last_active_at))
    async with transaction(db):
        await db.execute(_OPEN, values)
    return SignedIn(account=account, session=detached_from_row(LoginSession, values), token=token)


async def authenticate_token(db: AsyncSession, *, token: str, policy: SessionPolicy,
                             ip_address: str | None = None) -> Authenticated | None:
    """The live session and account behind a raw session token, or None. One SELECT; a rare activity UPDATE, which
    also records where the session is now when that is not where it signed in (``ip_address``, and its country)."""
    now = utcnow()
    row = (await db.execute(_SIGNED_IN, {"digest": digest(token), **_window(policy, now)})).first()
    if row is None:
        return None
    # Outside the ORM session, fully loaded: a later write of the same request that rolls back (a mutation
    # answering a userError) expires the session's objects, and reading an expired one would need IO.
    values = row._mapping
    session = detached_from_row(LoginSession, {name: values[label] for label, name in _SESSION_COLUMNS})
    account = detached_from_row(Account, {name: values[label] for label, name in _ACCOUNT_COLUMNS})
    if now - session.last_active_at >= ACTIVITY_WRITE_INTERVAL:
        last_ip, last_place = session.last_ip_address, session.last_location
        if ip_address is not None:
            moved = ip_address != session.ip_address
            last_ip = clipped(ip_address, 45) if moved else None
            if not moved:
                last_place = None
            elif last_ip != session.last_ip_address:  # a new place: look it up, off the event loop
                last_place = clipped(await asyncio.get_running_loop().run_in_executor(
                    None, describe_location, ip_address), 128)
        async with transaction(db):
            await db.execute(_TOUCH, {"session_id": session.id, "now": now, "last_ip": last_ip,
                                      "last_place": last_place})
        session.last_active_at, session.last_ip_address, session.last_location = now, last_ip, last_place
    return Authenticated(account=account, session=session)


async def list_sessions(
    db: AsyncSession, *, account: Account, policy: SessionPolicy, limit: int, after: After | None = None
) -> ListPage[SessionRow]:
    """One page of live sessions, newest activity first, with how many there are in all (one statement)."""
    return await _LIVE_LIST.read(
        db, {"account_id": account.id, **_window(policy, utcnow())}, limit=limit, after=after)


# The live sessions among some IDs, for the timeline's "which session did it" (one statement per page of events).
_LIVE_BY_IDS = select(*(_sessions.c[name] for name in SessionRow.__annotations__)).where(
    _sessions.c.id.in_(bindparam("ids", expanding=True)), _sessions.c.account_id == bindparam("account_id"), _ACTIVE)


async def live_sessions_by_ids(
    db: AsyncSession, *, account: Account, ids: list[uuid.UUID], policy: SessionPolicy
) -> dict[uuid.UUID, SessionRow]:
    """The account's live sessions among ``ids``, by ID (ended and other accounts' ones are left out)."""
    if not ids:
        return {}
    rows = (await db.execute(_LIVE_BY_IDS, {"ids": list(set(ids)), "account_id": account.id,
                                            **_window(policy, utcnow())})).all()
    return {row.id: row for row in rows}


def position_of(session: SessionRow) -> After:
    """Where the page after ``session`` starts."""
    return After(key=session.last_active_at, id=session.id)


async def get_session(
    db: AsyncSession, *, account: Account, session_id: uuid.UUID, policy: SessionPolicy
) -> LoginSession:
    session = (
        await db.execute(
            select(LoginSession).where(
                col(LoginSession.id) == session_id, col(LoginSession.account_id) == account.id, _ACTIVE
            ),
            _window(policy, utcnow()),
        )
    ).scalar_one_or_none()
    if session is None:
        raise NotFound("No such session.", field="sessionId")
    return session


# One live session of the account, ended; it says what it was, for the timeline's words.
_END_ONE = (
    update(_sessions)
    .where(_sessions.c.id == bindparam("session_id"), _sessions.c.account_id == bindparam("of_account"), _ACTIVE)
    .values(revoked_at=bindparam("now"), revoked_reason="logged_out")
    .returning(_sessions.c.device, _sessions.c.browser, _sessions.c.os, _sessions.c.location)
)


async def logout_session(
    db: AsyncSession, *, account: Account, session_id: uuid.UUID | None, policy: SessionPolicy,
    actor: Actor = NOBODY,
) -> Receipt:
    """End one of the account's live sessions, in one transaction with its event: SIGNED_OUT when ``actor`` is that
    session, else SESSION_LOGGED_OUT. Another account's or an unknown session → NotFound."""
    if session_id is None:
        raise NotFound("No such session.", field="sessionId")
    now = utcnow()
    async with transaction(db):
        ended = (await db.execute(_END_ONE, {"session_id": session_id, "of_account": account.id, "now": now,
                                             **_window(policy, now)})).first()
        if ended is None:
            raise NotFound("No such session.", field="sessionId")
        if session_id == actor.session_id:
            await record_event(db, account_id=account.id, kind=Kind.SIGNED_OUT, actor=actor, at=now)
        else:
            await record_event(db, account_id=account.id, kind=Kind.SESSION_LOGGED_OUT, actor=actor, at=now,
                               details={"session": {"device": ended.device, "browser": ended.browser,
                                                    "os": ended.os, "location": ended.location}})
    return sessions_ended(1, now)


async def logout_other_sessions(
    db: AsyncSession, *, account: Account, current_session_id: uuid.UUID, policy: SessionPolicy,
    actor: Actor = NOBODY,
) -> Receipt:
    """End every live session of the account except the current one, in one UPDATE, with its event (when any
    ended) in the same transaction. The receipt says how many ended."""
    now = utcnow()
    async with transaction(db):
        result = await db.execute(_END_LIVE_OTHERS, {
            "of_account": account.id, "current_session_id": current_session_id, "now": now,
            "reason": "logged_out_by_other", **_window(policy, now)})
        count = int(cast("CursorResult[Any]", result).rowcount)  # an UPDATE's result (SQLAlchemy's advice: cast)
        if count:
            await record_event(db, account_id=account.id, kind=Kind.OTHER_SESSIONS_LOGGED_OUT, actor=actor, at=now,
                               details={"count": count})
    return sessions_ended(count, now)


async def end_other_sessions(
    db: AsyncSession, *, account_id: uuid.UUID, current_session_id: uuid.UUID, policy: SessionPolicy, reason: str,
    now: datetime,
) -> int:
    """End every other session of the account, expired ones included, in the caller's transaction. Returns how many
    of them were live."""
    values = {"of_account": account_id, "current_session_id": current_session_id, "now": now, "reason": reason}
    live = await db.execute(_END_LIVE_OTHERS, {**values, **_window(policy, now)})
    await db.execute(_END_EXPIRED_OTHERS, values)
    return int(cast("CursorResult[Any]", live).rowcount)  # an UPDATE's result (SQLAlchemy's advice: cast)
