"""Keyset paging for the lists that grow: sessions, connected apps, registered apps.

A page after the first starts just after the last item the client saw, found by its sort key and id, not by its
position: a list ordered by last activity reorders while somebody pages through it, and a session logged out or an
app revoked in between shifts every position after it, so offsets repeated one item and skipped another.

Each list is one statement per page. The first page counts the whole list with a window function, as before; a
later page counts what follows the cursor the same way (is there a next page?) and the whole list in a scalar
subquery (``totalCount``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, Uuid, and_, bindparam, func, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.base import UTCDateTime

# Covariant, so that a page of rows is a page of any protocol those rows satisfy (GrantRow, SessionRow).
R_co = TypeVar("R_co", covariant=True)


@dataclass(frozen=True)
class After:
    """Where a page starts: just after the item with this sort key and id."""

    key: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class ListPage(Generic[R_co]):
    rows: Sequence[R_co]
    total: int  # items in the whole list
    has_more: bool  # items follow this page


@dataclass(frozen=True)
class KeysetList:
    """The statements of one list, built once at import: ``columns`` filtered by ``where`` and ordered by ``sort``
    (newest first) then ``id`` (ascending or descending, to break ties)."""

    first_page: Select[Any]
    later_page: Select[Any]
    count_all: Select[Any]
    count_after: Select[Any]

    @classmethod
    def build(cls, columns: list[Any], *, where: list[ColumnElement[bool]], sort: ColumnElement[Any],
              id_column: ColumnElement[Any], id_ascending: bool) -> KeysetList:
        key, ident = bindparam("after_key", type_=UTCDateTime()), bindparam("after_id", type_=Uuid())
        after = or_(sort < key, and_(sort == key, id_column > ident if id_ascending else id_column < ident))
        order = (sort.desc(), id_column.asc() if id_ascending else id_column.desc())
        limit = bindparam("limit", type_=Integer)
        # Not correlated: inside a later page's SELECT it still counts the whole list, not the outer row.
        count_all = select(func.count()).where(*where).correlate(None)
        return cls(
            first_page=select(*columns, func.count().over().label("total"))
            .where(*where).order_by(*order).limit(limit),
            later_page=select(*columns, func.count().over().label("remaining"),
                              count_all.scalar_subquery().label("total"))
            .where(*where, after).order_by(*order).limit(limit),
            count_all=count_all,
            count_after=select(func.count()).where(*where, after),
        )

    async def read(self, db: AsyncSession, params: dict[str, Any], *, limit: int,
                   after: After | None) -> ListPage[Row[Any]]:
        """One page of at most ``limit`` rows after ``after`` (from the start without it)."""
        if after is None:
            rows = (await db.execute(self.first_page, {**params, "limit": limit})).all()
            if rows:
                return ListPage(list(rows), int(rows[0].total), has_more=int(rows[0].total) > len(rows))
            if limit > 0:  # an empty first page means none at all
                return ListPage([], 0, has_more=False)
            total = int(await db.scalar(self.count_all, params) or 0)
            return ListPage([], total, has_more=total > 0)
        keyed = {**params, "after_key": after.key, "after_id": after.id}
        rows = (await db.execute(self.later_page, {**keyed, "limit": limit})).all()
        if rows:
            return ListPage(list(rows), int(rows[0].total), has_more=int(rows[0].remaining) > len(rows))
        # Nothing on this page (the end, or a page of 0): the counts the window would have given.
        total = int(await db.scalar(self.count_all, params) or 0)
        remaining = int(await db.scalar(self.count_after, keyed) or 0) if limit == 0 else 0
        return ListPage([], total, has_more=remaining > 0)
