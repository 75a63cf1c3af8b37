"""Words and small visual cues for the pages: relative times ("2 hours ago"), exact times, letter avatars.

The same relative wording is produced again in the browser by ``static/time.js`` (so times stay fresh while the
page is open); keep the two in step.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

AVATAR_COLOURS = 8  # .avatar-0 … .avatar-7 in app.css

_UNITS: tuple[tuple[str, int], ...] = (
    ("year", 365 * 24 * 3600),
    ("month", 30 * 24 * 3600),
    ("week", 7 * 24 * 3600),
    ("day", 24 * 3600),
    ("hour", 3600),
    ("minute", 60),
)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    """``value`` as a person says it: "just now", "5 minutes ago", "1 day ago", "3 months ago"."""
    if value is None:
        return "never"
    now = _aware(now or datetime.now(UTC))
    seconds = int((now - _aware(value)).total_seconds())
    if seconds < 0:
        return "just now"  # a clock a few seconds ahead is not worth "in 3 seconds"
    if seconds < 60:
        return "just now"
    for name, size in _UNITS:
        count = seconds // size
        # "1 day ago", never "yesterday": 30 hours ago is two calendar days back some evenings.
        if count >= 1:
            return f"{count} {name}{'' if count == 1 else 's'} ago"
    return "just now"


def exact_time(value: datetime | None) -> str:
    """The full time for the hover text; the browser replaces it with the reader's own time zone."""
    if value is None:
        return ""
    value = _aware(value)
    return f"{value.day} {value:%B %Y at %H:%M} UTC"


def iso_time(value: datetime | None) -> str:
    return _aware(value).isoformat() if value else ""


def avatar_colour(name: str) -> int:
    """A stable colour index for a letter avatar, so an app keeps its colour across pages and visits."""
    return hashlib.sha256(name.encode("utf-8")).digest()[0] % AVATAR_COLOURS


def avatar_letter(name: str) -> str:
    for char in name.strip():
        if char.isalnum():
            return char.upper()
    return "?"
