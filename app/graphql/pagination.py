"""Connection arguments: ``first`` / ``after``, with opaque cursors that name an item's place in its list.

A cursor carries the item's sort key and id (``app.services.paging``): the next page starts right after that item
wherever it now stands, so paging through a list that changes meanwhile neither repeats nor skips the items that
stayed put.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from graphql import GraphQLError

from app.services.paging import After

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_PREFIX = "after:"


def encode_cursor(position: After) -> str:
    raw = f"{_PREFIX}{position.key.isoformat()}|{position.id.hex}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> After:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(_PREFIX):
            raise ValueError(raw)
        key, _, ident = raw[len(_PREFIX):].partition("|")
        moment = datetime.fromisoformat(key)
        if moment.tzinfo is None:
            raise ValueError(raw)
        # In UTC here, as the database is asked: a forged 0001-01-01T00:00+14:00 has no UTC value (OverflowError).
        return After(key=moment.astimezone(UTC), id=uuid.UUID(hex=ident))
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise GraphQLError("`after` is not a cursor from this connection.",
                           extensions={"code": "BAD_USER_INPUT"}) from exc


@dataclass(frozen=True)
class Page:
    limit: int
    after: After | None


def page_from(first: int | None, after: str | None) -> Page:
    if first is not None and not 0 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(f"`first` must be between 0 and {MAX_PAGE_SIZE}.", extensions={"code": "BAD_USER_INPUT"})
    return Page(limit=DEFAULT_PAGE_SIZE if first is None else first, after=_decode_cursor(after) if after else None)
