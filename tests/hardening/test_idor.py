"""SECURITY.md I38: one account using another's session, app, connected-app or authorization-request IDs gets
NOT_FOUND (or null), and the other account is unaffected, as its own next requests show."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.factories import graphql_data
from tests.oauth.helpers import (
    authorize_params,
    call_me,
    location_base,
    pkce_pair,
    query_of,
    register,
    sign_in,
    start,
    tokens_for,
)

IDS = """{ viewer { sessions { nodes { id } } connectedApps { nodes { id app { id } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"


async def test_i38_another_accounts_ids_are_not_found_and_change_nothing(
    client: httpx.AsyncClient, app: Starlette,
) -> None:
    """Using another account's session, app and authorization-request IDs in mutations, node() and
    authorizationRequest answers NOT_FOUND or null, and that account's sessions, apps and pending consent are
    unaffected."""
    alice, bob = await sign_in(app, "alice"), await sign_in(app, "bob")
    reg = await register(app)
    bob_tokens = await tokens_for(client, bob, reg)
    _, challenge = pkce_pair()
    pending = await start(client, bob, authorize_params(reg, challenge, scope="tweet.read", prompt="consent"))
    assert location_base(pending) == "/oauth/consent"
    request_id = query_of(pending)["request"]
    ids = (await graphql_data(client, IDS, token=bob.token))["viewer"]
    session_id = ids["sessions"]["nodes"][0]["id"]
    grant_id, app_id = ids["connectedApps"]["nodes"][0]["id"], ids["connectedApps"]["nodes"][0]["app"]["id"]

    attempts = await graphql_data(client, """mutation($s: ID!, $a: ID!, $r: ID!) {
      logoutSession(input: {sessionId: $s}) { userErrors { code } }
      revokeAccess(input: {appId: $a}) { userErrors { code } }
      authorize(input: {requestId: $r}) { redirectUri userErrors { code } }
      denyAuthorization(input: {requestId: $r}) { redirectUri userErrors { code } }
    }""", {"s": session_id, "a": app_id, "r": request_id}, token=alice.token)
    assert attempts == {
        "logoutSession": {"userErrors": [{"code": "NOT_FOUND"}]},
        "revokeAccess": {"userErrors": [{"code": "NOT_FOUND"}]},
        "authorize": {"redirectUri": None, "userErrors": [{"code": "NOT_FOUND"}]},
        "denyAuthorization": {"redirectUri": None, "userErrors": [{"code": "NOT_FOUND"}]},
    }
    for node_id in (session_id, grant_id, request_id):
        assert await graphql_data(client, NODE, {"id": node_id}, token=alice.token) == {"node": None}
    peek = await graphql_data(client, "query($id: ID!) { authorizationRequest(id: $id) { id } }",
                              {"id": request_id}, token=alice.token)
    assert peek == {"authorizationRequest": None}

    # Bob is untouched: still signed in, his app still works, his pending consent can still be approved.
    assert (await graphql_data(client, IDS, token=bob.token))["viewer"] == ids
    assert (await call_me(client, bob_tokens.access_token)).status_code == 200
    approved = await graphql_data(client, "mutation($r: ID!) { authorize(input: {requestId: $r}) "
                                  "{ redirectUri userErrors { code } } }", {"r": request_id}, token=bob.token)
    assert approved["authorize"]["userErrors"] == [] and "code=" in approved["authorize"]["redirectUri"]
