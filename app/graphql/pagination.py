"""Connection arguments: ``first`` / ``after`` with opaque offset cursors."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from graphql import GraphQLError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# No list gets anywhere near this long; a larger offset is a forged cursor (and would overflow the database's int).
MAX_OFFSET = 1_000_000
_PREFIX = "cursor:"


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(_PREFIX):
            raise ValueError(raw)
        offset = int(raw[len(_PREFIX):])
        if not 0 <= offset <= MAX_OFFSET:
            raise ValueError(raw)
        return offset
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphQLError("`after` is not a cursor from this connection.",
                           extensions={"code": "BAD_USER_INPUT"}) from exc


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def page_from(first: int | None, after: str | None) -> Page:
    if first is not None and not 0 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(f"`first` must be between 0 and {MAX_PAGE_SIZE}.", extensions={"code": "BAD_USER_INPUT"})
    offset = _decode_cursor(after) + 1 if after else 0
    return Page(limit=DEFAULT_PAGE_SIZE if first is None else first, offset=offset)
