"""Sessions half of the GraphQL API: login, listing sessions, logging out one or all others."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.conftest import client_for
from tests.factories import (
    ANDROID_UA,
    IPHONE_UA,
    LOGIN,
    MAC_FIREFOX_UA,
    PASSWORD,
    WINDOWS_CHROME_UA,
    graphql,
    graphql_data,
    login,
    make_account,
)

SESSIONS = """
{ viewer { username sessions { totalCount nodes { id isCurrent device browser os ipAddress location } } } }
"""
LOGOUT_OTHERS = "mutation { logoutOtherSessions { loggedOutCount userErrors { code } } }"
LOGOUT_SESSION = """
mutation($id: ID!) { logoutSession(input: {sessionId: $id}) { sessionId userErrors { message field code } } }
"""


async def _sign_in_from(app: Starlette, ip: str, user_agent: str, username: str = "alice") -> str:
    async with client_for(app, ip=ip, user_agent=user_agent) as http:
        return await login(http, username)


async def test_three_sign_ins_list_three_sessions_with_devices_and_one_current(app: Starlette) -> None:
    await make_account(app)
    await _sign_in_from(app, "81.2.69.160", IPHONE_UA)
    await _sign_in_from(app, "8.8.8.8", WINDOWS_CHROME_UA)
    token = await _sign_in_from(app, "127.0.0.1", MAC_FIREFOX_UA)

    async with client_for(app, user_agent=MAC_FIREFOX_UA) as http:
        data = await graphql_data(http, SESSIONS, token=token)

    sessions = data["viewer"]["sessions"]
    assert sessions["totalCount"] == 3
    described = sorted((s["device"], s["browser"], s["os"], s["ipAddress"], s["location"], s["isCurrent"])
                       for s in sessions["nodes"])
    assert described == [
        ("Computer", "Chrome 126", "Windows 10", "8.8.8.x", "United States", False),
        ("Mac", "Firefox 127", "Mac OS X 14.5", "127.0.0.x", "Local network", True),
        ("iPhone", "Mobile Safari 17.5", "iOS 17.5", "81.2.69.x", "United Kingdom", False),
    ]
    # Newest activity first: the session that signed in last is on top.
    assert sessions["nodes"][0]["isCurrent"] is True


async def test_logout_other_sessions_ends_the_others_and_keeps_the_current(app: Starlette) -> None:
    await make_account(app)
    first = await _sign_in_from(app, "81.2.69.160", IPHONE_UA)
    second = await _sign_in_from(app, "8.8.8.8", WINDOWS_CHROME_UA)
    current = await _sign_in_from(app, "1.1.1.1", ANDROID_UA)

    async with client_for(app) as http:
        data = await graphql_data(http, LOGOUT_OTHERS, token=current)
        assert data == {"logoutOtherSessions": {"loggedOutCount": 2, "userErrors": []}}

        for dead in (first, second):
            body = await graphql(http, "{ viewer { username } }", token=dead)
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        still = await graphql_data(http, SESSIONS, token=current)
    assert still["viewer"]["sessions"]["totalCount"] == 1
    assert still["viewer"]["sessions"]["nodes"][0]["isCurrent"] is True


async def test_logout_session_ends_exactly_that_session(app: Starlette) -> None:
    await make_account(app)
    phone = await _sign_in_from(app, "81.2.69.160", IPHONE_UA)
    laptop = await _sign_in_from(app, "8.8.8.8", WINDOWS_CHROME_UA)
    async with client_for(app) as http:
        listed = await graphql_data(http, SESSIONS, token=laptop)
        phone_id = next(s["id"] for s in listed["viewer"]["sessions"]["nodes"] if not s["isCurrent"])

        data = await graphql_data(http, LOGOUT_SESSION, {"id": phone_id}, token=laptop)
        assert data == {"logoutSession": {"sessionId": phone_id, "userErrors": []}}

        refused = await graphql(http, "{ viewer { username } }", token=phone)
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert (await graphql_data(http, "{ viewer { username } }", token=laptop)) == {"viewer": {"username": "alice"}}
        again = await graphql_data(http, LOGOUT_SESSION, {"id": phone_id}, token=laptop)
    assert again["logoutSession"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_account_cannot_log_out_another_accounts_session(app: Starlette) -> None:
    await make_account(app, "alice")
    await make_account(app, "bob")
    bob = await _sign_in_from(app, "8.8.8.8", WINDOWS_CHROME_UA, "bob")
    alice = await _sign_in_from(app, "81.2.69.160", IPHONE_UA, "alice")
    async with client_for(app) as http:
        bob_sessions = await graphql_data(http, SESSIONS, token=bob)
        bob_session_id = bob_sessions["viewer"]["sessions"]["nodes"][0]["id"]

        attempt = await graphql_data(http, LOGOUT_SESSION, {"id": bob_session_id}, token=alice)
        assert attempt == {"logoutSession": {"sessionId": None, "userErrors": [
            {"message": "No such session.", "field": "sessionId", "code": "NOT_FOUND"}]}}
        node = await graphql_data(http, "query($id: ID!) { node(id: $id) { id } }", {"id": bob_session_id},
                                  token=alice)
        assert node == {"node": None}
        # Bob is still signed in.
        assert (await graphql_data(http, "{ viewer { username } }", token=bob)) == {"viewer": {"username": "bob"}}


async def test_malformed_and_unknown_session_ids_are_not_found(client: httpx.AsyncClient, app: Starlette) -> None:
    await make_account(app)
    token = await login(client)
    for bad in ("garbage", "U2Vzc2lvbjpub3QtYS11dWlk", "QWNjb3VudDoxMjM0NTY3OC0xMjM0LTEyMzQtMTIzNC0xMjM0NTY3ODkwMTI"):
        data = await graphql_data(client, LOGOUT_SESSION, {"id": bad}, token=token)
        assert data["logoutSession"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_wrong_password_and_unknown_user_get_the_same_answer(client: httpx.AsyncClient, app: Starlette) -> None:
    await make_account(app)
    wrong = await graphql_data(client, LOGIN, {"username": "alice", "password": "not the password"})
    unknown = await graphql_data(client, LOGIN, {"username": "nobody", "password": PASSWORD})
    assert wrong == unknown == {"login": {"token": None, "session": None, "userErrors": [
        {"message": "Incorrect username or password.", "field": "password", "code": "INVALID"}]}}


async def test_usernames_are_case_insensitive_at_sign_in(client: httpx.AsyncClient, app: Starlette) -> None:
    await make_account(app, "Alice")
    token = await login(client, "ALICE")
    assert (await graphql_data(client, "{ viewer { username } }", token=token)) == {"viewer": {"username": "Alice"}}


async def test_not_signed_in_is_a_top_level_unauthenticated_error(client: httpx.AsyncClient) -> None:
    body = await graphql(client, "{ viewer { username } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    body = await graphql(client, LOGOUT_OTHERS, token="not-a-session-token")
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_logout_ends_the_current_session(client: httpx.AsyncClient, app: Starlette) -> None:
    await make_account(app)
    token = await login(client)
    data = await graphql_data(client, "mutation { logout { userErrors { code } } }", token=token)
    assert data == {"logout": {"userErrors": []}}
    body = await graphql(client, "{ viewer { username } }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_sessions_paginate_with_cursors(client: httpx.AsyncClient, app: Starlette) -> None:
    await make_account(app)
    tokens = [await _sign_in_from(app, "8.8.8.8", WINDOWS_CHROME_UA) for _ in range(3)]
    query = """query($after: String) { viewer { sessions(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { id }
        edges { cursor node { id } } } } }"""
    first = (await graphql_data(client, query, token=tokens[0]))["viewer"]["sessions"]
    assert (first["totalCount"], len(first["nodes"]), first["pageInfo"]["hasNextPage"]) == (3, 2, True)
    assert [edge["node"] for edge in first["edges"]] == first["nodes"]
    assert (first["pageInfo"]["startCursor"], first["pageInfo"]["endCursor"]) == (
        first["edges"][0]["cursor"], first["edges"][-1]["cursor"])
    # Resuming after any edge's cursor continues right after that edge.
    after_first = (await graphql_data(client, query, {"after": first["edges"][0]["cursor"]},
                                      token=tokens[0]))["viewer"]["sessions"]
    assert after_first["nodes"][0] == first["nodes"][1]
    second = (await graphql_data(client, query, {"after": first["pageInfo"]["endCursor"]},
                                 token=tokens[0]))["viewer"]["sessions"]
    assert (len(second["nodes"]), second["pageInfo"]["hasNextPage"], second["pageInfo"]["hasPreviousPage"]) == (
        1, False, True)
    assert {n["id"] for n in first["nodes"]}.isdisjoint({n["id"] for n in second["nodes"]})


async def test_forged_cursors_are_bad_user_input(client: httpx.AsyncClient, app: Starlette) -> None:
    import base64

    await make_account(app)
    token = await login(client)
    some_id = "0" * 32
    for forged in ("not-a-cursor", base64.urlsafe_b64encode(b"cursor:5").decode(),  # an offset cursor of before
                   base64.urlsafe_b64encode(f"after:2026-01-01T00:00:00|{some_id}".encode()).decode(),  # no zone
                   # a time with no UTC value: 0001-01-01 at +14:00 is before year 1 in UTC
                   base64.urlsafe_b64encode(f"after:0001-01-01T00:00:00+14:00|{some_id}".encode()).decode(),
                   base64.urlsafe_b64encode(b"after:2026-01-01T00:00:00+00:00|not-a-uuid").decode()):
        body = await graphql(client, "query($after: String) { viewer { sessions(after: $after) { totalCount } } }",
                             {"after": forged}, token=token)
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}, body


async def test_first_zero_counts_everything_and_reports_a_next_page(client: httpx.AsyncClient, app: Starlette) -> None:
    await make_account(app)
    tokens = [await _sign_in_from(app, "8.8.8.8", WINDOWS_CHROME_UA) for _ in range(2)]
    query = """{ viewer { none: sessions(first: 0) { totalCount nodes { id } pageInfo { hasNextPage } }
                          one: sessions(first: 1) { totalCount pageInfo { hasNextPage } }
                          apps: connectedApps(first: 0) { totalCount pageInfo { hasNextPage } } } }"""
    viewer = (await graphql_data(client, query, token=tokens[0]))["viewer"]
    assert viewer["none"] == {"totalCount": 2, "nodes": [], "pageInfo": {"hasNextPage": True}}
    assert viewer["one"] == {"totalCount": 2, "pageInfo": {"hasNextPage": True}}
    assert viewer["apps"] == {"totalCount": 0, "pageInfo": {"hasNextPage": False}}


async def test_logout_twice_in_one_document_succeeds_both_times(client: httpx.AsyncClient, app: Starlette) -> None:
    # The session ended between the two fields: ending it again is what was asked, not an error (was data: null).
    await make_account(app)
    token = await login(client)
    data = await graphql_data(
        client, "mutation { a: logout { userErrors { code } } b: logout { userErrors { code } } }", token=token)
    assert data == {"a": {"userErrors": []}, "b": {"userErrors": []}}
    body = await graphql(client, "{ viewer { username } }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_login_payloads_account_is_seen_from_the_new_session(client: httpx.AsyncClient,
                                                                      app: Starlette) -> None:
    await make_account(app)
    await make_account(app, "bob")
    query = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
        session { id } account { username sessions { totalCount nodes { id isCurrent } } } userErrors { code } } }"""
    bob = await login(client, "bob")
    for token in (None, bob):  # signed out, and signed in as somebody else
        data = await graphql_data(client, query, {"u": "alice", "p": PASSWORD}, token=token)
        login_payload = data["login"]
        current = [node for node in login_payload["account"]["sessions"]["nodes"] if node["isCurrent"]]
        assert current == [{"id": login_payload["session"]["id"], "isCurrent": True}], data
        assert login_payload["account"]["username"] == "alice"


async def test_a_session_ended_between_two_pages_shifts_nothing(client: httpx.AsyncClient, app: Starlette) -> None:
    # Cursors name an item, not a position: with offsets, ending a session on page one made page two skip one.
    await make_account(app)
    tokens = [await _sign_in_from(app, "8.8.8.8", WINDOWS_CHROME_UA) for _ in range(5)]
    query = """query($after: String) { viewer { sessions(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { id } } } }"""
    listed = await graphql_data(client, SESSIONS, token=tokens[0])
    everyone = [node["id"] for node in listed["viewer"]["sessions"]["nodes"]]
    first = (await graphql_data(client, query, token=tokens[0]))["viewer"]["sessions"]
    assert [node["id"] for node in first["nodes"]] == everyone[:2]
    ended = await graphql_data(client, LOGOUT_SESSION, {"id": everyone[1]}, token=tokens[0])
    assert ended["logoutSession"]["userErrors"] == []
    second = (await graphql_data(client, query, {"after": first["pageInfo"]["endCursor"]},
                                 token=tokens[0]))["viewer"]["sessions"]
    assert [node["id"] for node in second["nodes"]] == everyone[2:4]
    assert (second["totalCount"], second["pageInfo"]["hasNextPage"]) == (4, True)
    last = (await graphql_data(client, query, {"after": second["pageInfo"]["endCursor"]},
                               token=tokens[0]))["viewer"]["sessions"]
    assert [node["id"] for node in last["nodes"]] == everyone[4:]
    assert last["pageInfo"]["hasNextPage"] is False
