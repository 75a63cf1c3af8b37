"""The account pages over HTTP: ``/``, ``/settings/security``, ``/settings/password`` and ``/settings/apps/<id>``:
who may see them, and what they show."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from app.graphql.ids import to_global_id
from app.models import Account
from app.services.apps import register_app
from tests.conftest import client_for
from tests.factories import MAC_FIREFOX_UA, PASSWORD, WINDOWS_CHROME_UA, graphql, graphql_data, login, make_account
from tests.oauth.helpers import REDIRECT_URI, Person, call_me, register, sign_in, tokens_for

SAME_ORIGIN = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
GERMANY = "85.214.132.117"
NEW_PASSWORD = "plum tiger seventeen ladders"


async def _account(app: Starlette, username: str = "alice") -> Account:
    async with app.state.consentry.database.async_sessions() as db:
        return (await db.execute(select(Account).where(Account.username == username))).scalar_one()  # type: ignore[arg-type]


@asynccontextmanager
async def browser_login(app: Starlette, username: str = "alice", *, ip: str = "127.0.0.1",
                        user_agent: str = WINDOWS_CHROME_UA) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the session cookie of a sign-in through the form, as a browser would."""
    async with client_for(app, ip=ip, user_agent=user_agent) as http:
        response = await http.post("/login", data={"username": username, "password": PASSWORD}, headers=SAME_ORIGIN)
        assert response.status_code == 303, response.text
        yield http


async def test_the_root_sends_signed_in_people_to_settings_and_others_to_sign_in(app: Starlette) -> None:
    """``/`` is no longer a bare 404: it is where the serve banner points."""
    await make_account(app)
    async with client_for(app) as anonymous:
        response = await anonymous.get("/")
        assert (response.status_code, response.headers["location"]) == (303, "/login")
    async with browser_login(app) as http:
        response = await http.get("/")
        assert (response.status_code, response.headers["location"]) == (303, "/settings")


async def test_account_pages_need_a_session(app: Starlette, client: httpx.AsyncClient) -> None:
    """Signed out, each account page sends the visitor to sign in and back to exactly that page."""
    for path, back in (("/settings/security", "/settings/security"),
                       ("/settings/security?kinds=apps", "/settings/security%3Fkinds%3Dapps"),
                       ("/settings/password", "/settings/password")):
        response = await client.get(path)
        assert (response.status_code, response.headers["location"]) == (303, f"/login?next={back}"), path


async def test_security_activity_says_what_happened_in_plain_words(app: Starlette) -> None:
    """Sign-ins from two devices and countries and a logout of the others, newest first, in words; the addresses
    by network only; the new device flagged."""
    await make_account(app)
    async with browser_login(app, ip="81.2.69.160", user_agent=WINDOWS_CHROME_UA):
        pass
    async with browser_login(app, ip=GERMANY, user_agent=MAC_FIREFOX_UA) as http:
        await http.post("/graphql", json={"query": "mutation { logoutOtherSessions { loggedOutCount } }"},
                        headers=SAME_ORIGIN)
        page = await http.get("/settings/security")
        apps_only = await http.get("/settings/security?kinds=apps")
    assert page.status_code == 200 and "<title>Security activity · Consentry</title>" in page.text
    summaries = re.findall(r'<p class="timeline-summary">([^<]*)</p>', page.text)
    assert summaries == [
        "Logged out 1 other session, from Firefox on Mac OS X, Germany",
        "Signed in on a new device, from a new country: Firefox on Mac OS X, Germany",
        "Signed in: Chrome on Windows, United Kingdom",
    ]
    assert '<span class="ip">85.214.132.x</span>' in page.text and GERMANY not in page.text
    assert page.text.count('<span class="badge">New device</span>') == 1
    assert "Nothing to show yet." in apps_only.text


async def test_security_activity_pages_back_in_time(app: Starlette) -> None:
    """More events than a page: "Older activity" continues where the page ended, with no repeats; a forged
    cursor shows the newest page rather than an error."""
    await make_account(app)
    async with browser_login(app) as http:
        for _ in range(55):  # each sign-in replaces the browser's session: 56 SIGNED_IN events in all
            await http.post("/login", data={"username": "alice", "password": PASSWORD}, headers=SAME_ORIGIN)
        first = await http.get("/settings/security")
        older = re.search(r'href="(/settings/security\?after=[^"]+)" rel="next"', first.text)
        assert older is not None
        second = await http.get(older.group(1).replace("&amp;", "&"))
        forged = await http.get("/settings/security?after=bm90LWEtY3Vyc29y")
    first_items = first.text.count('class="timeline-item')
    second_items = second.text.count('class="timeline-item')
    assert (first_items, second_items) == (50, 6)
    assert forged.status_code == 200 and forged.text.count('class="timeline-item') == 50


async def test_the_password_page_changes_the_password_and_can_revoke_every_app(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """The form changes the password, logs out the other sessions and, when ticked, revokes every app; the answer
    says what ended."""
    await make_account(app)
    other = await login(client)
    reg = await register(app)
    async with browser_login(app) as http:
        person = Person(account=await _account(app), token=other)
        tokens = await tokens_for(client, person, reg)
        page = await http.get("/settings/password")
        assert page.status_code == 200 and 'name="revoke_apps"' in page.text
        done = await http.post("/settings/password", headers=SAME_ORIGIN, data={
            "current_password": PASSWORD, "new_password": NEW_PASSWORD, "logout_others": "on", "revoke_apps": "on"})
        assert done.status_code == 200, done.text
        assert ("Your password was changed. 1 other session was logged out; 1 app was disconnected; 1 access token "
                "and 1 refresh token stopped working.") in " ".join(done.text.split())
        assert (await http.get("/settings")).status_code == 200  # this session stays signed in
    assert (await call_me(client, tokens.access_token)).status_code == 401
    assert "errors" in await graphql(client, "{ viewer { id } }", token=other)
    assert await login(client, "alice", NEW_PASSWORD)


async def test_the_password_page_says_what_is_wrong_and_changes_nothing(app: Starlette,
                                                                       client: httpx.AsyncClient) -> None:
    """A wrong current password or a weak new one is shown on the page (400), nothing changes; a post from another
    site is refused (403)."""
    await make_account(app)
    async with browser_login(app) as http:
        wrong = await http.post("/settings/password", headers=SAME_ORIGIN, data={
            "current_password": "not it", "new_password": NEW_PASSWORD, "logout_others": "on"})
        weak = await http.post("/settings/password", headers=SAME_ORIGIN, data={
            "current_password": PASSWORD, "new_password": "password1"})
        cross = await http.post("/settings/password", headers={"origin": "https://evil.example"}, data={
            "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert wrong.status_code == 400 and "Your current password is incorrect." in wrong.text
    assert 'aria-invalid="true" aria-describedby="password-error"' in wrong.text
    assert weak.status_code == 400 and "That password is too common" in weak.text
    assert cross.status_code == 403
    assert await login(client, "alice", PASSWORD)


async def test_an_apps_page_shows_everything_known_with_revoke_access_at_the_bottom(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """Permissions in full, when it was authorized and last used and from where (masked), who makes it, its
    website, privacy policy and terms, its recent use, and the Revoke access button last of all."""
    await make_account(app)
    async with app.state.consentry.database.async_sessions() as db:
        registered = await register_app(
            db, owner=None, name="Pixelfeed", description="Share photo posts.", website_url="https://pixelfeed.example",
            icon_url=None, redirect_uris=[REDIRECT_URI], scopes=["tweet.read", "tweet.write", "users.read",
                                                                 "offline.access"],
            confidential=True, developer_name="Pixelfeed Studio", catalog=app.state.consentry.catalog,
            privacy_policy_url="https://pixelfeed.example/privacy", terms_url="https://pixelfeed.example/terms")
    async with browser_login(app) as http:
        person = Person(account=await _account(app), token=await login(client))
        tokens = await tokens_for(client, person, registered, scope="tweet.read tweet.write users.read offline.access")
        async with client_for(app, ip=GERMANY) as api:
            assert (await call_me(api, tokens.access_token)).status_code == 200
        settings = await http.get("/settings")
        link = re.search(r'<h3 id="name-[^"]+"><a href="(/settings/apps/[^"]+)">Pixelfeed</a></h3>', settings.text)
        assert link is not None
        page = await http.get(link.group(1))
    assert page.status_code == 200 and "<title>Pixelfeed · Consentry</title>" in page.text
    text = " ".join(page.text.split())
    for expected in ("By Pixelfeed Studio", "pixelfeed.example", "Share photo posts.", "Things this App can view",
                     "Things this App can do", "Post for you", "Stays connected", "Read and Write",
                     "<dt>Last used from</dt><dd>85.214.132.x, Germany</dd>",
                     '<a href="https://pixelfeed.example/privacy" rel="noopener noreferrer external" target="_blank">'
                     'Privacy policy</a>', '<a href="https://pixelfeed.example/terms"',
                     "Used its access from 85.214.132.x, Germany", registered.app.client_id):
        assert expected in text, expected
    assert GERMANY not in page.text
    buttons = re.findall(r"<button[^>]*>([^<]*)</button>", page.text)
    assert buttons[-3:] == ["Revoke access", "Cancel", ""]  # the page's last button, then the dialog's own


async def test_an_apps_page_is_only_for_its_account_and_while_connected(app: Starlette,
                                                                        client: httpx.AsyncClient) -> None:
    """Another account's connected app, a revoked one, or an ID of another kind: 404, no details."""
    await make_account(app)
    bob = await sign_in(app, "bob")
    reg = await register(app, name="Bobs App")
    await tokens_for(client, bob, reg)
    nodes = (await graphql_data(client, "{ viewer { connectedApps { nodes { id } } } }", token=bob.token)
             )["viewer"]["connectedApps"]["nodes"]
    async with browser_login(app) as http:
        for gid in (nodes[0]["id"], "junk", to_global_id("App", reg.app.id)):
            page = await http.get(f"/settings/apps/{gid}")
            assert page.status_code == 404 and "Bobs App" not in page.text, gid
    async with browser_login(app, "bob") as http:
        assert (await http.get(f"/settings/apps/{nodes[0]['id']}")).status_code == 200
        await graphql_data(http, "mutation($id: ID!) { revokeAccess(input: {appId: $id}) { app { id } } }",
                           {"id": nodes[0]["id"]})
        assert (await http.get(f"/settings/apps/{nodes[0]['id']}")).status_code == 404
