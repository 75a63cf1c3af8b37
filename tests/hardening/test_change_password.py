"""``changePassword``: the current password is required, weak passwords are refused, other sessions end by
default (SECURITY.md H33), and ``revokeApps`` kills every connected app's tokens (F28)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette

from app.models import LoginSession, utcnow
from app.services.digests import digest
from tests.factories import PASSWORD, graphql, graphql_data, login, make_account
from tests.oauth.helpers import call_me, refresh, register, sign_in, tokens_for

CHANGE = """
mutation($current: String!, $new: String!, $others: Boolean! = true, $apps: Boolean! = false) {
  changePassword(input: {currentPassword: $current, newPassword: $new, logoutOtherSessions: $others,
                         revokeApps: $apps}) {
    loggedOutSessionCount revokedAppCount userErrors { message field code }
  }
}
"""
NEW_PASSWORD = "plum tiger seventeen ladders"
VIEWER = "{ viewer { username } }"


async def _change(client: httpx.AsyncClient, token: str, current: str, new: str, **flags: bool) -> dict[str, Any]:
    data = await graphql_data(client, CHANGE, {"current": current, "new": new, **flags}, token=token)
    payload: dict[str, Any] = data["changePassword"]
    return payload


async def _signed_in(client: httpx.AsyncClient, token: str) -> bool:
    body = await graphql(client, VIEWER, token=token)
    return "errors" not in body


async def test_h33_change_password_ends_every_other_session_by_default(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    """Changing the password ends every other session of the account (and says how many) but keeps the current one;
    the new password signs in and the old one no longer does."""
    await make_account(app, "alice")
    current, other, another = await login(client), await login(client), await login(client)
    payload = await _change(client, current, PASSWORD, NEW_PASSWORD)
    assert payload == {"loggedOutSessionCount": 2, "revokedAppCount": 0, "userErrors": []}
    assert [await _signed_in(client, t) for t in (current, other, another)] == [True, False, False]
    assert await login(client, "alice", NEW_PASSWORD)
    refused = await graphql_data(client, "mutation($p: String!) { login(input: {username: \"alice\", password: $p}) "
                                 "{ token userErrors { code } } }", {"p": PASSWORD})
    assert refused == {"login": {"token": None, "userErrors": [{"code": "INVALID"}]}}


async def test_change_password_can_keep_the_other_sessions(client: httpx.AsyncClient, app: Starlette) -> None:
    await make_account(app, "alice")
    current, other = await login(client), await login(client)
    payload = await _change(client, current, PASSWORD, NEW_PASSWORD, others=False)
    assert payload == {"loggedOutSessionCount": 0, "revokedAppCount": 0, "userErrors": []}
    assert await _signed_in(client, other)


@pytest.mark.parametrize(("current", "new", "field", "message"), [
    ("not my password", NEW_PASSWORD, "currentPassword", "Your current password is incorrect."),
    (PASSWORD, "short1!", "newPassword", "Use at least 8 characters."),
    (PASSWORD, "Alice-rocks-2024", "newPassword", "Your password must not contain your username."),
    (PASSWORD, "Password123", "newPassword", "That password is too common. Choose one that is harder to guess."),
    (PASSWORD, "x" * 1025, "newPassword", "Use at most 1024 characters."),
])
async def test_change_password_refusals_change_nothing(
    client: httpx.AsyncClient, app: Starlette, current: str, new: str, field: str, message: str,
) -> None:
    await make_account(app, "alice")
    token, other = await login(client), await login(client)
    payload = await _change(client, token, current, new)
    assert payload == {"loggedOutSessionCount": 0, "revokedAppCount": 0,
                       "userErrors": [{"message": message, "field": field, "code": "INVALID"}]}
    assert await _signed_in(client, other)
    assert await login(client, "alice", PASSWORD)


async def test_change_password_needs_a_session(client: httpx.AsyncClient) -> None:
    body = await graphql(client, CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD})
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_h35_guessing_the_current_password_is_rate_limited(
    make_apps: Callable[..., Starlette], clients: Callable[..., httpx.AsyncClient],
) -> None:
    """Wrong current passwords in changePassword count against the sign-in budget: once it is spent, the next attempt
    is a 429 with Retry-After and a RATE_LIMITED userError, even with the right password."""
    app = make_apps(login_attempts_per_account="3/15 minutes")
    await make_account(app, "alice")
    http = clients(app)
    token = await login(http)
    for _ in range(3):
        assert (await _change(http, token, "guess", NEW_PASSWORD))["userErrors"][0]["code"] == "INVALID"
    response = await http.post("/graphql", json={"query": CHANGE, "variables": {"current": PASSWORD,
                                                                               "new": NEW_PASSWORD}},
                               headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    assert response.json()["data"]["changePassword"]["userErrors"][0]["code"] == "RATE_LIMITED"


async def test_h33_change_password_with_revoke_apps_kills_every_apps_tokens(
    client: httpx.AsyncClient, app: Starlette,
) -> None:
    """Asking changePassword to revoke apps ends every connected app's grant: their access tokens get 401, their
    refresh tokens invalid_grant, and the account has no connected apps left."""
    person = await sign_in(app, "alice")
    first, second = await register(app, name="First"), await register(app, name="Second")
    tokens = [await tokens_for(client, person, reg) for reg in (first, second)]
    assert [(await call_me(client, t.access_token)).status_code for t in tokens] == [200, 200]

    payload = await _change(client, person.token, PASSWORD, NEW_PASSWORD, apps=True)
    assert payload == {"loggedOutSessionCount": 0, "revokedAppCount": 2, "userErrors": []}
    assert [(await call_me(client, t.access_token)).status_code for t in tokens] == [401, 401]
    for reg, t in zip((first, second), tokens, strict=True):
        assert t.refresh_token
        refused = await refresh(client, reg, t.refresh_token)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    apps = await graphql_data(client, "{ viewer { connectedApps { totalCount } } }", token=person.token)
    assert apps == {"viewer": {"connectedApps": {"totalCount": 0}}}


async def test_h33_the_count_is_of_live_sessions_and_expired_ones_end_too(client: httpx.AsyncClient,
                                                                         app: Starlette) -> None:
    """The logged-out count covers only sessions that were still live, but expired sessions are ended too, so a
    longer idle timeout configured later cannot bring them back."""
    account = await make_account(app, "alice")
    current, other, expired = await login(client), await login(client), await login(client)
    idle = app.state.consentry.settings.session_idle_timeout
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(LoginSession).where(LoginSession.token_digest == digest(expired))  # type: ignore[arg-type]
                         .values(last_active_at=utcnow() - idle - timedelta(minutes=1)))
        await db.commit()
    payload = await _change(client, current, PASSWORD, NEW_PASSWORD)
    assert payload["loggedOutSessionCount"] == 1  # the one the list showed; the expired one was not in it
    async with app.state.consentry.database.async_sessions() as db:
        reasons = (await db.execute(select(LoginSession.revoked_reason).where(
            LoginSession.account_id == account.id, LoginSession.token_digest != digest(current)))).scalars().all()  # type: ignore[arg-type]
    assert reasons == ["password_changed", "password_changed"]  # a longer timeout later cannot revive it
    assert not await _signed_in(client, other)
