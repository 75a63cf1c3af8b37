"""Browser sign-in and sign-out over HTTP: cookie flags, redirects, cross-site refusal."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.conftest import client_for
from tests.factories import LOGIN, PASSWORD, graphql, graphql_data, make_account

SAME_ORIGIN = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}


async def _form_login(http: httpx.AsyncClient, next_url: str = "/settings", password: str = PASSWORD) -> httpx.Response:
    return await http.post("/login", data={"username": "alice", "password": password, "next": next_url},
                           headers=SAME_ORIGIN)


async def test_h31_login_sets_an_httponly_lax_cookie_and_redirects_to_next(app: Starlette) -> None:
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
    await make_account(app)
    async with client_for(app) as http:
        first = (await _form_login(http)).cookies["consentry_session"]
        second = (await _form_login(http)).cookies["consentry_session"]
    assert first != second


async def test_h31_signing_in_again_in_the_same_browser_ends_the_session_the_cookie_named(app: Starlette) -> None:
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
    assert "set-cookie" not in response.headers


async def test_a7_login_page_cannot_be_framed(client: httpx.AsyncClient) -> None:
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
