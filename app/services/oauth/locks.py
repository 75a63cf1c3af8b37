"""The lock order of the OAuth token lifecycle, written down once.

**The grant row first, then its tokens and codes.** Every path that issues or ends tokens takes the grant's row
lock before it writes a token row:

- issuing (code redemption, refresh rotation, an OAuth 1.0a ``access_token`` exchange;
  ``tokens.issue_after_consuming``) locks the live grant with ``SELECT ... FOR UPDATE`` (``lock_live_grant``) and
  then, in the same transaction, consumes the code, the old refresh token or the temporary credential and inserts
  the new row;
- ending tokens (RFC 7009 revocation, refresh-token reuse, code replay; ``revocation.end_tokens``; OAuth 1.0a's
  ``invalidate_token``) locks the grant with ``SELECT ... FOR UPDATE`` whatever its state (``lock_grant``), then
  ends the tokens with one UPDATE;
- revoking the app or every app (``revocation.revoke_grants``: revokeAccess, a password change) UPDATEs the grant
  rows first, which takes the same locks, then the tokens and codes of both protocols.

So an ending either waits for a rotation's commit and then, in a new statement snapshot (READ COMMITTED), sees and
ends the new row too, or commits first and makes the rotation's conditional consume fail. Without the lock a bare
``UPDATE ... WHERE family_id = ?`` could run between a rotation's "mark old used" and "insert new" and miss the new
row (SECURITY.md K45). On SQLite writers are serialised by the database lock and every write is conditional, which
gives the same outcome.

Burning a code whose PKCE check failed (``codes.burn_code``) locks only the code's row: it issues and ends no
token, so it needs no grant lock.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.models import Account, Grant


def lock_live_grant(session: Session, grant_id: uuid.UUID) -> Grant | None:
    """Lock the grant for issuing tokens: None when it has been revoked or its account disabled."""
    return session.execute(
        select(Grant)
        .join(Account, col(Account.id) == col(Grant.account_id))
        .where(col(Grant.id) == grant_id, col(Grant.revoked_at).is_(None), col(Account.is_disabled).is_(False))
        .with_for_update(of=Grant)
    ).scalar_one_or_none()


def lock_grant(session: Session, grant_id: uuid.UUID) -> None:
    """Lock the grant for ending tokens, whatever its state."""
    session.execute(select(col(Grant.id)).where(col(Grant.id) == grant_id).with_for_update())
