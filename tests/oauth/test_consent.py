"""SECURITY.md A5-A8: the consent page and its answer."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.models import AuthorizationCode, AuthorizationRequest, utcnow
from app.services.apps import RegisteredApp
from tests.oauth.helpers import (
    ISSUER,
    REDIRECT_URI,
    Person,
    assert_error_page,
    assert_error_redirect,
    authorize_params,
    decide,
    location_base,
    new_session,
    pkce_pair,
    query_of,
    sign_in,
    start,
)

FRAME_HEADERS = {"x-frame-options": "DENY"}


async def _pending(client: httpx.AsyncClient, person: Person, reg: RegisteredApp, **overrides: str) -> str:
    response = await start(client, person, authorize_params(reg, pkce_pair()[1], **overrides))
    assert location_base(response) == "/oauth/consent", response.headers.get("location")
    return query_of(response)["request"]


async def _count_codes(app: Starlette) -> int:
    async with app.state.consentry.database.async_sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(AuthorizationCode)) or 0)


async def test_consent_page_shows_the_app_the_permissions_and_the_account(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    request_id = await _pending(client, person, reg, scope="tweet.read tweet.write offline.access")
    page = await client.get("/oauth/consent", params={"request": request_id}, headers=person.headers)
    assert page.status_code == 200
    html = page.text
    for text in ("Example App", "Example Inc.", "https://client.example.com", "Things this App can view",
                 "Things this App can do", "Stay connected", "@alice", "Authorize app", "Cancel",
                 'action="/oauth/consent"', f'value="{request_id}"', 'href="/settings"'):
        assert text in html, text
    # Nothing inline (the policy forbids it); a script of our own only to replace an icon that cannot load.
    assert re.findall(r"<script(?![^>]*\bsrc=\"/static/)", html) == [] and "style=" not in html


async def test_a05_cancel_redirects_with_access_denied_state_and_iss(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """Cancel on the consent page sends the person back to the app with error=access_denied, the app's own state and
    iss, and issues no code."""
    request_id = await _pending(client, person, reg, state="keep-me")
    response = await decide(client, person, request_id, "deny")
    assert_error_redirect(response, "access_denied", state="keep-me")
    assert await _count_codes(app) == 0


async def test_a06_approval_without_a_session_is_refused(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """Approving a pending request without being signed in is refused with a 403 page and issues no code."""
    request_id = await _pending(client, person, reg)
    response = await client.post("/oauth/consent", data={"request": request_id, "decision": "approve"})
    assert_error_page(response, 403)
    assert await _count_codes(app) == 0


@pytest.mark.parametrize("headers", [
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site"},
    {"origin": "https://evil.example"},
    {"origin": "null"},
])
async def test_a06_approval_from_another_origin_is_refused(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp,
        headers: dict[str, str]) -> None:
    """An approval posted from another origin (a foreign Origin header or Sec-Fetch-Site: cross-site) is refused with
    a 403 page and issues no code."""
    request_id = await _pending(client, person, reg)
    response = await decide(client, person, request_id, "approve", headers=headers)
    assert_error_page(response, 403)
    assert await _count_codes(app) == 0


async def test_a06_approval_of_another_accounts_request_is_refused(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """Another account cannot see or approve someone's pending request (404, no code), and the owner can still answer
    it afterwards."""
    request_id = await _pending(client, person, reg)
    mallory = await sign_in(app, "mallory")
    response = await decide(client, mallory, request_id, "approve")
    assert_error_page(response, 404)
    page = await client.get("/oauth/consent", params={"request": request_id}, headers=mallory.headers)
    assert_error_page(page, 404)
    assert await _count_codes(app) == 0
    # Alice's own answer still works afterwards.
    assert query_of(await decide(client, person, request_id))["code"]


async def test_a06_approval_from_another_session_of_the_same_account_is_refused(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """A pending request can be approved only from the session that started it, not from another session of the same
    account."""
    request_id = await _pending(client, person, reg)
    other_session = await new_session(app, person.account)
    assert_error_page(await decide(client, other_session, request_id), 404)
    assert await _count_codes(app) == 0


async def test_a06_double_click_issues_one_code(app: Starlette, client: httpx.AsyncClient, person: Person,
                                                reg: RegisteredApp) -> None:
    """Approving the same request twice (a double click) issues exactly one code; the second answer is a 400 page."""
    request_id = await _pending(client, person, reg)
    first = await decide(client, person, request_id)
    second = await decide(client, person, request_id)
    assert "code" in query_of(first)
    assert_error_page(second, 400)
    assert await _count_codes(app) == 1


async def test_a06_expired_request_cannot_be_approved(app: Starlette, client: httpx.AsyncClient, person: Person,
                                                      reg: RegisteredApp) -> None:
    """An expired request cannot be approved (400, no code), but Cancel still sends the person back to the app with
    access_denied."""
    request_id = await _pending(client, person, reg)
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(AuthorizationRequest).values(expires_at=utcnow() - timedelta(seconds=1)))
        await db.commit()
    assert_error_page(await decide(client, person, request_id), 400)
    assert await _count_codes(app) == 0
    # Cancel still sends the person back to the app, which learns the answer (A5) instead of waiting forever.
    cancel = await decide(client, person, request_id, decision="deny")
    assert location_base(cancel) == REDIRECT_URI
    assert query_of(cancel) == {"error": "access_denied",
                                "error_description": "The person declined to authorize the app.",
                                "state": "state-123", "iss": ISSUER}


async def test_a06_back_after_an_answer_says_what_the_answer_was(client: httpx.AsyncClient, person: Person,
                                                                 reg: RegisteredApp) -> None:
    """Coming back to a request already answered shows a page saying whether it was authorized or declined."""
    approved = await _pending(client, person, reg)
    assert "code" in query_of(await decide(client, person, approved))
    page = await client.get("/oauth/consent", params={"request": approved}, headers=person.headers)
    assert_error_page(page, 400)
    assert "You already authorized" in page.text and "nothing was shared" not in page.text.lower()
    denied = await _pending(client, person, reg, prompt="consent")
    await decide(client, person, denied, decision="deny")
    page = await client.get("/oauth/consent", params={"request": denied}, headers=person.headers)
    assert "You already declined this request, so nothing was shared." in page.text


@pytest.mark.parametrize("request_id", ["", "garbage", "QXBwOjE1YzIzYWY0LWZkZWItNDllMi04YjQwLWE4ZjUzZTdlNmE0ZA"])
async def test_a06_unknown_or_malformed_request_id_is_refused(client: httpx.AsyncClient, person: Person,
                                                              request_id: str) -> None:
    """Approving with an empty, malformed or unknown request ID answers a 404 page."""
    assert_error_page(await decide(client, person, request_id), 404)


async def test_a06_consent_page_signed_out_goes_to_login(client: httpx.AsyncClient, person: Person,
                                                         reg: RegisteredApp) -> None:
    """Opening the consent page signed out sends the person to /login and back to the same consent page."""
    request_id = await _pending(client, person, reg)
    response = await client.get("/oauth/consent", params={"request": request_id})
    assert response.status_code == 302
    assert location_base(response) == "/login"
    assert query_of(response)["next"] == f"/oauth/consent?request={request_id}"


async def test_a07_consent_sign_in_and_error_pages_forbid_framing(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """The consent, sign-in and authorization error pages all forbid framing (X-Frame-Options: DENY and CSP
    frame-ancestors 'none')."""
    request_id = await _pending(client, person, reg)
    pages = [
        await client.get("/oauth/consent", params={"request": request_id}, headers=person.headers),
        await client.get("/oauth/authorize", params={"client_id": "nope"}),
        await client.get("/login"),
    ]
    for page in pages:
        assert page.headers["x-frame-options"] == "DENY", page.url
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"], page.url


async def test_a08_approval_redirect_carries_code_state_and_iss(client: httpx.AsyncClient, person: Person,
                                                                reg: RegisteredApp) -> None:
    """Approving sends the person back to the registered URI with exactly code, the app's state and our iss."""
    request_id = await _pending(client, person, reg)
    response = await decide(client, person, request_id)
    assert response.status_code == 303
    assert location_base(response) == REDIRECT_URI
    params = query_of(response)
    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == "state-123" and params["iss"] == ISSUER


async def test_a08_covered_scopes_go_straight_back_unless_prompt_consent(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """When the active grant already covers every scope asked, the person goes straight back with a code; prompt=consent
    or a wider scope shows the consent page again."""
    await decide(client, person, await _pending(client, person, reg, scope="tweet.read users.read"))
    again = await start(client, person, authorize_params(reg, pkce_pair()[1], scope="users.read"))
    assert location_base(again) == REDIRECT_URI
    assert set(query_of(again)) == {"code", "state", "iss"}
    forced = await start(client, person, authorize_params(reg, pkce_pair()[1], scope="users.read", prompt="consent"))
    assert location_base(forced) == "/oauth/consent"
    wider = await start(client, person, authorize_params(reg, pkce_pair()[1], scope="users.read tweet.write"))
    assert location_base(wider) == "/oauth/consent"
