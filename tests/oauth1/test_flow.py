"""OAuth 1.0a User Context end to end in-process: X's three legs, the consent page in the reference's words, the PIN
flow, Cancel, "Sign in with …", invalidate_token, and one connected-apps list with OAuth 2.0."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import text
from starlette.applications import Starlette

from app.services.apps import RegisteredApp
from tests.conftest import TABLES
from tests.factories import graphql_data
from tests.oauth.helpers import Person, call_me, register, tokens_for
from tests.oauth1.helpers import (
    BASE,
    CALLBACK,
    Credentials,
    access_token,
    approve,
    connect,
    form,
    me,
    query_of,
    register_oauth1,
    request_token,
    send,
    sign,
)

CONNECTED = """{ viewer { connectedApps { nodes { id protocol accessLevels lastUsedAt
  app { id name protocol accessLevel addOns } } } } }"""
REVOKE = "mutation($id: ID!) { revokeAccess(input: {appId: $id}) { userErrors { code } } }"


async def _connected(http: httpx.AsyncClient, person: Person) -> list[dict[str, object]]:
    data = await graphql_data(http, CONNECTED, token=person.token)
    nodes: list[dict[str, object]] = data["viewer"]["connectedApps"]["nodes"]
    return nodes


async def test_request_token_answers_form_encoded_temporary_credentials(
        http: httpx.AsyncClient, oauth1_app: RegisteredApp) -> None:
    """POST /oauth/request_token answers RFC 5849 §2.1's form: token, secret, oauth_callback_confirmed=true."""
    response = await send(http, "POST", f"{BASE}/oauth/request_token", oauth1_app, callback=CALLBACK)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert response.headers["cache-control"] == "no-store"
    body = form(response)
    assert set(body) == {"oauth_token", "oauth_token_secret", "oauth_callback_confirmed"}
    assert body["oauth_callback_confirmed"] == "true" and len(body["oauth_token"]) >= 43


async def test_the_consent_page_shows_the_access_level_in_the_references_words(
        http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """GET /oauth/authorize?oauth_token= shows the same consent page, with the app's level and add-on named and
    explained area by area; a signed-out person is sent to sign in first, back to this very URL."""
    temporary = await request_token(http, oauth1_app)
    signed_out = await http.get("/oauth/authorize", params={"oauth_token": temporary.token})
    assert signed_out.status_code == 302
    assert signed_out.headers["location"].startswith("/login?next=%2Foauth%2Fauthorize%3Foauth_token%3D")

    page = await http.get("/oauth/authorize", params={"oauth_token": temporary.token}, headers=person.headers)
    assert page.status_code == 200 and page.headers["x-frame-options"] == "DENY"
    html = page.text
    assert "Threadline wants to access your account" in html
    assert re.search(r"Access level:</strong> Read and Write · Email address", html)
    for words in ("Profile information", "View your Lists of accounts.", "Update your profile information for you.",
                  "View the email address of your account.", "Things this App can view", "Things this App can do"):
        assert words in html, words
    assert "Direct Messages" not in html  # not this level
    assert f'name="oauth_token" value="{temporary.token}"' in html
    assert "You will be sent back to <strong>client.example.com</strong>" in html


async def test_authorize_then_access_token_then_signed_api_calls(
        http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """Authorize app → the callback gets oauth_token and oauth_verifier; the exchange answers the token
    credentials with X's user_id and screen_name; signed GET /api/v1/me works, email included (the add-on); the
    connected app says OAUTH1, its level, and when it was last used."""
    temporary = await request_token(http, oauth1_app)
    answer = await approve(http, person, temporary)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(CALLBACK + "?")
    back = query_of(answer.headers["location"])
    assert back["oauth_token"] == temporary.token and len(back["oauth_verifier"]) >= 43

    exchanged = await access_token(http, oauth1_app, temporary, back["oauth_verifier"])
    assert exchanged.status_code == 200, exchanged.text
    body = form(exchanged)
    assert set(body) == {"oauth_token", "oauth_token_secret", "user_id", "screen_name"}
    assert (body["user_id"], body["screen_name"]) == (str(person.account.id), "alice")

    token = Credentials(token=body["oauth_token"], secret=body["oauth_token_secret"], body=body)
    response = await me(http, oauth1_app, token)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": str(person.account.id), "username": "alice", "name": "Alice",
                               "email": "alice@example.com"}
    [node] = await _connected(http, person)
    assert node["protocol"] == "OAUTH1" and node["accessLevels"] == ["Read and Write", "Email address"]
    assert node["lastUsedAt"] is not None
    assert node["app"] == {"id": node["app"]["id"], "name": "Threadline", "protocol": "OAUTH1",  # type: ignore[index]
                           "accessLevel": "read-write", "addOns": ["email"]}


async def test_cancel_sends_x_denied_and_the_temporary_credentials_die(
        http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """Cancel → the callback with denied=<token>, as X answers; the credentials can never be exchanged or answered
    again, and nothing is connected."""
    temporary = await request_token(http, oauth1_app)
    answer = await approve(http, person, temporary, decision="deny")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{CALLBACK}?denied={temporary.token}"
    refused = await access_token(http, oauth1_app, temporary, "any-verifier")
    assert refused.status_code == 401 and form(refused)["error"] == "invalid_token"
    again = await http.get("/oauth/authorize", params={"oauth_token": temporary.token}, headers=person.headers)
    assert again.status_code == 400 and "already answered" in again.text
    assert await _connected(http, person) == []


async def test_the_pin_flow_shows_a_pin_the_app_exchanges(
        http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """oauth_callback=oob: the consent page promises a PIN, Authorize shows it (7 digits, as X's), and the app
    exchanges it as the verifier."""
    temporary = await request_token(http, oauth1_app, callback="oob")
    page = await http.get("/oauth/authorize", params={"oauth_token": temporary.token}, headers=person.headers)
    assert "You will get a PIN to enter in Threadline." in page.text
    shown = await http.post("/oauth/consent", data={"oauth_token": temporary.token, "decision": "approve"},
                            headers={**person.headers, "origin": BASE})
    assert shown.status_code == 200 and "location" not in shown.headers
    pin = re.search(r'<output aria-label="PIN">(\d+)</output>', shown.text)
    assert pin is not None and len(pin.group(1)) == 7
    exchanged = await access_token(http, oauth1_app, temporary, pin.group(1))
    assert exchanged.status_code == 200, exchanged.text


async def test_x_auth_access_type_asks_for_less_never_more(
        app: Starlette, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """x_auth_access_type=read narrows a Read and Write app to Read (add-ons kept); write on a Read app stays Read;
    any other value is refused."""
    temporary = await request_token(http, oauth1_app, body={"x_auth_access_type": "read"})
    page = await http.get("/oauth/authorize", params={"oauth_token": temporary.token}, headers=person.headers)
    assert re.search(r"Access level:</strong> Read · Email address", page.text)
    assert "Update your profile information for you." not in page.text
    reader = await register_oauth1(app, name="Reader", level="read", add_ons=[])
    asked_more = await request_token(http, reader, body={"x_auth_access_type": "write"})
    page = await http.get("/oauth/authorize", params={"oauth_token": asked_more.token}, headers=person.headers)
    assert re.search(r"Access level:</strong> Read</p>", page.text)
    bad = await send(http, "POST", f"{BASE}/oauth/request_token", oauth1_app, callback=CALLBACK,
                     body={"x_auth_access_type": "admin"})
    assert bad.status_code == 400 and form(bad)["error"] == "invalid_request"


async def test_email_only_with_the_email_add_on(app: Starlette, http: httpx.AsyncClient, person: Person) -> None:
    """/api/v1/me leaves the email address out for an app without the Email address add-on."""
    plain = await register_oauth1(app, name="Plain", add_ons=[])
    token = await connect(http, person, plain)
    response = await me(http, plain, token)
    assert response.status_code == 200 and "email" not in response.json()


async def test_authenticate_goes_straight_back_when_already_granted(
        app: Starlette, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """GET /oauth/authenticate ("Sign in with …"): no page when the app already holds this access and its callback
    is off the device; a loopback callback still gets the one-click page; force_login=true asks for the password
    again."""
    await connect(http, person, oauth1_app)
    temporary = await request_token(http, oauth1_app)
    straight = await http.get("/oauth/authenticate", params={"oauth_token": temporary.token}, headers=person.headers)
    assert straight.status_code == 303, straight.text
    verifier = query_of(straight.headers["location"])["oauth_verifier"]
    assert (await access_token(http, oauth1_app, temporary, verifier)).status_code == 200

    local = await register_oauth1(app, name="Local", callbacks=["http://127.0.0.1:8123/cb"])
    await connect_with_callback(http, person, local, "http://127.0.0.1:8123/cb")
    again = await request_token(http, local, callback="http://127.0.0.1:8123/cb")
    page = await http.get("/oauth/authenticate", params={"oauth_token": again.token}, headers=person.headers)
    assert page.status_code == 200 and "Continue to Local" in page.text

    forced = await request_token(http, oauth1_app)
    login = await http.get("/oauth/authenticate", params={"oauth_token": forced.token, "force_login": "true"},
                           headers=person.headers)
    assert login.status_code == 302 and login.headers["location"].endswith("&force=1")
    form_page = await http.get(login.headers["location"], headers=person.headers)
    assert form_page.status_code == 200 and 'name="password"' in form_page.text  # signed in, asked anyway


async def connect_with_callback(http: httpx.AsyncClient, person: Person, reg: RegisteredApp, callback: str) -> None:
    temporary = await request_token(http, reg, callback=callback)
    answer = await approve(http, person, temporary)
    verifier = query_of(answer.headers["location"])["oauth_verifier"]
    assert (await access_token(http, reg, temporary, verifier)).status_code == 200


async def test_invalidate_token_ends_that_token_and_keeps_the_app_connected(
        http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """POST /oauth/invalidate_token, signed with the token: X's answer, the next call with it is 401, and the app
    stays connected (another token of it still works)."""
    first = await connect(http, person, oauth1_app)
    second = await connect(http, person, oauth1_app)
    ended = await send(http, "POST", f"{BASE}/oauth/invalidate_token", oauth1_app, token=first)
    assert ended.status_code == 200 and ended.json() == {"access_token": first.token}
    refused = await me(http, oauth1_app, first)
    assert refused.status_code == 401 and form(refused)["error"] == "invalid_token"
    assert refused.headers["www-authenticate"] == 'OAuth realm="consentry"'
    assert (await me(http, oauth1_app, second)).status_code == 200
    assert len(await _connected(http, person)) == 1


async def test_one_connected_apps_list_and_one_revoke_access_for_both_protocols(
        app: Starlette, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """An OAuth 2.0 app and an OAuth 1.0a app appear in one list; revokeAccess ends the OAuth 1.0a app's tokens at
    once (the next signed call is 401) and leaves the other app alone."""
    oauth2_app = await register(app)
    bearer = await tokens_for(http, person, oauth2_app)
    token = await connect(http, person, oauth1_app)
    nodes = await _connected(http, person)
    assert sorted(node["protocol"] for node in nodes) == ["OAUTH1", "OAUTH2"]  # type: ignore[type-var]
    oauth1_node = next(node for node in nodes if node["protocol"] == "OAUTH1")
    revoked = await graphql_data(http, REVOKE, {"id": oauth1_node["app"]["id"]}, token=person.token)  # type: ignore[index]
    assert revoked == {"revokeAccess": {"userErrors": []}}
    assert (await me(http, oauth1_app, token)).status_code == 401
    assert (await call_me(http, bearer.access_token)).status_code == 200
    assert [node["protocol"] for node in await _connected(http, person)] == ["OAUTH2"]


async def test_oauth1_credentials_never_sign_anyone_in(
        http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """Token credentials are not sessions: a signed request, or the oauth_token as a bearer token, is refused on
    /graphql and the pages; nor is the oauth_token an OAuth 2.0 access token at /api/v1/me."""
    token = await connect(http, person, oauth1_app)
    _, headers, _ = sign("POST", f"{BASE}/graphql", oauth1_app, token=token)
    for auth in (headers["Authorization"], f"Bearer {token.token}"):
        response = await http.post("/graphql", json={"query": "{ viewer { username } }"},
                                   headers={"authorization": auth})
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", response.text
        page = await http.get("/settings", headers={"authorization": auth})
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert (await call_me(http, token.token)).status_code == 401


async def test_no_oauth1_secret_is_stored_in_clear(
        app: Starlette, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """A database dump holds neither the consumer secret, nor any token, token secret or verifier: tokens and
    verifiers as digests, the secrets HMAC needs sealed with CONSENTRY_SECRET_KEY."""
    temporary = await request_token(http, oauth1_app)
    answer = await approve(http, person, temporary)
    verifier = query_of(answer.headers["location"])["oauth_verifier"]
    body = form(await access_token(http, oauth1_app, temporary, verifier))
    chunks = []
    async with app.state.consentry.database.async_sessions() as db:
        for table in TABLES:
            for row in (await db.execute(text(f"SELECT * FROM {table}"))).all():
                chunks.extend(str(value) for value in row)
    dump = "\n".join(chunks)
    for secret in (oauth1_app.client_secret or "", temporary.token, temporary.secret, verifier, body["oauth_token"],
                   body["oauth_token_secret"]):
        assert len(secret) >= 43 and secret not in dump
