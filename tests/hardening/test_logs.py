"""Structured logs: one JSON object per line, a request ID per request (echoed in ``X-Request-ID``), and no secret
in any line, even at DEBUG level, across a full flow that handles every kind of secret we have."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.http.logs import JsonFormatter
from app.services import sessions as session_service
from tests.conftest import client_for
from tests.factories import LOGIN, PASSWORD, graphql_data, make_account
from tests.oauth.helpers import Person, call_me, exchange, introspect, obtain_code, refresh, register, revoke

NEW_PASSWORD = "plum tiger seventeen ladders"
WRONG_PASSWORD = "hunter2-wrong-guess"


@pytest.fixture
def captured_logs(app: Starlette) -> Iterator[io.StringIO]:
    """Everything any logger writes, formatted by our production formatter, at DEBUG level."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def _full_flow(app: Starlette, http: httpx.AsyncClient) -> list[str]:
    """Sign in every way, run OAuth end to end, change the password; return every secret value used."""
    account = await make_account(app, "alice")
    reg = await register(app)
    assert reg.client_secret
    page = await http.post("/login", data={"username": "alice", "password": PASSWORD, "next": "/settings"},
                           headers={"sec-fetch-site": "same-origin"})
    cookie = page.cookies["consentry_session"]
    http.cookies.clear()
    await http.post("/login", data={"username": "alice", "password": WRONG_PASSWORD},
                    headers={"sec-fetch-site": "same-origin"})
    token = (await graphql_data(http, LOGIN, {"username": "alice", "password": PASSWORD}))["login"]["token"]
    person = Person(account=account, token=token)

    code, verifier = await obtain_code(http, person, reg)
    tokens = (await exchange(http, reg, code, verifier)).json()
    rotated = (await refresh(http, reg, tokens["refresh_token"])).json()
    await introspect(http, reg, rotated["access_token"])
    await http.get("/api/v1/me", params={"access_token": rotated["access_token"]})  # a token in the wrong place
    await call_me(http, rotated["access_token"])
    await revoke(http, reg, rotated["refresh_token"])
    await http.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]},
                    auth=(reg.app.client_id, reg.client_secret))
    await exchange(http, reg, code, verifier)  # a replayed code: refused and logged, never with the code
    changed = await graphql_data(http, "mutation($c: String!, $n: String!) { changePassword(input: "
                                 "{currentPassword: $c, newPassword: $n}) { userErrors { code } } }",
                                 {"c": PASSWORD, "n": NEW_PASSWORD}, token=token)
    assert changed == {"changePassword": {"userErrors": []}}
    return [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, cookie, token, code, verifier, reg.client_secret,
            tokens["access_token"], tokens["refresh_token"], rotated["access_token"], rotated["refresh_token"]]


async def test_no_secret_appears_in_the_logs_of_a_full_flow(app: Starlette, captured_logs: io.StringIO) -> None:
    async with client_for(app) as http:
        secrets = await _full_flow(app, http)
    text = captured_logs.getvalue()
    records = _records(captured_logs)  # every line is one JSON object
    paths = {record.get("path") for record in records if record["logger"] == "consentry.access"}
    assert {"/login", "/graphql", "/oauth/authorize", "/oauth/token", "/oauth/introspect", "/oauth/revoke",
            "/api/v1/me"} <= paths
    leaked = [secret[:6] + "…" for secret in secrets if secret in text]
    assert leaked == [], f"secrets found in the logs: {leaked}"



async def test_a_password_in_a_document_the_server_refuses_never_reaches_the_logs(
        app: Starlette, captured_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    # Strawberry logged every error with its message and the document, and a refusal often quotes what was sent.
    await make_account(app, "alice")
    mutation = "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }"
    attempts: list[dict[str, Any]] = [
        {"query": mutation, "variables": {"u": "alice", "p": 20250917314159}},  # not a string: quoted back
        {"query": mutation, "variables": {"u": "alice", "p": {"pw": "InputSecret-777"}}},
        {"query": 'mutation { login(input: {username: "alice", password: "Esc\\"apedSecret-222"}) { tokn } }'},
        {"query": 'mutation { login(input: {username: "alice", password: """BlockSecret-111"""}) { tokn } }'},
        {"query": 'mutation { login(input: {username: "alice",\n password:\n "MultiLineSecret-333"}) { tokn } }'},
    ]
    async with client_for(app) as http:
        for attempt in attempts:
            response = await http.post("/graphql", json=attempt)
            assert response.status_code == 200 and response.json()["errors"], response.text

        # An unexpected failure is still logged, with its traceback, and without the document.
        async def broken(*_args: Any, **_kwargs: Any) -> None:
            raise RuntimeError("the thing we need to see")

        monkeypatch.setattr(session_service, "sign_in", broken)
        await http.post("/graphql", json={"query": mutation, "variables": {"u": "alice", "p": "VariableSecret-444"}})
    text = captured_logs.getvalue()
    for secret in ("20250917314159", "InputSecret-777", "apedSecret-222", "BlockSecret-111", "MultiLineSecret-333",
                   "VariableSecret-444"):
        assert secret not in text, secret
    failures = [record for record in _records(captured_logs)
                if record["message"] == "a GraphQL request failed on our side"]
    assert len(failures) == 1 and "the thing we need to see" in failures[0]["exception"]
    assert failures[0]["graphql_path"] == "login"

async def test_every_request_gets_an_id_in_its_log_lines_and_its_response(
    app: Starlette, captured_logs: io.StringIO,
) -> None:
    async with client_for(app) as http:
        first, second = await http.get("/healthz"), await http.get("/healthz")
        chosen = await http.get("/healthz", headers={"x-request-id": "edge-proxy-1234abcd"})
        forged = await http.get("/healthz", headers={"x-request-id": "bad id\twith spaces"})
    ids = [response.headers["x-request-id"] for response in (first, second, chosen, forged)]
    assert ids[0] != ids[1] and len(ids[0]) == 32
    assert ids[2] == "edge-proxy-1234abcd"
    assert ids[3] != "bad id\twith spaces" and len(ids[3]) == 32
    access = [record for record in _records(captured_logs) if record["logger"] == "consentry.access"]
    assert [record["request_id"] for record in access] == ids
    assert {(record["method"], record["path"], record["status"]) for record in access} == {("GET", "/healthz", 200)}


def test_the_formatter_masks_secrets_handed_to_it_by_mistake() -> None:
    record = logging.LogRecord("consentry", logging.WARNING, __file__, 1,
                               "retrying with password=%s and Authorization: Bearer %s", ("s3cr3t-pw", "tok123"), None)
    record.client_secret = "cs-999"
    line = json.loads(JsonFormatter().format(record))
    assert "s3cr3t-pw" not in line["message"] and "tok123" not in line["message"]
    assert line["client_secret"] == "[redacted]"


@pytest.mark.parametrize(("path", "content_type"), [("/graphql", b"application/json"),
                                                     ("/login", b"application/x-www-form-urlencoded")])
async def test_a_client_that_leaves_mid_request_is_a_499_line_and_nothing_else(
    app: Starlette, captured_logs: io.StringIO, path: str, content_type: bytes
) -> None:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", content_type), (b"content-length", b"400")],
             "client": ("203.0.113.9", 50000), "server": ("testserver", 80)}
    messages = iter([{"type": "http.request", "body": b'{"query": "{ vie', "more_body": True},
                     {"type": "http.disconnect"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # nothing raised: there is nobody left to answer

    records = _records(captured_logs)
    assert sent == []
    assert [(r["path"], r["status"]) for r in records if r["logger"] == "consentry.access"] == [(path, 499)]
    assert [r for r in records if r["level"] not in ("debug", "info")] == []


def test_json_lines_carry_no_colour_escapes_from_uvicorn() -> None:
    """uvicorn puts a copy of its message with ANSI colour codes on its records (``color_message``); a JSON line
    is read by machines and must not carry it."""
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started server process [%d]", (42,), None)
    record.color_message = "Started server process [\x1b[36m%d\x1b[0m]"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Started server process [42]"
    assert "color_message" not in line and "\x1b" not in json.dumps(line)


def test_disposing_the_engines_logs_nothing_at_info(settings: Any) -> None:
    """Shutting a server down announced "Pool disposed" and "Pool recreating" at INFO for every engine."""
    import asyncio

    from app.db.engines import create_database
    from app.http.logs import configure_logging

    configure_logging("INFO")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        database = create_database(settings.database_url)
        asyncio.run(database.dispose())
    finally:
        root.removeHandler(handler)
    assert "Pool" not in stream.getvalue(), stream.getvalue()


def test_collecting_the_tests_ends_without_a_logging_error() -> None:
    """``pytest --collect-only`` ended with "--- Logging error --- … I/O operation on closed file": our handler kept
    the stderr pytest had swapped in and closed."""
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
                           "tests/hardening/test_logs.py"], cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Logging error" not in done.stdout + done.stderr
