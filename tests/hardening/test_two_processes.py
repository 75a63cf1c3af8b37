"""Two server processes on one PostgreSQL (SECURITY.md H33, F28): a log-out or a revoke through one process is
refused by the other at its very next request, so no per-process cache keeps a dead session or token alive."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.factories import graphql, graphql_data, login, make_account
from tests.hardening.servers import ServerProcess
from tests.oauth.helpers import Person, call_me, refresh, register, tokens_for

VIEWER = "{ viewer { username } }"


async def _signed_in(http: httpx.AsyncClient, token: str) -> bool:
    return "errors" not in await graphql(http, VIEWER, token=token)


async def test_h33_log_out_through_one_process_is_refused_by_the_other(
    app: Starlette, two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    """A session logged out (or ended by 'log out all other sessions') through one server process is refused at once
    by the other, though it had been used there before."""
    first, second = two_servers
    await make_account(app, "alice")
    async with httpx.AsyncClient(base_url=first.url) as one, httpx.AsyncClient(base_url=second.url) as two:
        current, other, third = await login(one), await login(one), await login(two)
        assert [await _signed_in(two, t) for t in (current, other, third)] == [True, True, True]
        assert await _signed_in(one, other)  # both processes have seen (and could have cached) every session

        await graphql_data(one, "mutation { logout { userErrors { code } } }", token=other)
        assert not await _signed_in(two, other)

        ended = await graphql_data(two, "mutation { logoutOtherSessions { loggedOutCount } }", token=current)
        assert ended == {"logoutOtherSessions": {"loggedOutCount": 1}}
        assert not await _signed_in(one, third)
        assert await _signed_in(one, current)


async def test_f28_revoke_through_one_process_is_refused_by_the_other(
    app: Starlette, two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    """After revoking an app through one server process, the other process refuses its access token (401) and its
    refresh token (invalid_grant) at once."""
    first, second = two_servers
    account = await make_account(app, "alice")
    reg = await register(app)
    async with httpx.AsyncClient(base_url=first.url) as one, httpx.AsyncClient(base_url=second.url) as two:
        person = Person(account=account, token=await login(one))
        tokens = await tokens_for(one, person, reg)
        assert (await call_me(two, tokens.access_token)).status_code == 200
        assert (await call_me(one, tokens.access_token)).status_code == 200

        apps = await graphql_data(one, "{ viewer { connectedApps { nodes { app { id } } } } }", token=person.token)
        app_id = apps["viewer"]["connectedApps"]["nodes"][0]["app"]["id"]
        revoked = await graphql_data(one, "mutation($id: ID!) { revokeAccess(input: {appId: $id}) "
                                     "{ userErrors { code } } }", {"id": app_id}, token=person.token)
        assert revoked == {"revokeAccess": {"userErrors": []}}
        assert (await call_me(two, tokens.access_token)).status_code == 401
        assert tokens.refresh_token
        refused = await refresh(two, reg, tokens.refresh_token)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
