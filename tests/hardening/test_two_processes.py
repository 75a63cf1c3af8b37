"""Two server processes on one PostgreSQL (SECURITY.md H33, F28): a log-out or a revoke through one process is
refused by the other at its very next request, so no per-process cache keeps a dead session or token alive."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from app.settings import Settings
from tests.conftest import _free_port
from tests.factories import graphql, graphql_data, login, make_account
from tests.oauth.helpers import Person, call_me, refresh, register, tokens_for

ROOT = Path(__file__).resolve().parents[2]
VIEWER = "{ viewer { username } }"


class ServerProcess:
    """``uvicorn app.main:create_app`` in a process of its own."""

    def __init__(self, settings: Settings) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CONSENTRY_DATABASE_URL": settings.database_url, "CONSENTRY_BASE_URL": self.url}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server on {self.port} exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server on {self.port} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def two_servers(settings: Settings, postgres_only: None) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    servers = (ServerProcess(settings), ServerProcess(settings))
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


async def _signed_in(http: httpx.AsyncClient, token: str) -> bool:
    return "errors" not in await graphql(http, VIEWER, token=token)


async def test_h33_log_out_through_one_process_is_refused_by_the_other(
    app: Starlette, two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
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
