"""Text that no database column can take, refused at every door before it reaches one."""

from __future__ import annotations


def is_unrepresentable(text: str) -> bool:
    """PostgreSQL stores no NUL in text, and an unpaired surrogate has no UTF-8 form (neither SQLite nor argon2 can
    take one); SQLite would store a NUL, but what one engine refuses no input should carry."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clipped(text: str | None, length: int) -> str | None:
    """``text`` cut to fit a column of ``length`` characters (PostgreSQL refuses longer text; SQLite keeps it)."""
    return text[:length] if text else text
