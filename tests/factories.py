"""Test data builders and request helpers shared by every test module."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from app.models import Account
from app.services.accounts import create_account

PASSWORD = "correct horse battery staple"
IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.5 Mobile/15E148 Safari/604.1")
WINDOWS_CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/126.0.0.0 Safari/537.36")
MAC_FIREFOX_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0"
ANDROID_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0.0.0 Mobile Safari/537.36")

LOGIN = """
mutation Login($username: String!, $password: String!) {
  login(input: {username: $username, password: $password}) {
    token
    session { id isCurrent device browser os ipAddress location }
    userErrors { message field code }
  }
}
"""


async def make_account(app: Starlette, username: str = "alice", *, password: str = PASSWORD,
                       name: str | None = None, email: str | None = None) -> Account:
    async with app.state.consentry.database.async_sessions() as db:
        return await create_account(db, username=username, name=name or username.title(), password=password,
                                    email=email or f"{username}@example.com")


async def graphql(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
                  *, token: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """POST a GraphQL document and return the whole JSON body."""
    all_headers = dict(headers or {})
    if token:
        all_headers["authorization"] = f"Bearer {token}"
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                                 headers=all_headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def graphql_data(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
                       *, token: str | None = None) -> dict[str, Any]:
    """POST a GraphQL document, assert it raised no top-level errors, and return ``data``."""
    body = await graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def login(client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD) -> str:
    """Sign in through the GraphQL ``login`` mutation and return the session token."""
    data = await graphql_data(client, LOGIN, {"username": username, "password": password})
    assert data["login"]["userErrors"] == [], data
    token: str = data["login"]["token"]
    return token
