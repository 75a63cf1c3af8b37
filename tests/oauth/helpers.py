"""OAuth test helpers: register apps, sign people in, and run the authorization code + PKCE dance over HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from starlette.applications import Starlette

from app.models import Account
from app.services.apps import RegisteredApp, register_app
from app.services.sessions import open_session
from tests.factories import make_account

REDIRECT_URI = "https://client.example.com/callback"
DEFAULT_SCOPES = ["tweet.read", "users.read", "users.email", "tweet.write", "offline.access"]


@dataclass(frozen=True)
class Person:
    account: Account
    token: str  # a first-party session token, sent as Authorization: Bearer

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    scope: str
    body: dict[str, Any]


async def sign_in(app: Starlette, username: str = "alice") -> Person:
    account = await make_account(app, username)
    return await new_session(app, account)


async def new_session(app: Starlette, account: Account) -> Person:
    async with app.state.consentry.database.async_sessions() as db:
        signed_in = await open_session(db, account=account, ip_address="127.0.0.1", user_agent="pytest")
    return Person(account=account, token=signed_in.token)


async def register(app: Starlette, *, scopes: list[str] | None = None, redirect_uris: list[str] | None = None,
                   confidential: bool = True, name: str = "Example App", owner: Account | None = None) -> RegisteredApp:
    state = app.state.consentry
    async with state.database.async_sessions() as db:
        return await register_app(
            db, owner=owner, name=name, description="Posts for you.", website_url="https://client.example.com",
            icon_url=None, redirect_uris=redirect_uris or [REDIRECT_URI], scopes=scopes or DEFAULT_SCOPES,
            confidential=confidential, developer_name="Example Inc.", catalog=state.catalog,
        )


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_params(reg: RegisteredApp, challenge: str, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code", "client_id": reg.app.client_id, "redirect_uri": REDIRECT_URI,
        "scope": "tweet.read users.read offline.access", "state": "state-123", "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def query_of(response: httpx.Response) -> dict[str, str]:
    """The single-valued query parameters of a redirect's Location."""
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def location_base(response: httpx.Response) -> str:
    parts = urlsplit(response.headers["location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else parts.path


async def start(client: httpx.AsyncClient, person: Person, params: dict[str, str] | list[tuple[str, str]]
                ) -> httpx.Response:
    return await client.get("/oauth/authorize", params=params, headers=person.headers)


async def decide(client: httpx.AsyncClient, person: Person, request_id: str, decision: str = "approve",
                 headers: dict[str, str] | None = None) -> httpx.Response:
    return await client.post("/oauth/consent", data={"request": request_id, "decision": decision},
                             headers={**person.headers, **(headers or {})})


async def obtain_code(client: httpx.AsyncClient, person: Person, reg: RegisteredApp,
                      scope: str = "tweet.read users.read offline.access", **overrides: str) -> tuple[str, str]:
    """Authorize (consenting when asked) and return (code, verifier)."""
    verifier, challenge = pkce_pair()
    response = await start(client, person, authorize_params(reg, challenge, scope=scope, **overrides))
    assert response.status_code == 302, response.text
    if location_base(response) == "/oauth/consent":
        response = await decide(client, person, query_of(response)["request"])
        assert response.status_code == 303, response.text
    params = query_of(response)
    assert "code" in params, params
    return params["code"], verifier


def client_auth(reg: RegisteredApp) -> dict[str, Any]:
    """httpx arguments authenticating the app: Basic for confidential apps, client_id in the body for public."""
    if reg.client_secret:
        return {"auth": (reg.app.client_id, reg.client_secret)}
    return {"data_extra": {"client_id": reg.app.client_id}}


async def token_request(client: httpx.AsyncClient, reg: RegisteredApp, data: dict[str, str]) -> httpx.Response:
    auth = client_auth(reg)
    body = {**data, **auth.pop("data_extra", {})}
    return await client.post("/oauth/token", data=body, **auth)


async def exchange(client: httpx.AsyncClient, reg: RegisteredApp, code: str, verifier: str | None,
                   redirect_uri: str = REDIRECT_URI) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    return await token_request(client, reg, data)


async def refresh(client: httpx.AsyncClient, reg: RegisteredApp, refresh_token: str,
                  scope: str | None = None) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scope is not None:
        data["scope"] = scope
    return await token_request(client, reg, data)


async def tokens_for(client: httpx.AsyncClient, person: Person, reg: RegisteredApp,
                     scope: str = "tweet.read users.read offline.access") -> Tokens:
    code, verifier = await obtain_code(client, person, reg, scope=scope)
    response = await exchange(client, reg, code, verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    return Tokens(access_token=body["access_token"], refresh_token=body.get("refresh_token"), scope=body["scope"],
                  body=body)


async def call_me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get("/api/v1/me", headers={"authorization": f"Bearer {access_token}"})


async def introspect(client: httpx.AsyncClient, reg: RegisteredApp, token: str) -> httpx.Response:
    assert reg.client_secret, "introspection is for confidential apps"
    return await client.post("/oauth/introspect", data={"token": token},
                             auth=(reg.app.client_id, reg.client_secret))


async def revoke(client: httpx.AsyncClient, reg: RegisteredApp, token: str,
                 hint: str | None = None) -> httpx.Response:
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    auth = client_auth(reg)
    data.update(auth.pop("data_extra", {}))
    return await client.post("/oauth/revoke", data=data, **auth)


ISSUER = "http://testserver"


def assert_error_redirect(response: httpx.Response, error: str, state: str | None = "state-123") -> dict[str, str]:
    """A redirect back to the registered URI with ``error``, the original ``state`` and our ``iss``."""
    assert response.status_code in (302, 303), response.text
    assert location_base(response) == REDIRECT_URI
    params = query_of(response)
    assert params["error"] == error, params
    assert params["iss"] == ISSUER
    assert params.get("state") == state
    assert "code" not in params
    return params


def assert_error_page(response: httpx.Response, status: int = 400) -> None:
    """An HTML page, never a redirect: the redirect URI could not be trusted."""
    assert response.status_code == status, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
