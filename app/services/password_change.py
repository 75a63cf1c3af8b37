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

from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engines import transaction
from app.models import Account, utcnow
from app.services.accounts import check_new_password
from app.services.errors import Invalid
from app.services.known_devices import KnownDevice
from app.services.oauth.revocation import revoke_grants
from app.services.passwords import hash_password, verify_password
from app.services.ratelimit import LoginLimiter, counted_attempt
from app.services.sessions import SessionPolicy, end_other_sessions


@dataclass(frozen=True)
class PasswordChanged:
    logged_out_sessions: int
    revoked_apps: int


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
) -> PasswordChanged:
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
        if revoke_apps:
            apps = await revoke_grants(db, account_id=account.id)
    account.password_hash = password_hash
    return PasswordChanged(logged_out_sessions=int(sessions), revoked_apps=int(apps))
