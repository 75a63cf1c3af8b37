"""OAuth 1.0a test helpers: register an app with an access level, sign requests with oauthlib (a client library
independent of the server's Authlib), and walk the three legs in-process over https://testserver."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, Client
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.models import Grant, OAuth1Nonce, OAuth1TemporaryCredential, OAuth1Token
from app.services.apps import RegisteredApp, register_app
from app.services.oauth1.registration import OAuth1Options
from tests.oauth.helpers import Person

BASE = "https://testserver"  # OAuth 1.0a travels over https (Authlib allows plain http on loopback only)
CALLBACK = "https://client.example.com/oauth1/callback"


@dataclass(frozen=True)
class Credentials:
    token: str
    secret: str
    body: dict[str, str]


async def register_oauth1(app: Starlette, *, name: str = "Threadline", level: str = "read-write",
                          add_ons: list[str] | None = None, callbacks: list[str] | None = None) -> RegisteredApp:
    state = app.state.consentry
    async with state.database.async_sessions() as db:
        return await register_app(
            db, owner=None, name=name, description="Reads and writes long threads.",
            website_url="https://client.example.com", icon_url=None,
            redirect_uris=[CALLBACK] if callbacks is None else callbacks, scopes=[], confidential=True,
            developer_name="Threadline Co.", catalog=state.catalog,
            oauth1=OAuth1Options(access_level=level, add_ons=["email"] if add_ons is None else add_ons,
                                 secret_key=state.settings.secret_key))


def https_client(app: Starlette, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, **kwargs)


def sign(method: str, url: str, reg: RegisteredApp, *, token: Credentials | None = None, callback: str | None = None,
         verifier: str | None = None, signature_method: str = SIGNATURE_HMAC_SHA1, consumer_secret: str | None = None,
         token_secret: str | None = None, timestamp: int | str | None = None, nonce: str | None = None,
         body: dict[str, str] | None = None, consumer_key: str | None = None) -> tuple[str, dict[str, str], str | None]:
    """An oauthlib-signed request: (url, headers, body). Every part can be made wrong on purpose."""
    client = Client(
        consumer_key or reg.app.client_id, client_secret=consumer_secret or reg.client_secret,
        resource_owner_key=token.token if token else None,
        resource_owner_secret=token_secret or (token.secret if token else None), callback_uri=callback,
        verifier=verifier, signature_method=signature_method,
        timestamp=str(timestamp if timestamp is not None else int(time.time())), nonce=nonce)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    signed_url, signed_headers, signed_body = client.sign(url, http_method=method,
                                                          body=urlencode(body) if body is not None else None,
                                                          headers=headers)
    return signed_url, dict(signed_headers), signed_body


async def send(http: httpx.AsyncClient, method: str, url: str, reg: RegisteredApp, **options: Any) -> httpx.Response:
    signed_url, headers, body = sign(method, url, reg, **options)
    return await http.request(method, signed_url, headers=headers, content=body)


def form(response: httpx.Response) -> dict[str, str]:
    return dict(parse_qsl(response.text, keep_blank_values=True))


async def request_token(http: httpx.AsyncClient, reg: RegisteredApp, *, callback: str = CALLBACK,
                        **options: Any) -> Credentials:
    response = await send(http, "POST", f"{BASE}/oauth/request_token", reg, callback=callback, **options)
    assert response.status_code == 200, response.text
    body = form(response)
    assert body["oauth_callback_confirmed"] == "true"
    return Credentials(token=body["oauth_token"], secret=body["oauth_token_secret"], body=body)


async def approve(http: httpx.AsyncClient, person: Person, temporary: Credentials,
                  decision: str = "approve") -> httpx.Response:
    """The person opens the consent page and answers it (as the page's own form would post)."""
    page = await http.get("/oauth/authorize", params={"oauth_token": temporary.token}, headers=person.headers)
    assert page.status_code == 200, page.text
    return await http.post("/oauth/consent", data={"oauth_token": temporary.token, "decision": decision},
                           headers={**person.headers, "origin": BASE})


def query_of(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))


async def access_token(http: httpx.AsyncClient, reg: RegisteredApp, temporary: Credentials, verifier: str,
                       **options: Any) -> httpx.Response:
    return await send(http, "POST", f"{BASE}/oauth/access_token", reg, token=temporary, verifier=verifier, **options)


async def connect(http: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> Credentials:
    """All three legs: temporary credentials, the person's approval, token credentials."""
    temporary = await request_token(http, reg)
    answer = await approve(http, person, temporary)
    assert answer.status_code == 303, answer.text
    verifier = query_of(answer.headers["location"])["oauth_verifier"]
    response = await access_token(http, reg, temporary, verifier)
    assert response.status_code == 200, response.text
    body = form(response)
    return Credentials(token=body["oauth_token"], secret=body["oauth_token_secret"], body=body)


async def me(http: httpx.AsyncClient, reg: RegisteredApp, token: Credentials, **options: Any) -> httpx.Response:
    return await send(http, "GET", f"{BASE}/api/v1/me", reg, token=token, **options)


async def counts(app: Starlette) -> dict[str, int]:
    """Rows of every table an OAuth 1.0a request could write: a refused request must change none of them."""
    async with app.state.consentry.database.async_sessions() as db:
        result = {}
        for model in (OAuth1TemporaryCredential, OAuth1Token, OAuth1Nonce, Grant):
            result[model.__tablename__] = int(await db.scalar(select(func.count()).select_from(model)) or 0)
        used = select(func.count()).select_from(OAuth1TemporaryCredential).where(
            OAuth1TemporaryCredential.used_at.is_not(None))  # type: ignore[union-attr]
        result["used temporary credentials"] = int(await db.scalar(used) or 0)
        return result
