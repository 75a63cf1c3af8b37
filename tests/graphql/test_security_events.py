"""The security timeline through GraphQL: every change a person makes shows up as one event, newest first, with the
session that did it and where it was; new devices and countries are flagged against the account's history."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.conftest import client_for
from tests.factories import (
    IPHONE_UA,
    MAC_FIREFOX_UA,
    PASSWORD,
    WINDOWS_CHROME_UA,
    graphql,
    graphql_data,
    login,
    make_account,
)
from tests.oauth.helpers import Person, call_me, new_session, register, tokens_for

EVENTS = """
query($first: Int, $after: String, $kinds: [SecurityEventKind!]) {
  viewer { securityEvents(first: $first, after: $after, kinds: $kinds) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id kind summary device browser os location ipAddress isNewDevice isNewCountry count
            permissions { scope } session { id isCurrent } app { name } }
  } }
}
"""
GERMANY, UK = "85.214.132.117", "81.2.69.160"


async def _events(client: httpx.AsyncClient, token: str, **variables: Any) -> dict[str, Any]:
    data = await graphql_data(client, EVENTS, variables, token=token)
    events: dict[str, Any] = data["viewer"]["securityEvents"]
    return events


async def _sign_in_from(app: Starlette, ip: str, user_agent: str, username: str = "alice") -> str:
    async with client_for(app, ip=ip, user_agent=user_agent) as http:
        return await login(http, username)


async def test_each_change_is_one_event_newest_first_with_the_session_that_did_it(app: Starlette) -> None:
    """Sign-ins, an app authorized and revoked, a session logged out, the others logged out, a password change and
    a sign-out each add exactly one event, in the order they happened, naming the acting session's device."""
    await make_account(app)
    phone = await _sign_in_from(app, UK, IPHONE_UA)
    other = await _sign_in_from(app, UK, IPHONE_UA)
    laptop = await _sign_in_from(app, "127.0.0.1", WINDOWS_CHROME_UA)
    async with client_for(app, ip="127.0.0.1", user_agent=WINDOWS_CHROME_UA) as http:
        account = (await graphql_data(http, "{ viewer { id } }", token=laptop))["viewer"]
        assert account
        person = Person(account=await _account(app), token=laptop)
        reg = await register(app, name="Pixelfeed")
        tokens = await tokens_for(http, person, reg, scope="tweet.read users.read offline.access")
        sessions = (await graphql_data(http, "{ viewer { sessions { nodes { id isCurrent } } } }",
                                       token=laptop))["viewer"]["sessions"]["nodes"]
        other_id = next(s["id"] for s in sessions if not s["isCurrent"])
        await graphql_data(http, "mutation($id: ID!) { logoutSession(input: {sessionId: $id}) { sessionId } }",
                           {"id": other_id}, token=laptop)
        await graphql_data(http, "mutation($id: ID!) { revokeAccess(input: {appId: $id}) { app { id } } }",
                           {"id": _app_gid(reg.app.id)}, token=laptop)
        await graphql_data(http, "mutation { logoutOtherSessions { loggedOutCount } }", token=laptop)
        await graphql_data(http, "mutation($c: String!) { changePassword(input: {currentPassword: $c, "
                                 "newPassword: \"plum tiger seventeen ladders\"}) { loggedOutSessionCount } }",
                           {"c": PASSWORD}, token=laptop)
        events = await _events(http, laptop)
        assert (await call_me(http, tokens.access_token)).status_code == 401
    del phone, other

    assert [e["kind"] for e in events["nodes"]] == [
        "PASSWORD_CHANGED", "OTHER_SESSIONS_LOGGED_OUT", "APP_REVOKED", "SESSION_LOGGED_OUT", "APP_AUTHORIZED",
        "SIGNED_IN", "SIGNED_IN", "SIGNED_IN"]
    assert events["totalCount"] == 8
    by_laptop = events["nodes"][:6]
    assert {(e["device"], e["browser"], e["os"], e["location"], e["ipAddress"]) for e in by_laptop} == {
        ("Computer", "Chrome 126", "Windows 10", "Local network", "127.0.0.x")}
    assert all(e["session"] == {"id": by_laptop[0]["session"]["id"], "isCurrent": True} for e in by_laptop)
    revoked, authorized = events["nodes"][2], events["nodes"][4]
    assert revoked["app"] == {"name": "Pixelfeed"} and authorized["app"] == {"name": "Pixelfeed"}
    assert [p["scope"] for p in authorized["permissions"]] == ["tweet.read", "users.read", "offline.access"]
    assert revoked["summary"] == ("Revoked access for Pixelfeed (1 access token and 1 refresh token ended), "
                                  "from Chrome on Windows, Local network")
    assert events["nodes"][1]["count"] == 1 and events["nodes"][1]["summary"].startswith("Logged out 1 other session")
    assert events["nodes"][3]["summary"] == ("Logged out the session on Mobile Safari on iOS, United Kingdom, "
                                             "from Chrome on Windows, Local network")
    # The phones' sessions have ended: their sign-ins no longer link to a session, but still say where they were.
    assert [(e["session"], e["device"], e["location"]) for e in events["nodes"][6:]] == [
        (None, "iPhone", "United Kingdom"), (None, "iPhone", "United Kingdom")]


async def test_signing_out_is_recorded_and_seen_from_the_next_session(app: Starlette,
                                                                     client: httpx.AsyncClient) -> None:
    """``logout`` records SIGNED_OUT for the session that ended itself."""
    await make_account(app)
    first = await login(client)
    await graphql_data(client, "mutation { logout { userErrors { code } } }", token=first)
    second = await login(client)
    events = await _events(client, second)
    assert [e["kind"] for e in events["nodes"]] == ["SIGNED_IN", "SIGNED_OUT", "SIGNED_IN"]
    assert events["nodes"][1]["session"] is None  # it has ended


async def test_new_devices_and_countries_are_flagged_against_the_account_history(app: Starlette) -> None:
    """The first sign-in has no history to compare with; later ones are new when their browser and system (not
    their versions) or their country were never seen before on this account."""
    await make_account(app)
    await _sign_in_from(app, UK, IPHONE_UA)
    await _sign_in_from(app, UK, IPHONE_UA.replace("17_5", "17_6").replace("17.5", "17.6"))  # an update, same device
    await _sign_in_from(app, UK, WINDOWS_CHROME_UA)
    await _sign_in_from(app, GERMANY, WINDOWS_CHROME_UA)
    last = await _sign_in_from(app, GERMANY, MAC_FIREFOX_UA)
    async with client_for(app) as http:
        events = await _events(http, last)
    flags = [(e["isNewDevice"], e["isNewCountry"], e["summary"]) for e in reversed(events["nodes"])]
    assert flags == [
        (False, False, "Signed in: Mobile Safari on iOS, United Kingdom"),
        (False, False, "Signed in: Mobile Safari on iOS, United Kingdom"),
        (True, False, "Signed in on a new device: Chrome on Windows, United Kingdom"),
        (False, True, "Signed in from a new country: Chrome on Windows, Germany"),
        (True, False, "Signed in on a new device: Firefox on Mac OS X, Germany"),
    ]


async def test_kinds_filter_and_pages(app: Starlette, client: httpx.AsyncClient) -> None:
    """``kinds`` keeps only those kinds; ``first``/``after`` page through newest first without repeats."""
    await make_account(app)
    tokens = [await login(client) for _ in range(3)]
    await graphql_data(client, "mutation { logoutOtherSessions { loggedOutCount } }", token=tokens[-1])
    only = await _events(client, tokens[-1], kinds=["OTHER_SESSIONS_LOGGED_OUT"])
    assert [(e["kind"], e["count"]) for e in only["nodes"]] == [("OTHER_SESSIONS_LOGGED_OUT", 2)]
    assert (await _events(client, tokens[-1], kinds=[]))["nodes"] == []
    first = await _events(client, tokens[-1], first=2)
    rest = await _events(client, tokens[-1], first=10, after=first["pageInfo"]["endCursor"])
    assert first["pageInfo"]["hasNextPage"] is True and rest["pageInfo"]["hasNextPage"] is False
    kinds = [e["kind"] for e in first["nodes"] + rest["nodes"]]
    assert kinds == ["OTHER_SESSIONS_LOGGED_OUT", "SIGNED_IN", "SIGNED_IN", "SIGNED_IN"]
    assert len({e["id"] for e in first["nodes"] + rest["nodes"]}) == 4


async def test_events_are_the_accounts_own(app: Starlette, client: httpx.AsyncClient) -> None:
    """Another account's events are neither listed nor found by ID (SECURITY.md I38)."""
    await make_account(app, "alice")
    await make_account(app, "bob")
    alice, bob = await login(client, "alice"), await login(client, "bob")
    bobs = await _events(client, bob)
    assert bobs["totalCount"] == 1
    found = await graphql_data(client, "query($id: ID!) { node(id: $id) { id ... on SecurityEvent { kind } } }",
                               {"id": bobs["nodes"][0]["id"]}, token=alice)
    assert found == {"node": None}
    own = await graphql_data(client, "query($id: ID!) { node(id: $id) { ... on SecurityEvent { kind } } }",
                             {"id": bobs["nodes"][0]["id"]}, token=bob)
    assert own == {"node": {"kind": "SIGNED_IN"}}
    assert (await _events(client, alice))["totalCount"] == 1


async def test_a_limited_sign_in_is_recorded_once_per_interval_and_only_for_real_accounts(settings: Settings) -> None:
    """Refusals by the sign-in limit add one SIGN_IN_LIMITED event (not one per attempt); an unknown username
    records nothing."""
    app = create_app(settings.with_overrides(login_attempts_per_account="2/15 minutes"))
    try:
        alice = await make_account(app, "alice")
        wrong = "mutation { login(input: {username: \"alice\", password: \"nope\"}) { userErrors { code } } }"
        unknown = "mutation { login(input: {username: \"nobody\", password: \"nope\"}) { userErrors { code } } }"
        codes = []
        async with client_for(app, ip=GERMANY, user_agent=MAC_FIREFOX_UA) as http:
            for _ in range(5):
                response = await http.post("/graphql", json={"query": wrong})
                codes.append(response.json()["data"]["login"]["userErrors"][0]["code"])
                await http.post("/graphql", json={"query": unknown})
        assert codes == ["INVALID", "INVALID", "RATE_LIMITED", "RATE_LIMITED", "RATE_LIMITED"]
        async with client_for(app) as own:  # a session opened without signing in: the limit is spent
            events = await _events(own, (await new_session(app, alice)).token)
        async with app.state.consentry.database.async_sessions() as db:
            rows = (await db.execute(text("SELECT count(*) FROM security_events"))).scalar()
    finally:
        await app.state.consentry.database.dispose()
    assert [(e["kind"], e["summary"]) for e in events["nodes"]] == [
        ("SIGN_IN_LIMITED", "Sign-in paused after too many wrong passwords: Firefox on Mac OS X, Germany")]
    assert events["nodes"][0]["session"] is None and events["nodes"][0]["ipAddress"] == "85.214.132.x"
    assert rows == 1


async def test_events_hold_no_secret(app: Starlette, client: httpx.AsyncClient) -> None:
    """No session token, password, access or refresh token or digest of one is ever written into an event."""
    await make_account(app)
    token = await login(client)
    person = Person(account=await _account(app), token=token)
    reg = await register(app)
    tokens = await tokens_for(client, person, reg)
    await graphql(client, "mutation($id: ID!) { revokeAccess(input: {appId: $id}) { app { id } } }",
                  {"id": _app_gid(reg.app.id)}, token=token)
    async with app.state.consentry.database.async_sessions() as db:
        dump = " ".join(str(value) for row in (await db.execute(text("SELECT * FROM security_events"))).all()
                        for value in row)
    from app.services.digests import digest

    for secret in (token, PASSWORD, tokens.access_token, tokens.refresh_token or "", reg.client_secret or ""):
        assert secret not in dump and digest(secret) not in dump


def _app_gid(app_id: Any) -> str:
    from app.graphql.ids import to_global_id

    return to_global_id("App", app_id)


async def _account(app: Starlette, username: str = "alice") -> Any:
    from sqlalchemy import select

    from app.models import Account

    async with app.state.consentry.database.async_sessions() as db:
        return (await db.execute(select(Account).where(Account.username == username))).scalar_one()
