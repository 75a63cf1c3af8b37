"""The security center's story, from three devices: a browser in Germany (the owner's computer), a phone app in
the UK and an Android phone in Brazil, both over GraphQL.

They sign in; the computer authorizes one app on the consent page and the phone another through GraphQL; the
Android phone fails to sign in until it is limited; the computer logs the Android session out; the phone revokes
the first app; the computer uses "This wasn't me" on the phone's session and then changes the password. Afterwards
the timeline holds exactly the expected events, in order, with the right device and country, and every receipt's
counts match the rows the database ended at that moment.

Addresses reach the live server as ``X-Forwarded-For`` from loopback, which uvicorn trusts by default (as behind a
proxy on the same host), so each device has a country.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import LoginSession, OAuthToken
from app.services.accounts import create_account
from app.settings import Settings
from tests.conftest import LiveServer
from tests.factories import ANDROID_UA, IPHONE_UA, LOGIN, PASSWORD, WINDOWS_CHROME_UA
from tests.oauth.helpers import pkce_pair
from tests.web.browser import (
    AppCallback,
    authorize_url,
    browser,
    exchange_code,
    new_context,
    register_app,
    require_chromium,
    sign_in,
    with_db,
)

__all__ = ["browser"]
GERMANY, UK, BRAZIL = "85.214.132.117", "81.2.69.160", "200.160.2.3"
NEW_PASSWORD = "plum tiger seventeen ladders"
SCOPES = "tweet.read users.read offline.access"
RECEIPT = "receipt { accessTokens refreshTokens sessions endedAt }"


@pytest.fixture
def story_server(settings: Settings, backend: str) -> Iterator[LiveServer]:
    """A live server whose sign-in limit is reached after three failures."""
    if backend != "sqlite":
        pytest.skip("browser tests run on one engine (SQLite)")
    require_chromium()
    with LiveServer(settings.with_overrides(login_attempts_per_account="3/15 minutes",
                                            login_attempts_per_device="3/15 minutes")) as server:
        with_db(server.settings, lambda db: create_account(db, username="alice", name="Alice", password=PASSWORD))
        yield server


def _device(base_url: str, ip: str, user_agent: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"user-agent": user_agent, "x-forwarded-for": ip})


def _graphql(http: httpx.Client, query: str, variables: dict[str, Any] | None = None,
             token: str | None = None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = http.post("/graphql", json={"query": query, "variables": variables or {}},
                                     headers=headers).json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def _ended(settings: Settings, receipt: dict[str, Any]) -> dict[str, int]:
    """What the database ended at the receipt's ``endedAt``: live access and refresh tokens, live sessions."""
    at = datetime.fromisoformat(receipt["endedAt"])

    async def count(db: AsyncSession) -> dict[str, int]:
        rows = (await db.execute(select(OAuthToken).where(OAuthToken.revoked_at == at))).scalars().all()  # type: ignore[arg-type]
        sessions = await db.scalar(select(func.count()).select_from(LoginSession).where(
            LoginSession.revoked_at == at))  # type: ignore[arg-type]
        return {"accessTokens": sum(row.access_expires_at > at for row in rows),
                "refreshTokens": sum(row.refresh_expires_at is not None and row.refresh_used_at is None
                                     and row.refresh_expires_at > at for row in rows),
                "sessions": int(sessions or 0)}

    return with_db(settings, count)


def _counts(receipt: dict[str, Any]) -> dict[str, int]:
    return {key: receipt[key] for key in ("accessTokens", "refreshTokens", "sessions")}


def _record_graphql(page: Page) -> list[dict[str, Any]]:
    """The JSON bodies of the page's GraphQL answers, read as they pass (a page that navigates right after an answer
    no longer has its body to give)."""
    answers: list[dict[str, Any]] = []

    def through(route: Route) -> None:
        response = route.fetch()
        answers.append(response.json())
        route.fulfill(response=response)

    page.route("**/graphql", through)
    return answers


def _answer(answers: list[dict[str, Any]], field: str) -> dict[str, Any]:
    """The last answer that carries ``field``."""
    found: dict[str, Any] = [a["data"][field] for a in answers if field in (a.get("data") or {})][-1]
    return found


def test_three_devices_leave_exactly_the_expected_timeline(browser: Browser, story_server: LiveServer) -> None:
    server, settings = story_server, story_server.settings
    receipts: list[dict[str, Any]] = []
    computer = new_context(browser, user_agent=WINDOWS_CHROME_UA,
                           extra_http_headers={"x-forwarded-for": GERMANY}).new_page()
    phone, android = _device(server.url, UK, IPHONE_UA), _device(server.url, BRAZIL, ANDROID_UA)
    with AppCallback() as callback, phone, android:
        pixelfeed = register_app(settings, redirect_uri=callback.redirect_uri, scopes=SCOPES, name="Pixelfeed")
        postwise = register_app(settings, redirect_uri=callback.redirect_uri, scopes=SCOPES, name="Postwise")

        # Everyone signs in: the computer with the form, the phones with the login mutation.
        sign_in(computer, server.url, username="alice", password=PASSWORD)
        phone_token = _graphql(phone, LOGIN, {"username": "alice", "password": PASSWORD})["login"]["token"]
        assert _graphql(android, LOGIN, {"username": "alice", "password": PASSWORD})["login"]["token"]

        # The computer authorizes Pixelfeed on the consent page; the app redeems its code.
        verifier, challenge = pkce_pair()
        computer.goto(authorize_url(server.url, pixelfeed, redirect_uri=callback.redirect_uri, scope=SCOPES,
                                    challenge=challenge))
        computer.get_by_role("button", name="Authorize app").click()
        computer.wait_for_url(f"{callback.redirect_uri}*")
        assert exchange_code(server.url, pixelfeed, code=callback.received[-1]["code"], verifier=verifier,
                             redirect_uri=callback.redirect_uri).status_code == 200

        # The phone authorizes Postwise through GraphQL.
        verifier, challenge = pkce_pair()
        asked = phone.get(authorize_url(server.url, postwise, redirect_uri=callback.redirect_uri, scope=SCOPES,
                                        challenge=challenge), headers={"authorization": f"Bearer {phone_token}"})
        request_id = asked.headers["location"].split("request=")[1]
        answer = _graphql(phone, "mutation($r: ID!) { authorize(input: {requestId: $r}) { redirectUri } }",
                          {"r": request_id}, phone_token)["authorize"]["redirectUri"]
        code = httpx.URL(answer).params["code"]
        assert exchange_code(server.url, postwise, code=code, verifier=verifier,
                             redirect_uri=callback.redirect_uri).status_code == 200

        # Someone on the Android phone guesses the password until the limit stops them.
        codes = [_graphql(android, LOGIN, {"username": "alice", "password": f"guess {n}"})["login"]["userErrors"][0]
                 ["code"] for n in range(4)]
        assert codes == ["INVALID", "INVALID", "INVALID", "RATE_LIMITED"]

        # The computer logs the Android session out from the settings page.
        computer.goto(f"{server.url}/settings")
        answers = _record_graphql(computer)
        computer.get_by_role("button", name="Log out Pixel 8, Chrome Mobile 126 on Android 14").click()
        computer.get_by_role("dialog").get_by_role("button", name="Log out").click()
        expect(computer.get_by_role("status")).to_contain_text("that session has ended")
        receipts.append(_answer(answers, "logoutSession")["receipt"])

        # The phone revokes Pixelfeed.
        apps = _graphql(phone, "{ viewer { connectedApps { nodes { app { id name } } } } }", token=phone_token)
        pixelfeed_id = [node["app"]["id"] for node in apps["viewer"]["connectedApps"]["nodes"]
                        if node["app"]["name"] == "Pixelfeed"]
        revoked = _graphql(phone, f"mutation($id: ID!) {{ revokeAccess(input: {{appId: $id}}) {{ {RECEIPT} }} }}",
                           {"id": pixelfeed_id[0]}, phone_token)["revokeAccess"]["receipt"]
        receipts.append(revoked)

        # The computer does not recognise the phone: "This wasn't me", then a new password.
        computer.reload()
        computer.get_by_role("button", name="This wasn't me: iPhone, Mobile Safari 17.5 on iOS 17.5").click()
        secure = computer.get_by_role("dialog", name="Secure your account?")
        secure.get_by_role("button", name="Secure my account").click()
        computer.wait_for_url(f"{server.url}/settings/password")
        receipts.append(_answer(answers, "secureAccount")["receipt"])
        computer.get_by_label("Current password").fill(PASSWORD)
        computer.get_by_label("New password").fill(NEW_PASSWORD)
        computer.get_by_role("button", name="Change password").click()
        expect(computer.get_by_role("status")).to_contain_text("Your password was changed.")
        assert phone.post("/graphql", json={"query": "{ viewer { id } }"},
                          headers={"authorization": f"Bearer {phone_token}"}).json()["errors"]

    # Every receipt matches what the database ended at that moment.
    assert [_counts(r) for r in receipts] == [
        {"accessTokens": 0, "refreshTokens": 0, "sessions": 1},  # the Android session
        {"accessTokens": 1, "refreshTokens": 1, "sessions": 0},  # Pixelfeed's tokens
        {"accessTokens": 1, "refreshTokens": 1, "sessions": 1},  # the phone's session and Postwise's tokens
    ]
    assert [_ended(settings, r) for r in receipts] == [_counts(r) for r in receipts]

    # The timeline: exactly these events, oldest first, each from the device and country that did it.
    events = computer.evaluate("""async () => {
      const response = await fetch("/graphql", {method: "POST", headers: {"content-type": "application/json"},
        body: JSON.stringify({query: `{ viewer { securityEvents(first: 50) { totalCount nodes {
          kind device browser location isNewDevice isNewCountry summary } } } }`})});
      return (await response.json()).data.viewer.securityEvents;
    }""")
    assert events["totalCount"] == 10
    seen = [(e["kind"], e["device"], e["location"], e["isNewDevice"], e["isNewCountry"])
            for e in reversed(events["nodes"])]
    assert seen == [
        ("SIGNED_IN", "Computer", "Germany", False, False),
        ("SIGNED_IN", "iPhone", "United Kingdom", True, True),
        ("SIGNED_IN", "Pixel 8", "Brazil", True, True),
        ("APP_AUTHORIZED", "Computer", "Germany", False, False),
        ("APP_AUTHORIZED", "iPhone", "United Kingdom", False, False),
        ("SIGN_IN_LIMITED", "Pixel 8", "Brazil", False, False),
        ("SESSION_LOGGED_OUT", "Computer", "Germany", False, False),
        ("APP_REVOKED", "iPhone", "United Kingdom", False, False),
        ("ACCOUNT_SECURED", "Computer", "Germany", False, False),
        ("PASSWORD_CHANGED", "Computer", "Germany", False, False),
    ]
    assert [e["summary"] for e in reversed(events["nodes"])][1] == (
        "Signed in on a new device, from a new country: Mobile Safari on iOS, United Kingdom")
