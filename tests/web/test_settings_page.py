"""``GET /settings`` over HTTP: who may see it, what it sends, and that it shows only the viewer's own data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from starlette.applications import Starlette

from app.web.display import relative_time
from tests.conftest import client_for
from tests.factories import PASSWORD, WINDOWS_CHROME_UA, graphql_data, make_account
from tests.oauth.helpers import call_me, register, sign_in, tokens_for

SAME_ORIGIN = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
REVOKE = "mutation($appId: ID!) { revokeAccess(input: {appId: $appId}) { userErrors { code } } }"


@asynccontextmanager
async def _browser_login(app: Starlette, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the session cookie of a sign-in through the form, as a browser would."""
    async with client_for(app, user_agent=WINDOWS_CHROME_UA) as http:
        response = await http.post("/login", data={"username": username, "password": PASSWORD}, headers=SAME_ORIGIN)
        assert response.status_code == 303
        yield http


async def test_signed_out_visitors_are_sent_to_sign_in_and_back(client: httpx.AsyncClient) -> None:
    response = await client.get("/settings")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/settings"


async def test_page_sends_a_strict_policy_and_needs_no_inline_code(app: Starlette) -> None:
    await make_account(app)
    async with _browser_login(app, "alice") as http:
        response = await http.get("/settings")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "<title>Apps and sessions · Consentry</title>" in response.text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.text) == []
    assert " style=" not in response.text and "<style" not in response.text
    loaded = re.findall(r'<(?:script|link|img)\b[^>]*?(?:src|href)="([^"]*)"', response.text)
    assert loaded and all(url.startswith("/static/") for url in loaded), loaded  # nothing fetched from elsewhere


async def test_connected_app_and_sessions_are_rendered_on_the_server(app: Starlette, client: httpx.AsyncClient) -> None:
    person = await sign_in(app, "alice")  # also opens a second (pytest) session
    reg = await register(app, name="Example App")
    await tokens_for(client, person, reg, scope="tweet.read users.read tweet.write offline.access")
    async with _browser_login(app, "alice") as http:
        html = (await http.get("/settings")).text
    assert "Example App" in html and "By Example Inc." in html
    assert "Things this App can view" in html and "Things this App can do" in html and "Post for you" in html
    assert "Stays connected" in html
    assert re.search(r"<dt>Access level</dt>\s*<dd>Read and Write</dd>", html)
    assert html.count('data-current="true"') == 1 and html.count('data-current="false"') == 1
    assert "Chrome 126 on Windows 10" in html and "This device" in html
    assert 'data-others="1"' in html


async def test_the_page_never_shows_another_accounts_apps_or_sessions(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_account(app, "alice")
    bob = await sign_in(app, "bob")
    reg = await register(app, name="Bobs Secret App")
    await tokens_for(client, bob, reg)
    async with _browser_login(app, "alice") as http:
        html = (await http.get("/settings")).text
    assert "Bobs Secret App" not in html and "No connected apps" in html
    assert html.count("data-session-id=") == 1


async def test_an_app_revoked_through_graphql_is_gone_from_the_page(app: Starlette, client: httpx.AsyncClient) -> None:
    person = await sign_in(app, "alice")
    reg = await register(app, name="Example App")
    tokens = await tokens_for(client, person, reg)
    async with _browser_login(app, "alice") as http:
        app_id = re.search(r'data-app-id="([^"]+)"', (await http.get("/settings")).text)
        assert app_id is not None
        data = await graphql_data(http, REVOKE, {"appId": app_id.group(1)})
        assert data == {"revokeAccess": {"userErrors": []}}
        html = (await http.get("/settings")).text
    assert "Example App" not in html
    assert (await call_me(client, tokens.access_token)).status_code == 401


def test_relative_times_read_like_a_person_says_them() -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    cases = {
        timedelta(seconds=20): "just now", timedelta(minutes=1): "1 minute ago",
        timedelta(minutes=59): "59 minutes ago",
        timedelta(hours=2): "2 hours ago", timedelta(days=1, hours=3): "1 day ago", timedelta(days=6): "6 days ago",
        timedelta(days=15): "2 weeks ago", timedelta(days=65): "2 months ago", timedelta(days=800): "2 years ago",
    }
    assert {age: relative_time(now - age, now) for age in cases} == cases
    assert relative_time((now - timedelta(hours=3)).replace(tzinfo=None), now) == "3 hours ago"  # SQLite's naive UTC
