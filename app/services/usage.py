"""Where an app last used its access from: the grant's last use (time, network, country) and a short history.

This sits on the resource API's hot path, so it writes at most once a minute per grant (fewer than once per token:
a grant's tokens share the minute), with one conditional UPDATE whose condition holds across processes; only the
request that wins that UPDATE adds a history row and trims the history to ``HISTORY_SIZE``. The country lookup
runs off the event loop, and only then.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engines import transaction
from app.models import Grant, GrantUse, utcnow
from app.models.base import table_of
from app.services.devices import describe_location
from app.services.text import clipped

# Grant.last_used_at is written at most this often per grant, not on every API call.
LAST_USED_WRITE_INTERVAL = timedelta(minutes=1)
HISTORY_SIZE = 20

_grants = table_of(Grant)
_uses = table_of(GrantUse)
# Built once (Core): the first request of a minute runs them.
_MARK = (
    update(_grants)
    .where(_grants.c.id == bindparam("grant_id"),
           or_(_grants.c.last_used_at.is_(None), _grants.c.last_used_at < bindparam("due_before")))
    .values(last_used_at=bindparam("now"), last_used_ip=bindparam("ip"), last_used_location=bindparam("place"))
)
_ADD_USE = insert(_uses)
_TRIM = delete(_uses).where(
    _uses.c.grant_id == bindparam("of_grant"),
    _uses.c.id.not_in(select(_uses.c.id).where(_uses.c.grant_id == bindparam("of_grant"))
                      .order_by(_uses.c.used_at.desc(), _uses.c.id.desc()).limit(HISTORY_SIZE).scalar_subquery()),
)


async def record_use(db: AsyncSession, *, grant_id: uuid.UUID, last_used_at: datetime | None,
                     ip_address: str | None) -> None:
    """Record that the grant's access was used now from ``ip_address``, unless it was within the last minute."""
    now = utcnow()
    if last_used_at is not None and now - last_used_at < LAST_USED_WRITE_INTERVAL:
        return
    place = await asyncio.get_running_loop().run_in_executor(None, describe_location, ip_address)
    ip = clipped(ip_address, 45)
    async with transaction(db):
        marked = await db.execute(_MARK, {"grant_id": grant_id, "due_before": now - LAST_USED_WRITE_INTERVAL,
                                          "now": now, "ip": ip, "place": clipped(place, 128)})
        # An UPDATE's result (SQLAlchemy's advice: cast); not 1: another request of this minute got there first.
        if cast("CursorResult[Any]", marked).rowcount != 1:
            return
        await db.execute(_ADD_USE, {"id": uuid.uuid4(), "grant_id": grant_id, "used_at": now, "ip_address": ip,
                                    "location": clipped(place, 128)})
        await db.execute(_TRIM, {"of_grant": grant_id})


class UseRow(Protocol):
    used_at: datetime
    ip_address: str | None
    location: str | None


_HISTORY = (select(_uses.c.used_at, _uses.c.ip_address, _uses.c.location)
            .where(_uses.c.grant_id == bindparam("grant_id"))
            .order_by(_uses.c.used_at.desc(), _uses.c.id.desc()).limit(HISTORY_SIZE))


async def use_history(db: AsyncSession, *, grant_id: uuid.UUID) -> list[UseRow]:
    """The grant's recorded uses, newest first (at most ``HISTORY_SIZE``; one statement)."""
    return list((await db.execute(_HISTORY, {"grant_id": grant_id})).all())
