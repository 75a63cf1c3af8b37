"""A third-party app played by Authlib's own client against a real server: connect, use, refresh, get revoked."""

from __future__ import annotations

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from starlette.applications import Starlette

from app.services.apps import RegisteredApp
from app.services.grants import revoke_access
from tests.conftest import LiveServer
from tests.oauth.helpers import REDIRECT_URI, Person, location_base, query_of

SCOPE = "tweet.read users.read users.email offline.access"


async def test_authlib_client_connects_uses_refreshes_and_is_revoked(
        app: Starlette, live_server: LiveServer, person: Person, reg: RegisteredApp) -> None:
    base = live_server.url
    oauth = AsyncOAuth2Client(client_id=reg.app.client_id, client_secret=reg.client_secret, scope=SCOPE,
                              redirect_uri=REDIRECT_URI, code_challenge_method="S256")
    verifier = "v" * 20 + "-._~" + "x" * 40
    url, state = oauth.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)

    async with httpx.AsyncClient(headers=person.headers) as browser:
        to_consent = await browser.get(url)
        assert to_consent.status_code == 302 and location_base(to_consent) == "/oauth/consent"
        page = await browser.get(base + to_consent.headers["location"])
        assert page.status_code == 200 and "Authorize app" in page.text
        back = await browser.post(f"{base}/oauth/consent",
                                  data={"request": query_of(to_consent)["request"], "decision": "approve"})
    assert back.status_code == 303
    callback = back.headers["location"]
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

        # The person revokes the app (GraphQL revokeAccess calls this same service function).
        async with app.state.consentry.database.async_sessions() as db:
            await revoke_access(db, account=person.account, app_id=reg.app.id)

        denied = await oauth.get(f"{base}/api/v1/me")
        assert denied.status_code == 401
        assert 'error="invalid_token"' in denied.headers["www-authenticate"]
        with pytest.raises(OAuthError) as refused:
            await oauth.refresh_token(f"{base}/oauth/token")
        assert refused.value.error == "invalid_grant"
