"""``change_password`` changes only the password it checked."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from app.services.errors import Invalid
from app.services.password_change import change_password
from app.services.sessions import authenticate_token
from tests.factories import PASSWORD
from tests.oauth.helpers import new_session, sign_in

OWNERS_NEW = "plum tiger seventeen ladders"
ATTACKERS_NEW = "quiet harbour ninety lanterns"


async def test_a_change_checked_against_a_password_changed_meanwhile_is_refused(app: Starlette) -> None:
    """An attacker's request checked the old password just before the owner changed it from another session: it
    must not overwrite the owner's new password (nor end the owner's session); it answers a wrong current password."""
    state = app.state.consentry
    owner = await sign_in(app, "alice")
    attacker = await new_session(app, owner.account)
    async with state.database.async_sessions() as db:
        stale = await authenticate_token(db, token=attacker.token, policy=state.session_policy)
        current = await authenticate_token(db, token=owner.token, policy=state.session_policy)
    assert stale is not None and current is not None
    async with state.database.async_sessions() as db:
        await change_password(db, account=current.account, current_session_id=current.session.id,
                              policy=state.session_policy, current_password=PASSWORD, new_password=OWNERS_NEW)
    async with state.database.async_sessions() as db:
        with pytest.raises(Invalid, match="current password is incorrect"):
            await change_password(db, account=stale.account, current_session_id=stale.session.id,
                                  policy=state.session_policy, current_password=PASSWORD, new_password=ATTACKERS_NEW)
    async with state.database.async_sessions() as db:
        assert await authenticate_token(db, token=owner.token, policy=state.session_policy) is not None
        verify = await change_password(db, account=current.account, current_session_id=current.session.id,
                                       policy=state.session_policy, current_password=OWNERS_NEW,
                                       new_password="amber falcon sixty ribbons")
    assert verify.logged_out_sessions == 0  # the attacker's session had ended with the owner's change
