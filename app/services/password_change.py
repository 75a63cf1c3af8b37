"""Changing a password, and what a password change ends.

A new password needs the current one (a stolen session alone cannot take the account over), must be at least
``MIN_PASSWORD_LENGTH`` characters, must not contain the username and must not be a common password (NIST SP
800-63B §5.1.1.2). By default every other session ends; on request every connected app is revoked too, which is
what to do after giving a password to a bad app. Everything is written in one transaction, with bulk UPDATEs.
Wrong current passwords count against the sign-in limits, so this is no back door for guessing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engines import transaction
from app.models import Account, LoginSession, utcnow
from app.models.base import table_of
from app.services.accounts import check_new_password
from app.services.errors import Invalid
from app.services.known_devices import KnownDevice
from app.services.oauth.revocation import revoke_grants
from app.services.passwords import hash_password, verify_password
from app.services.ratelimit import LoginLimiter, counted_attempt
from app.services.receipts import Receipt, nothing_ended, sessions_ended
from app.services.security_events import NOBODY, Actor, Kind, record_event
from app.services.sessions import SessionPolicy, end_other_sessions

_sessions = table_of(LoginSession)
# "This wasn't me" asked this session for a new password: it has one now.
_REQUIREMENT_MET = (
    update(_sessions)
    .where(_sessions.c.id == bindparam("session_id"), _sessions.c.must_change_password.is_(True))
    .values(must_change_password=False)
)


@dataclass(frozen=True)
class PasswordChanged:
    logged_out_sessions: int
    revoked_apps: int
    receipt: Receipt


async def change_password(
    db: AsyncSession,
    *,
    account: Account,
    current_session_id: uuid.UUID,
    policy: SessionPolicy,
    current_password: str,
    new_password: str,
    logout_other_sessions: bool = True,
    revoke_apps: bool = False,
    ip_address: str | None = None,
    limiter: LoginLimiter | None = None,
    actor: Actor = NOBODY,
) -> PasswordChanged:
    """Change the password; end the other sessions and revoke the apps as asked; lift "This wasn't me"'s
    requirement from the current session; and record PASSWORD_CHANGED: all in one transaction."""
    # The signed-in session is a device that signed in to this account: it guesses on a budget of its own, so a
    # stranger's failed sign-ins never keep the owner from changing the password.
    session_device = KnownDevice(username_key=account.username_key, device_id=f"session-{current_session_id}")
    async with counted_attempt(limiter, username_key=account.username_key, ip_address=ip_address,
                               device=session_device):
        if not await verify_password(account.password_hash, current_password):
            raise Invalid("Your current password is incorrect.", field="currentPassword")
    check_new_password(new_password, username=account.username, field="newPassword")
    password_hash = await hash_password(new_password)
    now = utcnow()
    sessions = apps = 0
    receipt = nothing_ended(now)
    async with transaction(db):
        # Only over the hash that was verified: a change that landed meanwhile (the owner's, from another session)
        # makes this one a wrong current password, instead of overwriting it and ending the owner's session.
        changed = await db.execute(
            update(Account)
            .where(col(Account.id) == account.id, col(Account.password_hash) == account.password_hash)
            .values(password_hash=password_hash))
        if cast("CursorResult[Any]", changed).rowcount != 1:
            raise Invalid("Your current password is incorrect.", field="currentPassword")
        if logout_other_sessions:
            sessions = await end_other_sessions(db, account_id=account.id, current_session_id=current_session_id,
                                                policy=policy, reason="password_changed", now=now)
            receipt = sessions_ended(int(sessions), now)
        if revoke_apps:
            revoked = await revoke_grants(db, account_id=account.id, now=now)
            apps, receipt = revoked.grants, receipt + revoked.receipt
        await db.execute(_REQUIREMENT_MET, {"session_id": current_session_id})
        await record_event(db, account_id=account.id, kind=Kind.PASSWORD_CHANGED, actor=actor, at=now,
                           details={"apps": int(apps), **receipt.as_details()})
    account.password_hash = password_hash
    return PasswordChanged(logged_out_sessions=int(sessions), revoked_apps=int(apps), receipt=receipt)
