"""Browser sign-in and sign-out over HTTP: cookie flags, redirects, cross-site refusal, the form's CSRF token."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.models import LoginSession
from tests.conftest import client_for
from tests.factories import LOGIN, PASSWORD, graphql, graphql_data, make_account

SAME_ORIGIN = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}


async def _form_login(http: httpx.AsyncClient, next_url: str = "/settings", password: str = PASSWORD) -> httpx.Response:
    return await http.post("/login", data={"username": "alice", "password": password, "next": next_url},
                           headers=SAME_ORIGIN)


async def test_h31_login_sets_an_httponly_lax_cookie_and_redirects_to_next(app: Starlette) -> None:
    """Signing in on the form sets an HttpOnly, SameSite=Lax session cookie for the whole site (not Secure on plain
    http in development) and redirects to the next URL."""
    await make_account(app)
    async with client_for(app) as http:
        response = await _form_login(http, "/oauth/consent?request=abc")
    assert response.status_code == 303
    assert response.headers["location"] == "/oauth/consent?request=abc"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("consentry_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain-http development only


async def test_h31_secure_host_prefixed_cookie_on_https(settings: object) -> None:
    """Behind an https base URL the session cookie is Secure and carries the __Host- prefix."""
    from app.main import create_app

    https_app = create_app(settings.with_overrides(base_url="https://accounts.example"))  # type: ignore[attr-defined]
    await make_account(https_app)
    async with client_for(https_app) as http:
        response = await http.post("/login", data={"username": "alice", "password": PASSWORD},
                                   headers={"origin": "https://accounts.example"})
    await https_app.state.consentry.database.dispose()
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-consentry_session=") and "Secure" in cookie


async def test_h31_every_sign_in_gets_a_new_token(app: Starlette) -> None:
    """Every sign-in sets a new session token, never the previous one (no session fixation)."""
    await make_account(app)
    async with client_for(app) as http:
        first = (await _form_login(http)).cookies["consentry_session"]
        second = (await _form_login(http)).cookies["consentry_session"]
    assert first != second


async def test_h31_signing_in_again_in_the_same_browser_ends_the_session_the_cookie_named(app: Starlette) -> None:
    """Signing in again in the same browser ends the session its cookie held, so only the new session is live."""
    # Two tabs of the sign-in page, both used: the first session must not live on, unseen, once replaced.
    await make_account(app)
    async with client_for(app) as http:
        first = (await _form_login(http)).cookies["consentry_session"]
        second = (await _form_login(http)).cookies["consentry_session"]
        http.cookies.clear()
        assert "errors" in await graphql(http, "{ viewer { id } }", token=first)
        data = await graphql_data(http, "{ viewer { sessions { totalCount } } }", token=second)
    assert data == {"viewer": {"sessions": {"totalCount": 1}}}


async def test_h31_signing_in_with_a_cookie_and_a_bearer_header_ends_the_cookies_session(app: Starlette) -> None:
    """A form sign-in that carries both a cookie and a bearer token ends only the cookie's old session; the bearer
    token's session lives on."""
    await make_account(app)
    async with client_for(app) as script:
        bearer = (await graphql_data(script, LOGIN, {"username": "alice", "password": PASSWORD}))["login"]["token"]
    async with client_for(app) as http:
        cookie = (await _form_login(http)).cookies["consentry_session"]
        response = await http.post("/login", data={"username": "alice", "password": PASSWORD},
                                   headers={**SAME_ORIGIN, "authorization": f"Bearer {bearer}"})
        assert response.status_code == 303
        http.cookies.clear()
        assert "errors" in await graphql(http, "{ viewer { id } }", token=cookie)
        assert "errors" not in await graphql(http, "{ viewer { id } }", token=bearer)


async def test_login_refuses_offsite_next_urls(app: Starlette) -> None:
    await make_account(app)
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        async with client_for(app) as http:
            response = await _form_login(http, evil)
        assert response.headers["location"] == "/settings", evil


async def test_wrong_password_shows_the_form_again_with_an_error(app: Starlette) -> None:
    await make_account(app)
    async with client_for(app) as http:
        response = await _form_login(http, password="wrong password")
    assert response.status_code == 401
    assert "Incorrect username or password." in response.text
    assert "consentry_session" not in response.headers.get("set-cookie", "")


async def test_a7_login_page_cannot_be_framed(client: httpx.AsyncClient) -> None:
    """The sign-in page forbids framing (CSP frame-ancestors 'none' and X-Frame-Options: DENY)."""
    response = await client.get("/login")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


async def test_cookie_session_reaches_graphql_and_logout_kills_it(app: Starlette) -> None:
    await make_account(app)
    async with client_for(app) as http:
        await _form_login(http)
        assert (await graphql_data(http, "{ viewer { username } }")) == {"viewer": {"username": "alice"}}
        response = await http.post("/logout", headers=SAME_ORIGIN)
        assert response.status_code == 303 and response.headers["location"] == "/login"
    # The old cookie value is dead on the server even if a client kept it.
    async with client_for(app) as http:
        token = (await _form_login(http)).cookies["consentry_session"]
        await http.post("/logout", headers=SAME_ORIGIN)
        http.cookies.set("consentry_session", token)
        body = await graphql(http, "{ viewer { username } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_i40_cross_site_cookie_posts_are_refused(app: Starlette) -> None:
    """With a session cookie, a cross-site GraphQL POST and a cross-origin logout are refused with 403, and a
    form-encoded GraphQL POST with 415; the session is unaffected."""
    await make_account(app)
    async with client_for(app) as http:
        await _form_login(http)
        evil = await http.post("/graphql", json={"query": "mutation { logoutOtherSessions { loggedOutCount } }"},
                               headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"})
        assert evil.status_code == 403
        form = await http.post("/graphql", content=b"query=%7Bviewer%7Bid%7D%7D",
                               headers={"content-type": "application/x-www-form-urlencoded"})
        assert form.status_code == 415
        logout = await http.post("/logout", headers={"origin": "https://evil.example"})
        assert logout.status_code == 403
        assert (await graphql_data(http, "{ viewer { username } }")) == {"viewer": {"username": "alice"}}


def _form_token(html: str) -> str:
    match = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', html)
    assert match, html
    return match.group(1)


async def _signed_in(http: httpx.AsyncClient) -> bool:
    body = await graphql(http, "{ viewer { username } }")
    return body.get("data") == {"viewer": {"username": "alice"}}


async def test_login_csrf_a_post_without_origin_or_fetch_metadata_needs_the_forms_token(app: Starlette) -> None:
    """Login CSRF: a sign-in POST with neither ``Origin`` nor ``Sec-Fetch-Site`` (what an old browser, or a page
    that strips them, sends) is refused with 403 and signs nobody in, without the form's token or with a wrong one;
    nothing else vouches that our own page sent it."""
    await make_account(app)
    credentials = {"username": "alice", "password": PASSWORD, "next": "/settings"}
    async with client_for(app) as http:
        bare = await http.post("/login", data=credentials)
        assert bare.status_code == 403 and "This sign-in form has expired." in bare.text
        assert "consentry_session" not in bare.headers.get("set-cookie", "")
        assert not await _signed_in(http)
    async with client_for(app) as http:
        await http.get("/login")  # the form cookie is set, but the token sent does not match it
        wrong = await http.post("/login", data={**credentials, "csrf_token": "A" * 43})
        assert wrong.status_code == 403 and not await _signed_in(http)
    async with client_for(app) as attacker, client_for(app) as victim:
        # An attacker's own token is no good in the victim's browser: it belongs to the attacker's form cookie.
        token = _form_token((await attacker.get("/login")).text)
        await victim.get("/login")
        stolen = await victim.post("/login", data={**credentials, "csrf_token": token})
        assert stolen.status_code == 403 and not await _signed_in(victim)
    async with app.state.consentry.database.async_sessions() as db:
        assert (await db.execute(select(func.count()).select_from(LoginSession))).scalar_one() == 0


async def test_login_csrf_the_token_from_get_login_signs_in_without_the_headers(app: Starlette) -> None:
    """The token and cookie that ``GET /login`` hands out sign in without ``Origin``/``Sec-Fetch-Site``: the form
    works in a browser that sends neither, and the page re-rendered after a wrong password keeps a token that works."""
    await make_account(app)
    async with client_for(app) as http:
        page = await http.get("/login?next=/settings")
        assert page.status_code == 200
        cookie = page.headers["set-cookie"]
        assert cookie.startswith("consentry_login_form=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        wrong = await http.post("/login", data={"username": "alice", "password": "wrong password", "next": "/settings",
                                                "csrf_token": _form_token(page.text)})
        assert wrong.status_code == 401
        signed_in = await http.post("/login", data={"username": "alice", "password": PASSWORD, "next": "/settings",
                                                    "csrf_token": _form_token(wrong.text)})
        assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/settings")
        assert await _signed_in(http)
