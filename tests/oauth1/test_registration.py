"""Registering an OAuth 1.0a app: GraphQL registerApp and the CLI's register-app take a protocol, an access level
and add-ons; the consumer key and secret they hand out sign requests at once, and a rotated secret replaces the
old one at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from requests_oauthlib import OAuth1Session

from app.services.apps import RegisteredApp
from app.settings import Settings
from tests.conftest import LiveServer
from tests.factories import graphql_data
from tests.oauth.helpers import Person
from tests.oauth1.helpers import BASE, CALLBACK, form, send

ROOT = Path(__file__).resolve().parents[2]
REGISTER = """mutation($input: RegisterAppInput!) { registerApp(input: $input) {
  app { id clientId protocol accessLevel addOns allowedScopes redirectUris isConfidential } clientSecret
  userErrors { field code message } } }"""
ROTATE = """mutation($id: ID!) { rotateClientSecret(input: {appId: $id}) { clientSecret userErrors { code } } }"""


def _input(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {"name": "Threadline", "redirectUris": [CALLBACK], "protocol": "OAUTH1",
                                 "accessLevel": "read-write-dm", "addOns": ["email", "ads-analytics"]}
    values.update(overrides)
    return {"input": values}


def _app_for(data: dict[str, object]) -> RegisteredApp:
    """Enough of a RegisteredApp for the signing helpers: the consumer key and secret."""
    class _App:
        client_id = data["app"]["clientId"]  # type: ignore[index]
    return RegisteredApp(app=_App(), client_secret=data["clientSecret"])  # type: ignore[arg-type]


async def test_register_an_oauth1_app_through_graphql_and_rotate_its_secret(
        http: httpx.AsyncClient, person: Person) -> None:
    """registerApp with protocol OAUTH1 answers the consumer key and secret, the level and add-ons, and the scopes
    they amount to; the secret signs at once, and after rotateClientSecret only the new one does."""
    data = (await graphql_data(http, REGISTER, _input(), token=person.token))["registerApp"]
    assert data["userErrors"] == [], data
    registered = data["app"]
    assert (registered["protocol"], registered["accessLevel"], registered["addOns"]) == (
        "OAUTH1", "read-write-dm", ["email", "ads-analytics"])
    assert {"dm.read", "dm.write", "users.email", "ads.read"} <= set(registered["allowedScopes"])
    assert "ads.write" not in registered["allowedScopes"] and registered["isConfidential"] is True
    first = _app_for(data)
    assert (await send(http, "POST", f"{BASE}/oauth/request_token", first, callback=CALLBACK)).status_code == 200

    rotated = (await graphql_data(http, ROTATE, {"id": registered["id"]}, token=person.token))["rotateClientSecret"]
    assert rotated["userErrors"] == []
    old = await send(http, "POST", f"{BASE}/oauth/request_token", first, callback=CALLBACK)
    assert old.status_code == 401 and form(old)["error"] == "invalid_signature"
    new = _app_for({"app": registered, "clientSecret": rotated["clientSecret"]})
    assert (await send(http, "POST", f"{BASE}/oauth/request_token", new, callback=CALLBACK)).status_code == 200


async def test_bad_oauth1_registrations_are_user_errors(http: httpx.AsyncClient, person: Person) -> None:
    """An unknown or missing level, an unknown add-on, or scopes instead of a level: INVALID on that field."""
    cases = [(_input(accessLevel="admin"), "accessLevel"), (_input(accessLevel=None), "accessLevel"),
             (_input(addOns=["email", "telepathy"]), "addOns"), (_input(scopes=["tweet.read"]), "scopes"),
             (_input(redirectUris=["http://evil.example/cb"]), "redirectUris")]
    for variables, field in cases:
        data = (await graphql_data(http, REGISTER, variables, token=person.token))["registerApp"]
        assert data["app"] is None and data["userErrors"][0]["field"] == field, (variables, data)
    # A PIN-only app (no callback URL) is fine for OAuth 1.0a, never for OAuth 2.0.
    pin_only = (await graphql_data(http, REGISTER, _input(redirectUris=[]), token=person.token))["registerApp"]
    assert pin_only["userErrors"] == [] and pin_only["app"]["redirectUris"] == []


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONSENTRY_DATABASE_URL": settings.database_url}
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


async def test_cli_registers_an_oauth1_app_whose_keys_work(live_server: LiveServer) -> None:
    """register-app --protocol oauth1 prints a consumer key and secret that requests-oauthlib signs with at once;
    a level given to an OAuth 2.0 registration is an operator mistake, one line."""
    result = _run(live_server.settings, "register-app", "Threadline", "--protocol", "oauth1",
                  "--access-level", "read-write", "--add-on", "email", "--redirect-uri", CALLBACK)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    key, secret = lines["consumer key (API key)"], lines["consumer secret (API key secret)"].split()[0]
    session = OAuth1Session(key, client_secret=secret, callback_uri="oob")
    assert session.fetch_request_token(f"{live_server.url}/oauth/request_token")["oauth_callback_confirmed"] == "true"

    mistaken = _run(live_server.settings, "register-app", "X", "--redirect-uri", CALLBACK, "--scopes", "tweet.read",
                    "--access-level", "read")
    assert mistaken.returncode == 1 and "for --protocol oauth1" in mistaken.stderr
    unknown = _run(live_server.settings, "register-app", "X", "--protocol", "oauth1", "--access-level", "everything")
    assert unknown.returncode == 1 and "Choose an access level: read, read-write, read-write-dm." in unknown.stderr
    assert "Traceback" not in mistaken.stderr + unknown.stderr
