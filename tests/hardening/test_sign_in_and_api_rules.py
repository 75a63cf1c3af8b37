"""SECURITY.md H34 (same answer and timing for unknown users), H36 (password hashing off the event loop), I37
(third-party tokens never sign anyone in to /graphql) and I40 (only application/json reaches /graphql)."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.services import passwords, sessions
from tests.factories import LOGIN, PASSWORD, graphql, make_account
from tests.oauth.helpers import call_me, register, sign_in, tokens_for


async def _timed_login(client: httpx.AsyncClient, username: str, password: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    body = await graphql(client, LOGIN, {"username": username, "password": password})
    return time.perf_counter() - started, body


async def test_h34_unknown_user_and_wrong_password_answer_alike_in_similar_time(
    client: httpx.AsyncClient, app: Starlette,
) -> None:
    """A wrong password and an unknown username get the same answer and take about the same time (within a factor
    of two), so neither tells which usernames exist."""
    await make_account(app, "alice")
    wrong, unknown = [], []
    for _ in range(5):
        elapsed, wrong_body = await _timed_login(client, "alice", "not the password")
        wrong.append(elapsed)
        elapsed, unknown_body = await _timed_login(client, "nobody-here", "not the password")
        unknown.append(elapsed)
        assert wrong_body == unknown_body
    ratio = statistics.median(unknown) / statistics.median(wrong)
    # Both cost one argon2 verification (tens of ms); skipping it for unknown users would make this ratio tiny.
    assert 0.5 < ratio < 2.0, (wrong, unknown)


async def test_h36_password_hashing_and_device_lookups_run_off_the_event_loop(
    client: httpx.AsyncClient, app: Starlette, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Password hashing and checking, and the device and location lookups of a sign-in, all run in worker threads,
    never on the event loop's thread."""
    await make_account(app, "alice")
    loop_thread = threading.get_ident()
    seen: dict[str, set[int]] = {}

    def recorded(name: str, work: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            seen.setdefault(name, set()).add(threading.get_ident())
            return work(*args)
        return run

    monkeypatch.setattr(passwords, "verify", recorded("verify", passwords.verify))
    monkeypatch.setattr(passwords, "_hasher", SimpleNamespace(
        hash=recorded("hash", passwords._hasher.hash), verify=passwords._hasher.verify))
    monkeypatch.setattr(sessions, "describe_user_agent", recorded("device", sessions.describe_user_agent))
    monkeypatch.setattr(sessions, "describe_location", recorded("location", sessions.describe_location))
    bodies = await asyncio.gather(*(graphql(client, LOGIN, {"username": "alice", "password": PASSWORD})
                                    for _ in range(4)))
    token = bodies[0]["data"]["login"]["token"]
    changed = await graphql(client, "mutation { changePassword(input: {currentPassword: \"" + PASSWORD + "\", "
                            "newPassword: \"plum tiger seventeen ladders\"}) { userErrors { code } } }", token=token)
    assert changed["data"] == {"changePassword": {"userErrors": []}}
    assert set(seen) == {"verify", "hash", "device", "location"}
    assert all(loop_thread not in threads for threads in seen.values()), seen


async def test_i37_a_third_party_access_token_is_not_a_session(client: httpx.AsyncClient, app: Starlette) -> None:
    """A third-party app's access or refresh token sent to /graphql is refused as UNAUTHENTICATED, though it works
    on the resource API; a first-party session token is accepted."""
    person = await sign_in(app)
    reg = await register(app)
    tokens = await tokens_for(client, person, reg)
    assert (await call_me(client, tokens.access_token)).status_code == 200
    for token in (tokens.access_token, tokens.refresh_token):
        body = await graphql(client, "{ viewer { username } }", token=token)
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert (await graphql(client, "{ viewer { username } }", token=person.token))["data"] == {
        "viewer": {"username": "alice"}}


async def test_i40_only_application_json_reaches_graphql(client: httpx.AsyncClient, app: Starlette) -> None:
    """/graphql refuses every content type other than application/json (text, forms, multipart, application/graphql,
    none) with 415; JSON with a charset is accepted."""
    await make_account(app, "alice")
    query = '{"query": "{ __typename }"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/graphql", "application/json-patch+json", ""):
        response = await client.post("/graphql", content=query, headers={"content-type": content_type})
        assert response.status_code == 415, (content_type, response.text)
    accepted = await client.post("/graphql", content=query,
                                 headers={"content-type": "application/json; charset=utf-8"})
    assert accepted.json() == {"data": {"__typename": "Query"}}
