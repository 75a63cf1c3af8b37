"""A third-party app played by Authlib's own client against a real server: connect, use, refresh, get revoked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from starlette.applications import Starlette

from app.services.apps import RegisteredApp
from tests.conftest import LiveServer
from tests.oauth.helpers import REDIRECT_URI, Person, location_base, query_of

SCOPE = "tweet.read users.read users.email offline.access"
REQUEST = "query($id: ID!) { authorizationRequest(id: $id) { app { name } canView { scope } } }"
AUTHORIZE = "mutation($id: ID!) { authorize(input: {requestId: $id}) { redirectUri userErrors { code } } }"
REVOKE = "mutation($id: ID!) { revokeAccess(input: {appId: $id}) { userErrors { code } } }"


async def _graphql(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def test_authlib_client_connects_uses_refreshes_and_is_revoked(
        app: Starlette, live_server: LiveServer, person: Person, reg: RegisteredApp) -> None:
    base = live_server.url
    oauth = AsyncOAuth2Client(client_id=reg.app.client_id, client_secret=reg.client_secret, scope=SCOPE,
                              redirect_uri=REDIRECT_URI, code_challenge_method="S256")
    verifier = "v" * 20 + "-._~" + "x" * 40
    url, state = oauth.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)

    # The person's native app signs in with a first-party session and shows the consent screen through GraphQL.
    async with httpx.AsyncClient(base_url=base, headers=person.headers) as native:
        to_consent = await native.get(url)
        assert to_consent.status_code == 302 and location_base(to_consent) == "/oauth/consent"
        request_id = query_of(to_consent)["request"]
        shown = await _graphql(native, REQUEST, {"id": request_id})
        assert shown["authorizationRequest"]["app"]["name"] == reg.app.name
        assert [p["scope"] for p in shown["authorizationRequest"]["canView"]] == ["tweet.read", "users.read",
                                                                                  "users.email"]
        approved = await _graphql(native, AUTHORIZE, {"id": request_id})
    callback = approved["authorize"]["redirectUri"]
    back = httpx.Response(302, headers={"location": callback})
    assert query_of(back)["iss"] == base and query_of(back)["state"] == state

    async with oauth:
        token = await oauth.fetch_token(f"{base}/oauth/token", authorization_response=callback,
                                        code_verifier=verifier)
        assert token["token_type"] == "Bearer" and token["refresh_token"]
        me = await oauth.get(f"{base}/api/v1/me")
        assert me.status_code == 200
        assert me.json() == {"id": str(person.account.id), "username": "alice", "name": "Alice",
                             "email": "alice@example.com"}

        refreshed = await oauth.refresh_token(f"{base}/oauth/token")
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert (await oauth.get(f"{base}/api/v1/me")).status_code == 200

        # The person revokes the app from their settings, through GraphQL.
        async with httpx.AsyncClient(base_url=base, headers=person.headers) as native:
            connected = await _graphql(native, "{ viewer { connectedApps { nodes { app { id } } } } }")
            app_id = connected["viewer"]["connectedApps"]["nodes"][0]["app"]["id"]
            revoked = await _graphql(native, REVOKE, {"id": app_id})
        assert revoked == {"revokeAccess": {"userErrors": []}}

        denied = await oauth.get(f"{base}/api/v1/me")
        assert denied.status_code == 401
        assert 'error="invalid_token"' in denied.headers["www-authenticate"]
        with pytest.raises(OAuthError) as refused:
            await oauth.refresh_token(f"{base}/oauth/token")
        assert refused.value.error == "invalid_grant"
