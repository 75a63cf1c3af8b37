"""A cap on live sessions per account (SECURITY.md K52): signing in past it ends the least recently active
session, and the person is told which."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from starlette.applications import Starlette

from tests.factories import (
    ANDROID_UA,
    IPHONE_UA,
    LOGIN,
    MAC_FIREFOX_UA,
    PASSWORD,
    WINDOWS_CHROME_UA,
    graphql,
    graphql_data,
    make_account,
)

ENDED = """
mutation($username: String!, $password: String!) {
  login(input: {username: $username, password: $password}) {
    token endedSessions { id browser os isCurrent } userErrors { code }
  }
}
"""


async def _alive(http: httpx.AsyncClient, token: str) -> bool:
    return "errors" not in await graphql(http, "{ viewer { id } }", token=token)


async def test_k52_signing_in_past_the_cap_ends_the_least_recently_active_session(
    make_apps: Callable[..., Starlette], clients: Callable[..., httpx.AsyncClient],
) -> None:
    """With a cap of 3, a fourth sign-in ends the oldest idle session (not the newest, not the one signing in),
    names it in ``endedSessions``, and leaves exactly three live sessions."""
    app = make_apps(max_sessions_per_account=3)
    await make_account(app, "alice")
    tokens = []
    for agent in (WINDOWS_CHROME_UA, IPHONE_UA, ANDROID_UA):
        http = clients(app, user_agent=agent)
        data = await graphql_data(http, LOGIN, {"username": "alice", "password": PASSWORD})
        tokens.append(data["login"]["token"])
    fourth = clients(app, user_agent=MAC_FIREFOX_UA)
    data = (await graphql_data(fourth, ENDED, {"username": "alice", "password": PASSWORD}))["login"]
    assert data["userErrors"] == []
    ended = [(s["browser"], s["os"], s["isCurrent"]) for s in data["endedSessions"]]
    assert ended == [("Chrome 126", "Windows 10", False)]
    assert [await _alive(fourth, token) for token in [*tokens, data["token"]]] == [False, True, True, True]
    sessions = await graphql_data(fourth, "{ viewer { sessions { totalCount } } }", token=data["token"])
    assert sessions["viewer"]["sessions"]["totalCount"] == 3


async def test_k52_under_the_cap_no_session_ends(make_apps: Callable[..., Starlette],
                                                 clients: Callable[..., httpx.AsyncClient]) -> None:
    """Below the cap, signing in ends nothing and says so with an empty list."""
    app = make_apps(max_sessions_per_account=3)
    await make_account(app, "alice")
    http = clients(app)
    first = (await graphql_data(http, ENDED, {"username": "alice", "password": PASSWORD}))["login"]
    second = (await graphql_data(http, ENDED, {"username": "alice", "password": PASSWORD}))["login"]
    assert first["endedSessions"] == [] and second["endedSessions"] == []
    assert await _alive(http, first["token"]) and await _alive(http, second["token"])


async def test_k52_the_settings_page_says_a_sign_in_ended_a_session(
    make_apps: Callable[..., Starlette], clients: Callable[..., httpx.AsyncClient],
) -> None:
    """A browser sign-in past the cap lands on the settings page with a notice saying why a session ended."""
    app = make_apps(max_sessions_per_account=1)
    await make_account(app, "alice")
    phone = clients(app, user_agent=IPHONE_UA)
    await graphql_data(phone, LOGIN, {"username": "alice", "password": PASSWORD})
    browser = clients(app, user_agent=MAC_FIREFOX_UA)
    answer = await browser.post("/login", data={"username": "alice", "password": PASSWORD, "next": "/settings"},
                                headers={"sec-fetch-site": "same-origin"})
    assert answer.status_code == 303 and answer.headers["location"] == "/settings?notice=session-limit"
    page = await browser.get(answer.headers["location"])
    assert page.status_code == 200
    assert "logged out your least recently active session" in page.text and "limit of 1 signed-in" in page.text
    assert "notice=session-limit" not in (await browser.get("/settings")).text  # said once, on arrival
