"""The command line, run as an operator would: a real process against a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from app.main import create_app
from app.settings import Settings
from tests.conftest import client_for
from tests.factories import graphql_data, login

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
    first = _run(settings, "seed-demo", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "Sign in as 'demo' with password 'apps-and-sessions'" in first.stdout
    again = _run(settings, "seed-demo", "--if-empty")
    assert "already there" in again.stdout

    app = create_app(settings)
    async with client_for(app) as http:
        token = await login(http, "demo", "apps-and-sessions")
        data = await graphql_data(http, """{ viewer { sessions { totalCount nodes { location } }
            connectedApps { totalCount nodes { app { name } canView { scope } canDo { scope } staysConnected } } } }""",
            token=token)
    await app.state.consentry.database.dispose()
    sessions = data["viewer"]["sessions"]
    assert sessions["totalCount"] == 5  # four seeded devices and this sign-in
    assert {"United Kingdom", "United States", "Brazil"} <= {s["location"] for s in sessions["nodes"]}
    apps = {node["app"]["name"]: node for node in data["viewer"]["connectedApps"]["nodes"]}
    assert set(apps) == {"Postwise Reader", "Buffered", "Inbox Zero for DMs"}
    assert apps["Postwise Reader"]["canDo"] == []
    assert apps["Buffered"]["staysConnected"] is True
    assert {"dm.read"} <= {p["scope"] for p in apps["Inbox Zero for DMs"]["canView"]}



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

    refused = _run(settings, "register-app", "Bad", "--redirect-uri", "http://evil.example/cb", "--scopes", "tweet.read")
    assert refused.returncode == 1 and "error:" in refused.stderr
