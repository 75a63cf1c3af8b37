"""What a revocation ended, counted from the bulk statements that ended it: the receipt a person is given."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Receipt:
    """Live credentials that ended at ``ended_at``: access tokens, refresh tokens, login sessions."""

    access_tokens: int
    refresh_tokens: int
    sessions: int
    ended_at: datetime

    def __add__(self, other: Receipt) -> Receipt:
        return Receipt(access_tokens=self.access_tokens + other.access_tokens,
                       refresh_tokens=self.refresh_tokens + other.refresh_tokens,
                       sessions=self.sessions + other.sessions, ended_at=max(self.ended_at, other.ended_at))

    def as_details(self) -> dict[str, Any]:
        """The counts, for a security event's details."""
        return {"access_tokens": self.access_tokens, "refresh_tokens": self.refresh_tokens,
                "sessions": self.sessions}


def nothing_ended(at: datetime) -> Receipt:
    return Receipt(access_tokens=0, refresh_tokens=0, sessions=0, ended_at=at)


def sessions_ended(count: int, at: datetime) -> Receipt:
    return Receipt(access_tokens=0, refresh_tokens=0, sessions=count, ended_at=at)


def tokens_ended(rows: Iterable[Any], at: datetime) -> Receipt:
    """The receipt of a token UPDATE's RETURNING rows (``access_expires_at``, ``refresh_expires_at``,
    ``refresh_used_at``): the access and refresh tokens that were still live when they ended ``at``."""
    access = refresh = 0
    for row in rows:
        access += row.access_expires_at > at
        refresh += row.refresh_expires_at is not None and row.refresh_used_at is None and row.refresh_expires_at > at
    return Receipt(access_tokens=access, refresh_tokens=refresh, sessions=0, ended_at=at)
