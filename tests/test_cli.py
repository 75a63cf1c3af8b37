"""The command line, run as an operator would: a real process against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.graphql.ids import from_global_id
from app.main import create_app
from app.models import AuthorizationCode, AuthorizationRequest, LoginSession, OAuthToken, SecurityEvent, utcnow
from app.services.digests import digest
from app.settings import Settings
from tests.conftest import _free_port, _postgres_database, client_for, new_database_name
from tests.factories import PASSWORD, graphql_data, login
from tests.oauth.helpers import (
    authorize_params,
    call_me,
    pkce_pair,
    query_of,
    refresh,
    register,
    sign_in,
    start,
    tokens_for,
)

ROOT = Path(__file__).resolve().parents[1]


def _run(settings: Settings, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "CONSENTRY_DATABASE_URL": settings.database_url, **(env or {})}
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=120)


async def test_create_user_then_sign_in(settings: Settings) -> None:
    result = _run(settings, "create-user", "carol", "--name", "Carol C", env={"CONSENTRY_NEW_PASSWORD": "s3cret-pass"})
    assert result.returncode == 0, result.stderr
    assert "Created account @carol." in result.stdout
    duplicate = _run(settings, "create-user", "CAROL", env={"CONSENTRY_NEW_PASSWORD": "s3cret-pass"})
    assert duplicate.returncode == 1 and "That username is taken." in duplicate.stderr
    weak = _run(settings, "create-user", "dave", env={"CONSENTRY_NEW_PASSWORD": "password123"})
    assert weak.returncode == 1 and "too common" in weak.stderr

    app = create_app(settings)
    async with client_for(app) as http:
        token = await login(http, "carol", "s3cret-pass")
        assert await graphql_data(http, "{ viewer { username name } }", token=token) == {
            "viewer": {"username": "carol", "name": "Carol C"}}
    await app.state.consentry.database.dispose()


async def test_seed_demo_once_gives_sessions_and_connected_apps(settings: Settings) -> None:
    """seed-demo creates the demo account with its sessions and four connected apps (one OAuth 1.0a), once."""
    first = _run(settings, "seed-demo", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "Sign in as 'demo' with password 'apps-and-sessions'" in first.stdout
    again = _run(settings, "seed-demo", "--if-empty")
    assert "already there" in again.stdout

    app = create_app(settings)
    async with client_for(app) as http:
        token = await login(http, "demo", "apps-and-sessions")
        data = await graphql_data(http, """{ viewer { sessions { totalCount nodes { location } }
            connectedApps { totalCount nodes { app { name } canView { scope } canDo { scope } staysConnected
            protocol accessLevels } } } }""", token=token)
    await app.state.consentry.database.dispose()
    sessions = data["viewer"]["sessions"]
    assert sessions["totalCount"] == 5  # four seeded devices and this sign-in
    assert {"United Kingdom", "United States", "Brazil"} <= {s["location"] for s in sessions["nodes"]}
    apps = {node["app"]["name"]: node for node in data["viewer"]["connectedApps"]["nodes"]}
    assert set(apps) == {"Postwise Reader", "Buffered", "Inbox Zero for DMs", "Threadline Desktop"}
    assert apps["Postwise Reader"]["canDo"] == []
    assert apps["Buffered"]["staysConnected"] is True
    assert {"dm.read"} <= {p["scope"] for p in apps["Inbox Zero for DMs"]["canView"]}
    assert apps["Inbox Zero for DMs"]["accessLevels"] == ["Read, Write and Direct Messages", "Email address"]
    # One OAuth 1.0a app, with its access level and add-on in the reference's words.
    assert apps["Threadline Desktop"]["protocol"] == "OAUTH1"
    assert apps["Threadline Desktop"]["accessLevels"] == ["Read and Write", "Email address"]
    assert {node["protocol"] for name, node in apps.items() if name != "Threadline Desktop"} == {"OAUTH2"}



async def test_seed_demo_if_empty_does_not_advertise_a_demo_account_it_did_not_create(settings: Settings) -> None:
    created = _run(settings, "create-user", "carol", env={"CONSENTRY_NEW_PASSWORD": "s3cret-pass"})
    assert created.returncode == 0, created.stderr
    result = _run(settings, "seed-demo", "--if-empty")
    assert result.returncode == 0, result.stderr
    assert "no demo data was created" in result.stdout and "'demo'" not in result.stdout


def test_operator_mistakes_are_one_line_not_a_traceback(settings: Settings, tmp_path: Path) -> None:
    unmigrated = f"sqlite:///{tmp_path / 'new.db'}"
    password = {"CONSENTRY_NEW_PASSWORD": "correct horse battery"}
    cases = [
        (("create-user", "alice"), {"CONSENTRY_DATABASE_URL": unmigrated, **password}, "run `python -m app migrate`"),
        (("seed-demo",), {"CONSENTRY_DATABASE_URL": unmigrated}, "run `python -m app migrate`"),
        (("migrate",), {"CONSENTRY_DATABASE_URL": "mysql://db.example/consentry"}, "unsupported database 'mysql'"),
        (("migrate",), {"CONSENTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"},
         "unable to open database file"),
        (("register-app", "X", "--redirect-uri", "https://a.example/cb", "--scopes", "tweet.read"),
         {"CONSENTRY_PERMISSION_CATALOG": str(tmp_path / "missing.json")}, "cannot read the permission catalogue"),
        (("create-user", "bob", "--name", "B" * 129), password, "Names are at most 128 characters"),
        (("create-user", "bob", "--email", "b" * 250 + "@x.example"), password, "email address of at most 254"),
    ]
    for args, env, expected in cases:
        result = _run(settings, *args, env=env)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and "$argon2" not in result.stderr, result.stderr
    no_password = subprocess.run([sys.executable, "-m", "app", "create-user", "bob"], cwd=ROOT, input="",
                                 env={**os.environ, "CONSENTRY_DATABASE_URL": settings.database_url},
                                 capture_output=True, text=True, timeout=120)
    assert no_password.returncode == 1 and "no password given" in no_password.stderr
    assert "Traceback" not in no_password.stderr


async def test_purge_expired_deletes_only_what_ended_long_ago(settings: Settings, app: Starlette,
                                                              client: httpx.AsyncClient) -> None:
    now = utcnow()
    person, reg = await sign_in(app), await register(app)
    live_tokens = await tokens_for(client, person, reg)
    revoked_long_ago, expired_long_ago, revoked_lately = [await tokens_for(client, person, reg) for _ in range(3)]
    stale_request = await start(client, person, authorize_params(reg, pkce_pair()[1], prompt="consent"))
    old_session, idle_session, ended_lately = [await login(client) for _ in range(3)]
    long_ago, lately = now - timedelta(days=40), now - timedelta(days=5)
    idle = settings.session_idle_timeout
    database = app.state.consentry.database
    async with database.async_sessions() as db:
        for tokens, values in ((revoked_long_ago, {"revoked_at": long_ago}),
                               (expired_long_ago, {"access_expires_at": long_ago, "refresh_expires_at": long_ago}),
                               (revoked_lately, {"revoked_at": lately})):
            await db.execute(update(OAuthToken).where(OAuthToken.access_digest == digest(tokens.access_token))
                             .values(**values))  # type: ignore[arg-type]
        await db.execute(update(AuthorizationCode).values(expires_at=long_ago))  # every code, used or not
        await db.execute(update(AuthorizationRequest).where(  # type: ignore[arg-type]
            AuthorizationRequest.id == from_global_id(query_of(stale_request)["request"], "AuthorizationRequest"))
            .values(expires_at=long_ago))
        for token, values in ((old_session, {"revoked_at": long_ago}),
                              (idle_session, {"last_active_at": now - idle - timedelta(days=31)}),
                              (ended_lately, {"revoked_at": lately})):
            await db.execute(update(LoginSession).where(LoginSession.token_digest == digest(token))
                             .values(**values))  # type: ignore[arg-type]
        await db.commit()

    result = _run(settings, "purge-expired")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Deleted 2 ended sessions, 2 dead tokens, 4 expired codes and 1 expired "
                                    "authorization requests"), result.stdout

    async with database.async_sessions() as db:
        left = {digest for digest in (await db.execute(select(OAuthToken.access_digest))).scalars()}
        sessions_left = set((await db.execute(select(LoginSession.token_digest))).scalars())
        codes_left = await db.scalar(select(func.count()).select_from(AuthorizationCode))
    assert left == {digest(live_tokens.access_token), digest(revoked_lately.access_token)}
    assert sessions_left == {digest(person.token), digest(ended_lately)}
    assert codes_left == 0
    # What is live works as before.
    assert (await call_me(client, live_tokens.access_token)).status_code == 200
    assert (await refresh(client, reg, live_tokens.refresh_token or "")).status_code == 200
    viewer = await graphql_data(client, "{ viewer { username } }", token=person.token)
    assert viewer == {"viewer": {"username": "alice"}}
    # With nothing kept, what ended lately goes too; the refresh token just rotated stays until it expires, so
    # that presenting it again is still caught as reuse.
    again = _run(settings, "purge-expired", "--keep-days", "0")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Deleted 1 ended sessions, 1 dead tokens,"), again.stdout


async def test_purge_expired_keeps_security_events_for_their_own_period(settings: Settings, app: Starlette,
                                                                        client: httpx.AsyncClient) -> None:
    """Security events are kept for CONSENTRY_SECURITY_EVENT_DAYS (365 by default), however long ago the rest ended;
    purge-expired deletes the older ones and says how many."""
    person = await sign_in(app)
    token = await login(client)
    await graphql_data(client, "mutation { logoutOtherSessions { loggedOutCount } }", token=token)
    ages = {"SIGNED_IN": timedelta(days=400), "OTHER_SESSIONS_LOGGED_OUT": timedelta(days=10)}
    async with app.state.consentry.database.async_sessions() as db:
        for kind, age in ages.items():
            await db.execute(update(SecurityEvent).where(SecurityEvent.kind == kind)  # type: ignore[arg-type]
                             .values(at=utcnow() - age))
        await db.commit()
    del person

    kept = _run(settings, "purge-expired")
    assert kept.returncode == 0, kept.stderr
    assert "and 1 security events older than 365 days." in kept.stdout, kept.stdout
    shorter = _run(settings, "purge-expired", env={"CONSENTRY_SECURITY_EVENT_DAYS": "5"})
    assert "and 1 security events older than 5 days." in shorter.stdout, shorter.stdout
    async with app.state.consentry.database.async_sessions() as db:
        assert await db.scalar(select(func.count()).select_from(SecurityEvent)) == 0
    refused = _run(settings, "purge-expired", env={"CONSENTRY_SECURITY_EVENT_DAYS": "0"})
    assert refused.returncode == 2 and "CONSENTRY_SECURITY_EVENT_DAYS must be at least 1" in refused.stderr


def test_serve_believes_x_forwarded_for_only_from_the_proxy_it_is_told_of(settings: Settings) -> None:
    port = _free_port()
    env = {**os.environ, "CONSENTRY_DATABASE_URL": settings.database_url, "CONSENTRY_BASE_URL": f"http://127.0.0.1:{port}",
           "CONSENTRY_NEW_PASSWORD": PASSWORD}
    subprocess.run([sys.executable, "-m", "app", "create-user", "alice"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    mutation = ("mutation($p: String!) { login(input: {username: \"alice\", password: $p}) "
                "{ session { ipAddress(full: true) } } }")
    for allowed, seen in (("192.0.2.1", "127.0.0.1"), ("127.0.0.1", "203.0.113.5")):
        server = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port), "--proxy-headers"], cwd=ROOT,
            env={**env, "CONSENTRY_FORWARDED_ALLOW_IPS": allowed}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            body = _post_when_up(f"http://127.0.0.1:{port}/graphql", {"query": mutation, "variables": {"p": PASSWORD}},
                                 headers={"x-forwarded-for": "203.0.113.5"})
        finally:
            server.terminate()
            server.wait(timeout=30)
        assert body["data"]["login"]["session"]["ipAddress"] == seen, (allowed, body)



def test_serve_with_workers_logs_json_lines_only_and_probes_add_no_noise(settings: Settings) -> None:
    port = _free_port()
    env = {**os.environ, "CONSENTRY_DATABASE_URL": settings.database_url}
    server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "2"], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = [httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10) for _ in range(3)]
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert [response.status_code for response in ready] == [200, 200, 200]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("{") for line in lines), lines  # the parent process's lines too
    messages = [json.loads(line)["message"] for line in lines]
    assert any("Uvicorn running on" in message for message in messages)
    assert not any(message.startswith(("Context impl", "Will assume")) for message in messages), messages


def test_instances_that_migrate_at_once_take_turns(backend: str) -> None:
    # Every `serve` migrates first, so instances started together raced: all but one failed on a table or column
    # another had just made. SQLite serves one machine; on PostgreSQL an advisory lock orders them.
    if backend != "postgres":
        pytest.skip("instances that share a database server")
    databases = _postgres_database(new_database_name())
    url = next(databases)
    try:
        env = {**os.environ, "CONSENTRY_DATABASE_URL": url}
        runs = [subprocess.Popen([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(4)]
        results = [(*run.communicate(timeout=120), run.returncode) for run in runs]
    finally:
        next(databases, None)
    assert all(code == 0 for _, _, code in results), results
    assert all("newest migration" in out for out, _, _ in results)

def _post_when_up(url: str, payload: dict[str, object], headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        try:
            response = httpx.post(url, json=payload, headers=headers, timeout=10)
            body: dict[str, Any] = response.json()
            return body
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

def test_export_schema_prints_the_sdl(settings: Settings) -> None:
    result = _run(settings, "export-schema")
    assert result.returncode == 0
    assert "type Query" in result.stdout and "logoutOtherSessions" in result.stdout


def test_production_refuses_the_development_secret(settings: Settings) -> None:
    result = _run(settings, "migrate", env={"CONSENTRY_ENVIRONMENT": "production",
                                            "CONSENTRY_BASE_URL": "https://accounts.example"})
    assert result.returncode == 2
    assert "CONSENTRY_SECRET_KEY" in result.stderr
    insecure = _run(settings, "migrate", env={"CONSENTRY_ENVIRONMENT": "production",
                                              "CONSENTRY_SECRET_KEY": "x" * 40,
                                              "CONSENTRY_BASE_URL": "http://accounts.example"})
    assert insecure.returncode == 2 and "https" in insecure.stderr


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


async def test_register_app_prints_credentials_that_work_at_the_token_endpoints(settings: Settings) -> None:
    result = _run(settings, "register-app", "Postwise", "--redirect-uri", "https://postwise.example/cb",
                  "--scopes", "tweet.read users.read", "--developer", "Postwise Labs")
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    client_id, secret = lines["client_id"], lines["client_secret"].split()[0]

    app = create_app(settings)
    async with client_for(app) as http:
        answer = await http.post("/oauth/introspect", data={"token": "unknown"}, auth=(client_id, secret))
        wrong = await http.post("/oauth/introspect", data={"token": "unknown"}, auth=(client_id, "wrong"))
    await app.state.consentry.database.dispose()
    assert (answer.status_code, answer.json()) == (200, {"active": False})
    assert wrong.status_code == 401

    refused = _run(settings, "register-app", "Bad", "--redirect-uri", "http://evil.example/cb",
                   "--scopes", "tweet.read")
    assert refused.returncode == 1 and "error:" in refused.stderr
