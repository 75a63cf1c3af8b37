"""SECURITY.md J43: a failure between two writes of one operation rolls back both.

The database "fails" right between the first write and the second (the connection drops: an OperationalError);
the client gets a clean 503, and afterwards the state is exactly as before, so a retry succeeds.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import exc as sa_exc
from starlette.applications import Starlette

from app.services import password_change
from app.services.oauth import codes as code_service
from app.services.oauth import tokens as token_service
from tests.factories import PASSWORD, graphql, login, make_account
from tests.oauth.helpers import call_me, exchange, obtain_code, refresh, register, sign_in, tokens_for


def _connection_lost(*_args: Any, **_kwargs: Any) -> Any:
    raise sa_exc.OperationalError("INSERT INTO oauth_tokens ...", {}, ConnectionResetError("connection lost"))


async def test_j43_failure_between_code_consumption_and_token_insert_rolls_back_both(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failure after the code is consumed but before the tokens are written answers 503 and undoes both: the same
    code can then be redeemed successfully."""
    person, reg = await sign_in(app), await register(app)
    code, verifier = await obtain_code(client, person, reg)
    with monkeypatch.context() as patch:
        # Called after the conditional UPDATE consumed the code and before the token row is inserted.
        patch.setattr(code_service, "new_token_row", _connection_lost)
        failed = await exchange(client, reg, code, verifier)
    assert failed.status_code == 503 and failed.json()["error"] == "temporarily_unavailable"
    retried = await exchange(client, reg, code, verifier)  # the code was not consumed: the UPDATE rolled back
    assert retried.status_code == 200, retried.text
    assert (await call_me(client, retried.json()["access_token"])).status_code == 200


async def test_j43_failure_during_refresh_rotation_keeps_the_old_refresh_token(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failure in the middle of a refresh answers 503 and leaves the old refresh token unused (not counted as reuse),
    so retrying it works and the family stays alive."""
    person, reg = await sign_in(app), await register(app)
    tokens = await tokens_for(client, person, reg)
    assert tokens.refresh_token
    with monkeypatch.context() as patch:
        patch.setattr(token_service, "new_token_row", _connection_lost)
        failed = await refresh(client, reg, tokens.refresh_token)
    assert failed.status_code == 503 and failed.json()["error"] == "temporarily_unavailable"
    # Not marked used (else this would count as reuse and revoke the family) and no half-made token exists.
    assert (await call_me(client, tokens.access_token)).status_code == 200
    retried = await refresh(client, reg, tokens.refresh_token)
    assert retried.status_code == 200, retried.text
    assert (await refresh(client, reg, retried.json()["refresh_token"])).status_code == 200


async def test_j43_failure_inside_change_password_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failure partway through changePassword answers 503 and keeps everything as it was: the other session stays
    signed in and the old password still works."""
    await make_account(app, "alice")
    token, other = await login(client), await login(client)
    async def end_sessions_then_fail(*_args: Any, **_kwargs: Any) -> int:
        _connection_lost()  # the password row is written; ending the other sessions fails
        return 0

    with monkeypatch.context() as patch:
        patch.setattr(password_change, "end_other_sessions", end_sessions_then_fail)
        response = await client.post("/graphql", headers={"authorization": f"Bearer {token}"}, json={
            "query": "mutation { changePassword(input: {currentPassword: \"" + PASSWORD + "\", "
                     "newPassword: \"plum tiger seventeen ladders\"}) { loggedOutSessionCount } }"})
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "TEMPORARILY_UNAVAILABLE"
    assert int(response.headers["retry-after"]) > 0
    assert "errors" not in await graphql(client, "{ viewer { username } }", token=other)
    assert await login(client, "alice", PASSWORD)  # the old password still works
