""""This wasn't me": end every other session, revoke every app (unless asked to keep them), and require a new
password before the session that asked may do anything else: one transaction, recorded as ACCOUNT_SECURED.

The requirement is on the session, not the account: whoever else knows the password and signs in again is not
handed the account (they would be the one choosing the new password); the owner's session changes it first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engines import transaction
from app.models import Account, LoginSession, utcnow
from app.models.base import table_of
from app.services.oauth.revocation import revoke_grants
from app.services.receipts import Receipt, sessions_ended
from app.services.security_events import NOBODY, Actor, Kind, record_event
from app.services.sessions import SessionPolicy, end_other_sessions

SECURED_REASON = "account_secured"
_sessions = table_of(LoginSession)
_REQUIRE_NEW_PASSWORD = (
    update(_sessions).where(_sessions.c.id == bindparam("session_id")).values(must_change_password=True)
)


@dataclass(frozen=True)
class Secured:
    receipt: Receipt
    revoked_apps: int


async def secure_account(
    db: AsyncSession, *, account: Account, current_session_id: uuid.UUID, policy: SessionPolicy,
    revoke_apps: bool = True, actor: Actor = NOBODY,
) -> Secured:
    """Log out every other session (expired ones included), revoke every app unless ``revoke_apps`` is false,
    require a new password of the current session, and record ACCOUNT_SECURED, all in one transaction."""
    now = utcnow()
    apps = 0
    async with transaction(db):
        receipt = sessions_ended(await end_other_sessions(
            db, account_id=account.id, current_session_id=current_session_id, policy=policy, reason=SECURED_REASON,
            now=now), now)
        if revoke_apps:
            revoked = await revoke_grants(db, account_id=account.id, now=now)
            apps, receipt = revoked.grants, receipt + revoked.receipt
        await db.execute(_REQUIRE_NEW_PASSWORD, {"session_id": current_session_id})
        await record_event(db, account_id=account.id, kind=Kind.ACCOUNT_SECURED, actor=actor, at=now,
                           details={"apps": apps, "kept_apps": not revoke_apps, **receipt.as_details()})
    return Secured(receipt=receipt, revoked_apps=apps)
