"""The security timeline: what happened to an account, recorded in the same transaction as the change itself.

Every service that changes something a person would want to know about (a sign-in, a logout, an app authorized
or revoked, a password change, "This wasn't me") calls ``record_event`` (or ``record_event_sync`` on a sync
connection) *inside its own transaction*, so there is never a change without its event nor an event without its
change: a failed event insert rolls the change back, and a change that rolls back takes its event along.

An event carries when, which session did it, and where that session was (device, browser, system, country, the
IP address, shown masked); plus, in ``details``, counts, scopes and names: never a token, a digest or a password.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Account, SecurityEvent, utcnow
from app.models.base import table_of
from app.services.errors import NotFound
from app.services.paging import After, KeysetList, ListPage
from app.services.text import clipped


class Kind(StrEnum):
    SIGNED_IN = "SIGNED_IN"
    SIGN_IN_LIMITED = "SIGN_IN_LIMITED"
    SIGNED_OUT = "SIGNED_OUT"
    SESSION_LOGGED_OUT = "SESSION_LOGGED_OUT"
    OTHER_SESSIONS_LOGGED_OUT = "OTHER_SESSIONS_LOGGED_OUT"
    APP_AUTHORIZED = "APP_AUTHORIZED"
    APP_PERMISSIONS_CHANGED = "APP_PERMISSIONS_CHANGED"
    APP_REVOKED = "APP_REVOKED"
    APP_EXPIRY_WARNING = "APP_EXPIRY_WARNING"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"  # noqa: S105 - an event kind, not a password
    ACCOUNT_SECURED = "ACCOUNT_SECURED"


class Where(Protocol):
    """Where something was done from: a session row (``LoginSession``, ``SessionRow``) has these attributes."""

    device: str | None
    browser: str | None
    os: str | None
    location: str | None
    ip_address: str | None


@dataclass(frozen=True)
class Actor:
    """Who did it: the session (None when no session did, e.g. a refused sign-in) and where it was."""

    session_id: uuid.UUID | None
    device: str | None = None
    browser: str | None = None
    os: str | None = None
    location: str | None = None
    ip_address: str | None = None

    @classmethod
    def of(cls, session_id: uuid.UUID | None, where: Where) -> Actor:
        """The session ``session_id`` as it was at ``where``; a session's last place wins over where it signed in."""
        last_ip = getattr(where, "last_ip_address", None)
        return cls(session_id=session_id, device=where.device, browser=where.browser, os=where.os,
                   location=getattr(where, "last_location", None) or where.location if last_ip else where.location,
                   ip_address=last_ip or where.ip_address)


NOBODY = Actor(session_id=None)

_VERSION = re.compile(r"\s+[\d][\w.]*$")


def family(name: str | None) -> str | None:
    """A browser or system without its version ("Firefox 127.0" → "Firefox"): an update is not a new device."""
    return _VERSION.sub("", name) if name else name


def device_key(*, device: str | None, browser: str | None, os: str | None) -> str | None:
    """What "the same device" means when a sign-in is compared with the account's history."""
    if not (device or browser or os):
        return None
    return "|".join(part or "" for part in (device, family(browser), family(os))).lower()[:200]


_events = table_of(SecurityEvent)
# Core, built once: it runs inside the transactions of the services' busiest writes.
_INSERT = insert(_events)


def event_values(
    *, account_id: uuid.UUID, kind: Kind, actor: Actor, at: datetime | None = None, app_id: uuid.UUID | None = None,
    details: Mapping[str, Any] | None = None, is_new_device: bool = False, is_new_country: bool = False,
) -> dict[str, Any]:
    """The row of one event."""
    return {
        "id": uuid.uuid4(), "account_id": account_id, "kind": kind.value, "at": at or utcnow(),
        "session_id": actor.session_id, "app_id": app_id,
        "device": clipped(actor.device, 128), "browser": clipped(actor.browser, 128), "os": clipped(actor.os, 128),
        "location": clipped(actor.location, 128), "ip_address": clipped(actor.ip_address, 45),
        "device_key": device_key(device=actor.device, browser=actor.browser, os=actor.os),
        "is_new_device": is_new_device, "is_new_country": is_new_country,
        "details": dict(details) if details else None,
    }


async def record_event(db: AsyncSession, **event: Any) -> None:
    """Write one event (``event_values``' arguments) in the caller's open transaction."""
    await db.execute(_INSERT, event_values(**event))


def record_event_sync(connection: Connection, **event: Any) -> None:
    """``record_event`` on a sync connection, in its open transaction."""
    connection.execute(_INSERT, event_values(**event))


# --- the timeline ---------------------------------------------------------------------------------------------------


class EventRow(Protocol):
    """An event as the timeline shows it: a read-only row (a ``SecurityEvent`` has the same attributes)."""

    id: uuid.UUID
    kind: str
    at: datetime
    session_id: uuid.UUID | None
    app_id: uuid.UUID | None
    device: str | None
    browser: str | None
    os: str | None
    location: str | None
    ip_address: str | None
    is_new_device: bool
    is_new_country: bool
    details: dict[str, Any] | None


ALL_KINDS = tuple(kind.value for kind in Kind)
# Core rows, newest first; ``kinds`` is always bound (every kind when the caller filters nothing), so one statement
# serves every filter.
_TIMELINE = KeysetList.build(
    [_events.c[name] for name in EventRow.__annotations__],
    where=[_events.c.account_id == bindparam("account_id"),
           _events.c.kind.in_(bindparam("kinds", expanding=True))],
    sort=_events.c.at, id_column=_events.c.id, id_ascending=False,
)


async def list_security_events(
    db: AsyncSession, *, account: Account, limit: int, after: After | None = None,
    kinds: Iterable[Kind] | None = None,
) -> ListPage[EventRow]:
    """One page of the account's events, newest first, with how many there are in all (one statement)."""
    wanted = ALL_KINDS if kinds is None else tuple(dict.fromkeys(kind.value for kind in kinds))
    page = await _TIMELINE.read(db, {"account_id": account.id, "kinds": list(wanted)}, limit=limit, after=after)
    return page


_ONE = select(*(_events.c[name] for name in EventRow.__annotations__)).where(
    _events.c.id == bindparam("event_id"), _events.c.account_id == bindparam("account_id"))


async def get_security_event(db: AsyncSession, *, account: Account, event_id: uuid.UUID) -> EventRow:
    """One of the account's events; another account's is NotFound like an unknown one."""
    row = (await db.execute(_ONE, {"event_id": event_id, "account_id": account.id})).first()
    if row is None:
        raise NotFound("No such security event.", field="id")
    return row


def position_of(event: EventRow) -> After:
    """Where the page after ``event`` starts."""
    return After(key=event.at, id=event.id)


# --- refused sign-ins -----------------------------------------------------------------------------------------------

# A refused attempt is recorded at most this often per account: a guesser hammering a limit must not fill the
# timeline (or the table), and one line says what the person needs to know.
LIMITED_EVENT_INTERVAL = timedelta(minutes=15)
_accounts = table_of(Account)
_recent = _events.alias("recent")
_EVENT_COLUMNS = [column.name for column in _events.c if column.name != "account_id"]
# One INSERT ... SELECT: the account is found by its username key, and nothing is written for an unknown username
# or when the account already has a SIGN_IN_LIMITED event in the interval. One statement, so it needs no transaction.
_INSERT_LIMITED = insert(_events).from_select(
    ["account_id", *_EVENT_COLUMNS],
    select(_accounts.c.id, *(bindparam(f"new_{name}", type_=_events.c[name].type) for name in _EVENT_COLUMNS))
    .where(
        _accounts.c.username_key == bindparam("username_key"),
        ~select(_recent.c.id).where(
            _recent.c.account_id == _accounts.c.id, _recent.c.kind == Kind.SIGN_IN_LIMITED.value,
            _recent.c.at > bindparam("recent_after", type_=_events.c.at.type)).exists(),
    ),
)


def record_limited_sign_in_sync(connection: Connection, *, username_key: str, actor: Actor, now: datetime) -> None:
    """Record that a sign-in to the account of ``username_key`` was refused by a limit (on an autocommit
    connection: the one statement stands alone)."""
    values = event_values(account_id=uuid.UUID(int=0), kind=Kind.SIGN_IN_LIMITED, actor=actor, at=now)
    connection.execute(_INSERT_LIMITED, {
        **{f"new_{name}": values[name] for name in _EVENT_COLUMNS},
        "username_key": username_key, "recent_after": now - LIMITED_EVENT_INTERVAL})
