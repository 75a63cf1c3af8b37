"""Connected apps in GraphQL: consent through `authorize`, listing with permissions, `revokeAccess`, IDOR."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.factories import graphql_data
from tests.oauth.helpers import (
    REDIRECT_URI,
    Person,
    authorize_params,
    call_me,
    exchange,
    location_base,
    pkce_pair,
    query_of,
    refresh,
    register,
    sign_in,
    start,
    tokens_for,
)

CONNECTED = """{ viewer { connectedApps { totalCount nodes {
  id app { id clientId name developerName websiteUrl } permissions { scope } canView { scope title }
  canDo { scope } staysConnected accessLevels authorizedAt lastUsedAt } } } }"""
REQUEST = """query($id: ID!) { authorizationRequest(id: $id) {
  id app { name developerName } canView { scope title description kind } canDo { scope kind } staysConnected
  redirectUri } }"""
AUTHORIZE = """mutation($id: ID!) { authorize(input: {requestId: $id}) { redirectUri userErrors { field code } } }"""
DENY = """mutation($id: ID!) { denyAuthorization(input: {requestId: $id}) { redirectUri userErrors { code } } }"""
REVOKE = """mutation($id: ID!) {
  revokeAccess(input: {appId: $id}) { app { name } userErrors { message field code } }
}"""


async def _pending(client: httpx.AsyncClient, person: Person, reg: object, scope: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    response = await start(client, person, authorize_params(reg, challenge, scope=scope))  # type: ignore[arg-type]
    assert response.status_code == 302 and location_base(response) == "/oauth/consent", response.text
    return query_of(response)["request"], verifier


async def test_consent_through_graphql_then_the_app_is_listed_with_its_permissions(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    person = await sign_in(app)
    reg = await register(app, name="Buffered")
    request_id, verifier = await _pending(client, person, reg, "tweet.read tweet.write users.read offline.access")

    shown = await graphql_data(client, REQUEST, {"id": request_id}, token=person.token)
    assert shown["authorizationRequest"] == {
        "id": request_id, "app": {"name": "Buffered", "developerName": "Example Inc."},
        "canView": [
            {"scope": "tweet.read", "title": "Posts", "kind": "VIEW",
             "description": "All the posts you can view, including posts from protected accounts."},
            {"scope": "users.read", "title": "Accounts", "kind": "VIEW",
             "description": "Any account you can view, including protected accounts."}],
        "canDo": [{"scope": "tweet.write", "kind": "DO"}],
        "staysConnected": True, "redirectUri": REDIRECT_URI}

    approved = await graphql_data(client, AUTHORIZE, {"id": request_id}, token=person.token)
    redirect = approved["authorize"]["redirectUri"]
    assert approved["authorize"]["userErrors"] == [] and redirect.startswith(REDIRECT_URI + "?")
    params = query_of(httpx.Response(302, headers={"location": redirect}))
    assert params["state"] == "state-123" and params["iss"] == "http://testserver"
    assert (await exchange(client, reg, params["code"], verifier)).status_code == 200

    listed = (await graphql_data(client, CONNECTED, token=person.token))["viewer"]["connectedApps"]
    assert listed["totalCount"] == 1
    node = listed["nodes"][0]
    assert node["app"]["name"] == "Buffered" and node["app"]["clientId"] == reg.app.client_id
    assert [p["scope"] for p in node["canView"]] == ["tweet.read", "users.read"]
    assert [p["scope"] for p in node["canDo"]] == ["tweet.write"]
    assert node["staysConnected"] is True
    assert node["accessLevels"] == ["Read and Write"]  # posting needs X's "Read and Write" level
    # The request is decided: answering it again is refused and issues nothing.
    again = await graphql_data(client, AUTHORIZE, {"id": request_id}, token=person.token)
    assert again["authorize"]["redirectUri"] is None and again["authorize"]["userErrors"][0]["code"] == "INVALID"


async def test_deny_authorization_sends_access_denied_with_state_and_iss(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    person = await sign_in(app)
    reg = await register(app)
    request_id, _ = await _pending(client, person, reg, "tweet.read")
    denied = await graphql_data(client, DENY, {"id": request_id}, token=person.token)
    params = query_of(httpx.Response(302, headers={"location": denied["denyAuthorization"]["redirectUri"]}))
    assert params == {"error": "access_denied", "error_description": "The person declined to authorize the app.",
                      "state": "state-123", "iss": "http://testserver"}
    listed = await graphql_data(client, CONNECTED, token=person.token)
    assert listed["viewer"]["connectedApps"]["totalCount"] == 0


async def test_another_accounts_authorization_request_is_not_found(client: httpx.AsyncClient, app: Starlette) -> None:
    alice = await sign_in(app, "alice")
    bob = await sign_in(app, "bob")
    reg = await register(app)
    request_id, _ = await _pending(client, alice, reg, "tweet.read")
    assert (await graphql_data(client, REQUEST, {"id": request_id}, token=bob.token)) == {"authorizationRequest": None}
    stolen = await graphql_data(client, AUTHORIZE, {"id": request_id}, token=bob.token)
    assert stolen == {"authorize": {"redirectUri": None, "userErrors": [{"field": "requestId", "code": "NOT_FOUND"}]}}
    # Alice can still answer her own request.
    mine = await graphql_data(client, AUTHORIZE, {"id": request_id}, token=alice.token)
    assert mine["authorize"]["userErrors"] == []


async def test_revoke_access_kills_every_token_before_returning(client: httpx.AsyncClient, app: Starlette) -> None:
    person = await sign_in(app)
    reg = await register(app, name="Buffered")
    request_id, verifier = await _pending(client, person, reg, "tweet.read users.read offline.access")
    authorized = await graphql_data(client, AUTHORIZE, {"id": request_id}, token=person.token)
    redirect = authorized["authorize"]["redirectUri"]
    code = query_of(httpx.Response(302, headers={"location": redirect}))["code"]
    tokens = (await exchange(client, reg, code, verifier)).json()
    bearer = {"authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200

    connected = await graphql_data(client, CONNECTED, token=person.token)
    app_id = connected["viewer"]["connectedApps"]["nodes"][0]["app"]["id"]
    revoked = await graphql_data(client, REVOKE, {"id": app_id}, token=person.token)
    assert revoked == {"revokeAccess": {"app": {"name": "Buffered"}, "userErrors": []}}

    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    refused = await refresh(client, reg, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert (await graphql_data(client, CONNECTED, token=person.token))["viewer"]["connectedApps"]["totalCount"] == 0
    # Re-authorizing asks for consent again.
    _, challenge2 = pkce_pair()
    response = await start(client, person, authorize_params(reg, challenge2, scope="tweet.read"))
    assert location_base(response) == "/oauth/consent"


async def test_another_account_cannot_see_or_revoke_my_app(client: httpx.AsyncClient, app: Starlette) -> None:
    alice = await sign_in(app, "alice")
    bob = await sign_in(app, "bob")
    reg = await register(app)
    request_id, _ = await _pending(client, alice, reg, "tweet.read")
    await graphql_data(client, AUTHORIZE, {"id": request_id}, token=alice.token)
    node = (await graphql_data(client, CONNECTED, token=alice.token))["viewer"]["connectedApps"]["nodes"][0]

    assert (await graphql_data(client, CONNECTED, token=bob.token))["viewer"]["connectedApps"]["totalCount"] == 0
    attempt = await graphql_data(client, REVOKE, {"id": node["app"]["id"]}, token=bob.token)
    assert attempt == {"revokeAccess": {"app": None, "userErrors": [
        {"message": attempt["revokeAccess"]["userErrors"][0]["message"], "field": "appId", "code": "NOT_FOUND"}]}}
    peek = await graphql_data(client, "query($id: ID!) { node(id: $id) { id } }", {"id": node["id"]}, token=bob.token)
    assert peek == {"node": None}
    # Alice still has the app.
    assert (await graphql_data(client, CONNECTED, token=alice.token))["viewer"]["connectedApps"]["totalCount"] == 1
    mine = await graphql_data(client, "query($id: ID!) { node(id: $id) { ... on ConnectedApp { app { name } } } }",
                              {"id": node["id"]}, token=alice.token)
    assert mine == {"node": {"app": {"name": "Example App"}}}


async def test_revoking_an_app_that_is_not_connected_is_not_found(client: httpx.AsyncClient, app: Starlette) -> None:
    person = await sign_in(app)
    for bad in ("garbage", "QXBwOjEyMzQ1Njc4LTEyMzQtMTIzNC0xMjM0LTEyMzQ1Njc4OTAxMg"):
        data = await graphql_data(client, REVOKE, {"id": bad}, token=person.token)
        assert data["revokeAccess"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_permission_catalog_lists_every_scope_in_plain_words(client: httpx.AsyncClient, app: Starlette) -> None:
    person = await sign_in(app)
    data = await graphql_data(client, "{ permissionCatalog { scope title kind } }", token=person.token)
    by_scope = {p["scope"]: p for p in data["permissionCatalog"]}
    assert by_scope["dm.read"] == {"scope": "dm.read", "title": "Direct Messages", "kind": "VIEW"}
    assert by_scope["tweet.write"]["kind"] == "DO"
    assert by_scope["offline.access"]["kind"] == "STAY_CONNECTED"
    metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["scopes_supported"] == [p["scope"] for p in data["permissionCatalog"]]


async def test_node_finds_apps_i_use_or_registered_but_not_others(client: httpx.AsyncClient, app: Starlette) -> None:
    alice = await sign_in(app, "alice")
    bob = await sign_in(app, "bob")
    reg = await register(app, owner=bob.account, name="Bob's App")
    request_id, _ = await _pending(client, alice, reg, "tweet.read")
    await graphql_data(client, AUTHORIZE, {"id": request_id}, token=alice.token)
    connected = await graphql_data(client, CONNECTED, token=alice.token)
    app_id = connected["viewer"]["connectedApps"]["nodes"][0]["app"]["id"]
    query = "query($id: ID!) { node(id: $id) { ... on App { name } } }"
    assert await graphql_data(client, query, {"id": app_id}, token=alice.token) == {"node": {"name": "Bob's App"}}
    assert await graphql_data(client, query, {"id": app_id}, token=bob.token) == {"node": {"name": "Bob's App"}}
    carol = await sign_in(app, "carol")
    assert await graphql_data(client, query, {"id": app_id}, token=carol.token) == {"node": None}


async def test_an_app_used_between_two_pages_is_not_listed_twice(client: httpx.AsyncClient, app: Starlette) -> None:
    # The list is ordered by last use, so it reorders while somebody pages through it; with offset cursors the
    # second page repeated the last app of the first.
    person = await sign_in(app)
    tokens = [await tokens_for(client, person, await register(app, name=f"App {i}")) for i in range(3)]
    query = """query($after: String) { viewer { connectedApps(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { app { name } } } } }"""
    first = (await graphql_data(client, query, token=person.token))["viewer"]["connectedApps"]
    assert [node["app"]["name"] for node in first["nodes"]] == ["App 2", "App 1"]
    assert (await call_me(client, tokens[0].access_token)).status_code == 200  # App 0 is used: now it is first
    second = (await graphql_data(client, query, {"after": first["pageInfo"]["endCursor"]},
                                 token=person.token))["viewer"]["connectedApps"]
    assert second["nodes"] == [] and second["pageInfo"]["hasNextPage"] is False and second["totalCount"] == 3
    again = (await graphql_data(client, query, token=person.token))["viewer"]["connectedApps"]
    assert [node["app"]["name"] for node in again["nodes"]] == ["App 0", "App 2"]
