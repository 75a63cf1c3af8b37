"""app.services.sessions: signing in, recognising a token, listing sessions and logging out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col
from starlette.applications import Starlette

from app.models import Account, LoginSession, utcnow
from app.services import passwords
from app.services.accounts import WRONG_CREDENTIALS
from app.services.digests import digest
from app.services.errors import Invalid, NotFound
from app.services.sessions import (
    SESSION_LIMIT_REASON,
    SessionPolicy,
    SignedIn,
    authenticate_token,
    list_sessions,
    logout_other_sessions,
    logout_session,
    open_session,
    sign_in,
)
from tests.factories import PASSWORD, WINDOWS_CHROME_UA, make_account


async def _sign_in(app: Starlette, username: str = "alice", password: str = PASSWORD, *,
                   policy: SessionPolicy | None = None, replacing_token: str | None = None) -> SignedIn:
    state = app.state.consentry
    return await sign_in(state.database, username=username, password=password,
                         ip_address="198.51.100.7", user_agent=WINDOWS_CHROME_UA,
                         policy=policy or state.session_policy, replacing_token=replacing_token)


async def _live(app: Starlette, token: str) -> bool:
    state = app.state.consentry
    async with state.database.async_sessions() as db:
        return await authenticate_token(db, token=token, policy=state.session_policy) is not None


async def _session_rows(app: Starlette) -> list[LoginSession]:
    async with app.state.consentry.database.async_sessions() as db:
        return list((await db.execute(select(LoginSession))).scalars())


async def _open(app: Starlette, account: Account, *, idle_for: timedelta = timedelta(0),
                age: timedelta = timedelta(0)) -> SignedIn:
    """A session opened ``age`` ago and last used ``idle_for`` ago, without a password check."""
    now = utcnow()
    async with app.state.consentry.database.async_sessions() as db:
        return await open_session(db, account=account, ip_address="127.0.0.1", user_agent="pytest",
                                  signed_in_at=now - max(age, idle_for), last_active_at=now - idle_for)


async def test_sign_in_opens_a_session_with_a_fresh_token_stored_only_as_a_digest(app: Starlette) -> None:
    """Each sign-in opens its own session under a new random token; the database keeps only the token's digest,
    and the token then authenticates as that session of that account."""
    account = await make_account(app)
    first, second = await _sign_in(app), await _sign_in(app)
    assert first.token != second.token and first.session.id != second.session.id
    assert first.account.id == account.id and first.ended_sessions == ()
    rows = {row.id: row for row in await _session_rows(app)}
    assert rows[first.session.id].token_digest == digest(first.token) != first.token
    assert rows[first.session.id].browser == "Chrome 126"
    state = app.state.consentry
    async with state.database.async_sessions() as db:
        found = await authenticate_token(db, token=first.token, policy=state.session_policy)
    assert found is not None and (found.session.id, found.account.id) == (first.session.id, account.id)


async def test_wrong_password_and_unknown_user_raise_the_same_error_and_open_nothing(app: Starlette) -> None:
    """A wrong password, an unknown username and a username no column can hold all raise one ``Invalid`` with one
    message on one field, so the answer does not tell which usernames exist; no session is written."""
    await make_account(app)
    errors = []
    for username, password in (("alice", "not the password"), ("nobody", PASSWORD), ("ali\x00ce", PASSWORD)):
        with pytest.raises(Invalid) as error:
            await _sign_in(app, username, password)
        errors.append((error.value.message, error.value.field))
    assert errors == [(WRONG_CREDENTIALS, "password")] * 3
    assert await _session_rows(app) == []


async def test_a_password_changed_during_the_check_leaves_no_session(
        app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session INSERT is bound to the password hash that was verified: when the hash changes between the
    check and the INSERT (a password change committing meanwhile), the sign-in fails and writes no session."""
    account = await make_account(app)
    engine = app.state.consentry.database.sync_engine
    real_verify = passwords.verify

    def verify_then_change(password_hash: str | None, password: str) -> bool:
        matches = real_verify(password_hash, password)
        with engine.begin() as connection:  # another request's password change, committed during the check
            connection.execute(update(Account).where(col(Account.id) == account.id).values(password_hash="changed"))
        return matches

    monkeypatch.setattr(passwords, "verify", verify_then_change)
    with pytest.raises(Invalid) as error:
        await _sign_in(app)
    assert (error.value.message, error.value.field) == (WRONG_CREDENTIALS, "password")
    assert await _session_rows(app) == []


async def test_replacing_token_ends_the_session_the_client_held(app: Starlette) -> None:
    """Signing in again with the client's old token as ``replacing_token`` ends that old session (reason
    ``logged_out``); the new one and the account's other sessions live on."""
    account = await make_account(app)
    old, other = await _sign_in(app), await _open(app, account)
    new = await _sign_in(app, replacing_token=old.token)
    assert [await _live(app, s.token) for s in (old, other, new)] == [False, True, True]
    rows = {row.id: row for row in await _session_rows(app)}
    assert rows[old.session.id].revoked_reason == "logged_out"


async def test_the_live_session_cap_ends_the_least_recently_active(app: Starlette) -> None:
    """With a cap of 2 live sessions, a sign-in ends the least recently active one (not the oldest sign-in, not
    an expired one), names it in ``ended_sessions`` and records ``SESSION_LIMIT_REASON``."""
    account = await make_account(app)
    state = app.state.consentry
    policy = SessionPolicy(idle_timeout=state.settings.session_idle_timeout,
                           absolute_lifetime=state.settings.session_absolute_lifetime, max_live_sessions=2)
    await _open(app, account, idle_for=policy.idle_timeout + timedelta(hours=1))  # expired: not counted
    oldest_but_busy = await _open(app, account, age=timedelta(days=5))
    idle = await _open(app, account, idle_for=timedelta(hours=3))
    signed = await _sign_in(app, policy=policy)
    assert [row.id for row in signed.ended_sessions] == [idle.session.id]
    assert [await _live(app, s.token) for s in (oldest_but_busy, idle, signed)] == [True, False, True]
    rows = {row.id: row for row in await _session_rows(app)}
    assert rows[idle.session.id].revoked_reason == SESSION_LIMIT_REASON
    assert (await _sign_in(app, policy=policy)).ended_sessions[0].id == oldest_but_busy.session.id


@pytest.mark.parametrize("aged", [
    lambda p: {"idle_for": p.idle_timeout + timedelta(seconds=1)},
    lambda p: {"age": p.absolute_lifetime + timedelta(seconds=1)},
], ids=["idle", "absolute"])
async def test_authenticate_token_refuses_an_idle_or_too_old_session(
        app: Starlette, aged: Callable[[SessionPolicy], dict[str, timedelta]]) -> None:
    """A session unused for longer than the idle timeout, or signed in longer ago than the absolute lifetime
    (however recently used), no longer authenticates; one just inside both bounds does."""
    account = await make_account(app)
    policy = app.state.consentry.session_policy
    expired = await _open(app, account, **aged(policy))
    within = await _open(app, account, idle_for=policy.idle_timeout - timedelta(minutes=1),
                         age=policy.absolute_lifetime - timedelta(minutes=1))
    assert (await _live(app, expired.token), await _live(app, within.token)) == (False, True)


async def test_authenticate_token_refuses_unknown_tokens_and_disabled_accounts(app: Starlette) -> None:
    """A token nobody was given, and the token of an account that was disabled since, authenticate as nobody."""
    account = await make_account(app)
    signed = await _sign_in(app)
    assert not await _live(app, "not-a-token")
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(Account).where(col(Account.id) == account.id).values(is_disabled=True))
        await db.commit()
    assert not await _live(app, signed.token)


async def test_list_and_log_out_sessions_count_only_the_accounts_live_ones(app: Starlette) -> None:
    """Listing counts the account's live sessions only; logging out one ends exactly that one (another account's
    or an unknown session is ``NotFound``); logging out the others ends all but the current one and says how many."""
    alice, bob = await make_account(app), await make_account(app, "bob")
    state = app.state.consentry
    policy = state.session_policy
    current, *others = [await _open(app, alice) for _ in range(4)]
    await _open(app, alice, idle_for=policy.idle_timeout + timedelta(hours=1))
    bobs = await _open(app, bob)
    async with state.database.async_sessions() as db:
        page = await list_sessions(db, account=alice, policy=policy, limit=10)
        assert (page.total, page.has_more, len(page.rows)) == (4, False, 4)
        await logout_session(db, account=alice, session_id=others[0].session.id, policy=policy)
        for session_id in (bobs.session.id, others[0].session.id, uuid.uuid4(), None):
            with pytest.raises(NotFound) as error:
                await logout_session(db, account=alice, session_id=session_id, policy=policy)
            assert error.value.field == "sessionId"
        assert (await list_sessions(db, account=alice, policy=policy, limit=10)).total == 3
        ended = await logout_other_sessions(db, account=alice, current_session_id=current.session.id, policy=policy)
        assert ended.sessions == 2
        left = await list_sessions(db, account=alice, policy=policy, limit=10)
        assert [row.id for row in left.rows] == [current.session.id]
        assert (await logout_other_sessions(db, account=alice, current_session_id=current.session.id,
                                            policy=policy)).sessions == 0
    assert [await _live(app, s.token) for s in (current, *others, bobs)] == [True, False, False, False, True]
