"""The gateway check, ``/oauth/check`` (SECURITY.md K56): what nginx ``auth_request``, Traefik ``ForwardAuth`` and
Envoy ``ext_authz`` ask before each API request, and that only the gateway may ask."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.services.apps import RegisteredApp
from app.settings import Settings
from tests.conftest import client_for
from tests.factories import graphql_data
from tests.oauth.helpers import Person, revoke, tokens_for

GATEWAY_SECRET = "gateway-secret-for-tests-0123456789abcdef"
GATEWAY = {"x-consentry-gateway-secret": GATEWAY_SECRET}
LAST_USED = "{ viewer { connectedApps { nodes { lastUsedAt } } } }"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app of every test here (and of the person, app and client fixtures): the gateway holds this secret."""
    application = create_app(settings.with_overrides(gateway_secret=GATEWAY_SECRET))
    yield application
    await application.state.consentry.database.dispose()


async def check(client: httpx.AsyncClient, token: str | None, *, scope: str | None = None,
                headers: dict[str, str] | None = None, method: str = "GET") -> httpx.Response:
    """Ask as the gateway does: the API request's Authorization header, the gateway's secret."""
    sent = {**GATEWAY, **(headers or {})}
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    return await client.request(method, "/oauth/check", params={"scope": scope} if scope else None, headers=sent)


async def test_a_live_token_passes_with_who_it_acts_for(client: httpx.AsyncClient, person: Person,
                                                        reg: RegisteredApp) -> None:
    """200 with the account, username, client and the token's scopes in headers, no body, and not cacheable."""
    tokens = await tokens_for(client, person, reg, scope="tweet.read users.read")
    response = await check(client, tokens.access_token, scope="tweet.read")
    assert response.status_code == 200
    assert response.content == b""
    assert {name: response.headers[name] for name in ("x-consentry-account", "x-consentry-username",
                                                      "x-consentry-client", "x-consentry-scopes")} == {
        "x-consentry-account": str(person.account.id), "x-consentry-username": "alice",
        "x-consentry-client": reg.app.client_id, "x-consentry-scopes": "tweet.read users.read"}
    assert response.headers["cache-control"] == "no-store"


async def test_a_check_records_last_use_like_the_api(client: httpx.AsyncClient, person: Person,
                                                     reg: RegisteredApp) -> None:
    """The connected app shows when it was last used once a gateway check let its token through."""
    tokens = await tokens_for(client, person, reg)
    before = await graphql_data(client, LAST_USED, token=person.token)
    assert before["viewer"]["connectedApps"]["nodes"] == [{"lastUsedAt": None}]
    assert (await check(client, tokens.access_token)).status_code == 200
    after = await graphql_data(client, LAST_USED, token=person.token)
    assert after["viewer"]["connectedApps"]["nodes"][0]["lastUsedAt"] is not None


async def test_no_or_bad_token_is_401_with_a_bearer_challenge(client: httpx.AsyncClient, person: Person,
                                                              reg: RegisteredApp) -> None:
    """No credentials: 401 and a challenge without an error code (RFC 6750 §3.1); a garbage token, another
    scheme's or a first-party session token: 401 invalid_token. Never a body."""
    missing = await check(client, None)
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, 'Bearer realm="consentry"')
    basic = await check(client, None, headers={"authorization": "Basic YWxpY2U6cGFzcw=="})
    assert (basic.status_code, basic.headers["www-authenticate"]) == (401, 'Bearer realm="consentry"')
    for token in ("garbage", person.token, "x" * 3000):
        refused = await check(client, token)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer realm="consentry", error="invalid_token"'
        assert refused.content == b""


async def test_a_revoked_token_fails_the_very_next_check(client: httpx.AsyncClient, person: Person,
                                                         reg: RegisteredApp) -> None:
    """Revoking the token (RFC 7009) or the whole app (revokeAccess) fails the next check at once: nothing is
    cached between checks."""
    first, second = await tokens_for(client, person, reg), await tokens_for(client, person, reg)
    assert (await check(client, first.access_token)).status_code == 200
    assert (await revoke(client, reg, first.access_token)).status_code == 200
    assert (await check(client, first.access_token)).status_code == 401

    assert (await check(client, second.access_token)).status_code == 200
    app_id = (await graphql_data(client, "{ viewer { connectedApps { nodes { app { id } } } } }",
                                 token=person.token))["viewer"]["connectedApps"]["nodes"][0]["app"]["id"]
    await graphql_data(client, "mutation($id: ID!) { revokeAccess(input: {appId: $id}) { userErrors { code } } }",
                       {"id": app_id}, token=person.token)
    assert (await check(client, second.access_token)).status_code == 401


async def test_a_missing_scope_is_403_insufficient_scope(client: httpx.AsyncClient, person: Person,
                                                         reg: RegisteredApp) -> None:
    """The scope the gateway requires, from ?scope= or X-Consentry-Scope (every scope named in either), must all
    be held by the token: otherwise 403 insufficient_scope naming them."""
    tokens = await tokens_for(client, person, reg, scope="tweet.read users.read")
    assert (await check(client, tokens.access_token, scope="tweet.read users.read")).status_code == 200
    assert (await check(client, tokens.access_token,
                        headers={"x-consentry-scope": "users.read"})).status_code == 200
    by_query = await check(client, tokens.access_token, scope="tweet.write")
    assert by_query.status_code == 403
    assert by_query.headers["www-authenticate"] == \
        'Bearer realm="consentry", error="insufficient_scope", scope="tweet.write"'
    both = await check(client, tokens.access_token, scope="tweet.read",
                       headers={"x-consentry-scope": "dm.read"})
    assert both.status_code == 403
    assert both.headers["www-authenticate"].endswith('scope="dm.read tweet.read"')
    odd = await check(client, tokens.access_token, scope='tweet.read "quoted"\x01 \u20ac')
    assert odd.status_code == 403
    assert odd.headers["www-authenticate"].endswith('scope="tweet.read"')  # what cannot be held is not echoed


async def test_envoy_sends_the_api_request_method(client: httpx.AsyncClient, person: Person,
                                                  reg: RegisteredApp) -> None:
    """Envoy's ext_authz asks with the API request's own method: every method gets the same answer."""
    tokens = await tokens_for(client, person, reg)
    for method in ("POST", "DELETE", "PATCH", "HEAD"):
        assert (await check(client, tokens.access_token, method=method)).status_code == 200
        assert (await check(client, "garbage", method=method)).status_code == 401


async def test_only_the_gateway_may_ask(client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """Without the gateway's secret, or with a wrong one (even a prefix of it), the answer is a bare 403 whatever
    the token: a stranger learns nothing about tokens from it."""
    tokens = await tokens_for(client, person, reg)
    for headers in ({}, {"x-consentry-gateway-secret": "wrong"},
                    {"x-consentry-gateway-secret": GATEWAY_SECRET[:-1]},
                    {"x-consentry-gateway-secret": GATEWAY_SECRET + "x"}):
        response = await client.get("/oauth/check", headers={**headers, "authorization": f"Bearer "
                                                                                           f"{tokens.access_token}"})
        assert (response.status_code, response.content) == (403, b"")
        assert "www-authenticate" not in response.headers
        assert "x-consentry-account" not in response.headers


async def test_allowed_networks(settings: Settings) -> None:
    """With CONSENTRY_GATEWAY_NETWORKS, a caller from a listed network may ask and one from elsewhere gets 403;
    with a secret as well, both must hold; with neither configured, nobody may ask."""
    nets = create_app(settings.with_overrides(gateway_networks=("10.1.0.0/16", "fd00::/8")))
    both = create_app(settings.with_overrides(gateway_networks=("10.1.0.0/16",), gateway_secret=GATEWAY_SECRET))
    neither = create_app(settings)
    try:
        cases = [(nets, "10.1.2.3", {}, 401), (nets, "fd00::5", {}, 401), (nets, "10.2.0.1", GATEWAY, 403),
                 (nets, "127.0.0.1", GATEWAY, 403), (both, "10.1.2.3", GATEWAY, 401), (both, "10.1.2.3", {}, 403),
                 (both, "10.9.9.9", GATEWAY, 403), (neither, "127.0.0.1", GATEWAY, 403),
                 (neither, "127.0.0.1", {}, 403)]
        for application, ip, headers, status in cases:
            async with client_for(application, ip=ip) as http:
                # 401: let in, and then refused for having no token; 403: not let in at all.
                assert (await http.get("/oauth/check", headers=headers)).status_code == status, (ip, headers)
    finally:
        for application in (nets, both, neither):
            await application.state.consentry.database.dispose()


async def test_the_secret_never_comes_as_the_bearer_token(client: httpx.AsyncClient) -> None:
    """The check's Authorization header is the API request's own: the gateway's secret sent there proves nothing."""
    response = await client.get("/oauth/check", headers={"authorization": f"Bearer {GATEWAY_SECRET}"})
    assert (response.status_code, response.content) == (403, b"")
