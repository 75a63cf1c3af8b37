"""app.services.oauth.revocation: ending one app's grant or all of an account's, and the token endpoint's sync
revocations (one token, a refresh-token family, what one code issued).

Grants, codes and tokens are made through the real OAuth flow over HTTP; the revocation services are then called
directly, and what is left alive is read back from the database and through the services that recognise tokens.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlmodel import col
from starlette.applications import Starlette

from app.models import AuthorizationCode, Grant, OAuthToken
from app.services.apps import RegisteredApp
from app.services.digests import digest
from app.services.errors import NotFound
from app.services.oauth.revocation import (
    revoke_access,
    revoke_family,
    revoke_grants,
    revoke_token,
    revoke_tokens_of_code,
)
from app.services.oauth.tokens import authenticate_access_token, find_token
from tests.oauth.helpers import (
    Person,
    Tokens,
    obtain_code,
    refresh,
    register,
    sign_in,
    tokens_for,
)


async def _connect(client: httpx.AsyncClient, person: Person, reg: RegisteredApp, families: int = 1) -> list[Tokens]:
    """Connect ``person`` to the app: ``families`` token sets, each from a code of its own, plus one code left
    unredeemed (pending)."""
    issued = [await tokens_for(client, person, reg) for _ in range(families)]
    await obtain_code(client, person, reg)
    return issued


async def _live_access(app: Starlette, tokens: Tokens) -> bool:
    async with app.state.consentry.database.async_sessions() as db:
        return await authenticate_access_token(db, token=tokens.access_token) is not None


async def _row(app: Starlette, tokens: Tokens) -> OAuthToken:
    async with app.state.consentry.database.async_sessions() as db:
        query = select(OAuthToken).where(col(OAuthToken.access_digest) == digest(tokens.access_token))
        row: OAuthToken = (await db.execute(query)).scalar_one()
        return row


async def _alive(app: Starlette, *, account_id: uuid.UUID) -> tuple[int, int, int]:
    """The account's live grants, live tokens and unused codes."""
    counts = []
    async with app.state.consentry.database.async_sessions() as db:
        for owner, ended_at in ((col(Grant.account_id), col(Grant.revoked_at)),
                                (col(OAuthToken.account_id), col(OAuthToken.revoked_at)),
                                (col(AuthorizationCode.account_id), col(AuthorizationCode.used_at))):
            live = select(func.count()).where(owner == account_id, ended_at.is_(None))
            counts.append(int(await db.scalar(live) or 0))
    return counts[0], counts[1], counts[2]


@pytest.fixture
async def alice(app: Starlette) -> Person:
    return await sign_in(app, "alice")


async def test_revoke_access_ends_one_grant_with_all_its_tokens_and_codes(
        app: Starlette, client: httpx.AsyncClient, alice: Person) -> None:
    """Revoking one app ends its grant, every token of every family and its pending code; the account's other
    app and another account's grant to the same app keep working."""
    first, other = await register(app), await register(app, name="Other App")
    bob = await sign_in(app, "bob")
    revoked = await _connect(client, alice, first, families=2)
    kept = await _connect(client, alice, other) + await _connect(client, bob, first)
    async with app.state.consentry.database.async_sessions() as db:
        returned = await revoke_access(db, account=alice.account, app_id=first.app.id)
    assert (returned.app.id, returned.app.name) == (first.app.id, "Example App")
    assert [await _live_access(app, t) for t in revoked + kept] == [False, False, True, True]
    assert await _alive(app, account_id=alice.account.id) == (1, 1, 1)  # the other app's grant, token and code
    assert await _alive(app, account_id=bob.account.id) == (1, 1, 1)


async def test_revoke_access_is_one_transaction(app: Starlette, client: httpx.AsyncClient, alice: Person) -> None:
    """When the last of its writes (ending the pending codes) fails, nothing of the revocation is kept: the grant
    and its tokens are still live, not half revoked."""
    reg = await register(app)
    tokens = await _connect(client, alice, reg)
    engine = app.state.consentry.database.async_engine.sync_engine

    def fail_on_codes(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE AUTHORIZATION_CODES"):
            raise RuntimeError("the database failed mid-revocation")

    event.listen(engine, "before_cursor_execute", fail_on_codes)
    try:
        async with app.state.consentry.database.async_sessions() as db:
            with pytest.raises(RuntimeError):
                await revoke_access(db, account=alice.account, app_id=reg.app.id)
    finally:
        event.remove(engine, "before_cursor_execute", fail_on_codes)
    assert await _alive(app, account_id=alice.account.id) == (1, 1, 1)
    assert await _live_access(app, tokens[0])


async def test_revoking_again_succeeds_and_changes_nothing(
        app: Starlette, client: httpx.AsyncClient, alice: Person) -> None:
    """A second revoke of the same app (a double click, a concurrent request) is success with the same app, keeps
    the first revocation's time, and ends no further grant; an app never connected is ``NotFound``."""
    reg, never = await register(app), await register(app, name="Never connected")
    await _connect(client, alice, reg)
    database = app.state.consentry.database
    async with database.async_sessions() as db:
        await revoke_access(db, account=alice.account, app_id=reg.app.id)
        first_time = await db.scalar(select(col(Grant.revoked_at)))
        assert (await revoke_access(db, account=alice.account, app_id=reg.app.id)).app.id == reg.app.id
        assert await db.scalar(select(col(Grant.revoked_at))) == first_time
        assert (await revoke_grants(db, account_id=alice.account.id)).grants == 0
        with pytest.raises(NotFound) as error:
            await revoke_access(db, account=alice.account, app_id=never.app.id)
    assert error.value.field == "appId"


async def test_revoke_grants_ends_every_grant_of_one_account_in_the_callers_transaction(
        app: Starlette, client: httpx.AsyncClient, alice: Person) -> None:
    """Without a grant, every grant of the account ends with its tokens and codes, and the count of grants ended
    is returned; the writes belong to the caller's transaction (a rollback keeps them all), and other accounts
    are untouched."""
    bob = await sign_in(app, "bob")
    for name in ("One", "Two"):
        reg = await register(app, name=name)
        await _connect(client, alice, reg)
        await _connect(client, bob, reg)
    async with app.state.consentry.database.async_sessions() as db:
        assert (await revoke_grants(db, account_id=alice.account.id)).grants == 2
        await db.rollback()
        assert await _alive(app, account_id=alice.account.id) == (2, 2, 2)
        assert (await revoke_grants(db, account_id=alice.account.id)).grants == 2
        await db.commit()
    assert await _alive(app, account_id=alice.account.id) == (0, 0, 0)
    assert await _alive(app, account_id=bob.account.id) == (2, 2, 2)


async def test_sync_revocations_end_one_token_a_family_or_what_a_code_issued(
        app: Starlette, client: httpx.AsyncClient, alice: Person) -> None:
    """Through a sync session of the app's database, each committed on its own: revoking an access token ends
    that row only; revoking a refresh token ends its whole family (rotated rows included); ``revoke_family`` and
    ``revoke_tokens_of_code`` end exactly their family or code. The grant stays live."""
    reg = await register(app)
    families = await _connect(client, alice, reg, families=4)
    rotated = (await refresh(client, reg, str(families[0].refresh_token))).json()
    newest = Tokens(access_token=rotated["access_token"], refresh_token=rotated["refresh_token"],
                    scope=rotated["scope"], body=rotated)
    assert await _live_access(app, families[0])  # rotation retires the refresh token, not the access token
    grant_id = (await _row(app, families[0])).grant_id
    by_code, by_family = await _row(app, families[2]), await _row(app, families[3])
    with app.state.consentry.database.sync_sessions() as session:
        view = find_token(session, token=families[1].access_token, hint=None)
        assert view is not None and not view.is_refresh_token
        revoke_token(session, view=view)
        assert (await _row(app, families[1])).revoked_at is not None  # committed: another session sees it
        view = find_token(session, token=str(newest.refresh_token), hint="refresh_token")
        assert view is not None and view.is_refresh_token
        revoke_token(session, view=view)
        assert by_code.code_id is not None
        revoke_tokens_of_code(session, grant_id=grant_id, code_id=by_code.code_id)
    assert [await _live_access(app, t) for t in (families[0], newest, families[1], families[2], families[3])] \
        == [False, False, False, False, True]
    with app.state.consentry.database.sync_sessions() as session:
        revoke_family(session, grant_id=grant_id, family_id=by_family.family_id)
    assert not await _live_access(app, families[3])
    assert await _alive(app, account_id=alice.account.id) == (1, 0, 1)  # the grant and its pending code remain
