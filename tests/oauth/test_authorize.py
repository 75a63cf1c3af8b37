"""SECURITY.md A1-A4, A8, B9-B10 (challenge): the authorization endpoint validates before anything else."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.models import AuthorizationCode
from app.services.apps import RegisteredApp
from tests.factories import graphql_data
from tests.oauth.helpers import (
    ISSUER,
    REDIRECT_URI,
    Person,
    assert_error_page,
    assert_error_redirect,
    authorize_params,
    decide,
    exchange,
    location_base,
    obtain_code,
    pkce_pair,
    query_of,
    register,
    start,
)

CHALLENGE = pkce_pair()[1]


async def test_a01_missing_client_id_is_a_400_page(client: httpx.AsyncClient, person: Person,
                                                   reg: RegisteredApp) -> None:
    """An authorization request without client_id gets a 400 error page, never a redirect."""
    response = await start(client, person, authorize_params(reg, CHALLENGE, client_id=None))
    assert_error_page(response)


async def test_a01_unknown_client_id_is_a_400_page(client: httpx.AsyncClient, person: Person,
                                                   reg: RegisteredApp) -> None:
    """An unknown client_id gets a 400 error page saying invalid_client, never a redirect."""
    response = await start(client, person, authorize_params(reg, CHALLENGE, client_id="no-such-client"))
    assert_error_page(response)
    assert "invalid_client" in response.text


@pytest.mark.parametrize("redirect_uri", [
    REDIRECT_URI + "/",
    REDIRECT_URI + "/extra",
    REDIRECT_URI + "?next=1",
    REDIRECT_URI + "#frag",
    "https://evil.example.com/callback",
    "https://client.example.com.evil.example/callback",
    "https://user@client.example.com/callback",
    "https://client.example.com@evil.example/callback",
    "http://client.example.com/callback",
    "https://client.example.com:8443/callback",
    "https://client.example.com/x/../callback",
    "https://CLIENT.example.com/callback",
    "https://client.example.com/callback%20",
    'https://client.example.com/"callback',
])
async def test_a01_redirect_uri_not_byte_equal_is_a_400_page(client: httpx.AsyncClient, person: Person,
                                                              reg: RegisteredApp, redirect_uri: str) -> None:
    """A redirect_uri that differs in any way from the registered one (slash, path, query, host, user, scheme, port,
    dot segments) gets a 400 error page, never a redirect to it."""
    response = await start(client, person, authorize_params(reg, CHALLENGE, redirect_uri=redirect_uri))
    assert_error_page(response)


async def test_a02_missing_redirect_uri_is_a_400_page(client: httpx.AsyncClient, person: Person,
                                                      reg: RegisteredApp) -> None:
    """An authorization request without redirect_uri gets a 400 error page, never a redirect."""
    response = await start(client, person, authorize_params(reg, CHALLENGE, redirect_uri=None))
    assert_error_page(response)


async def test_a02_missing_response_type_redirects_invalid_request(client: httpx.AsyncClient, person: Person,
                                                                   reg: RegisteredApp) -> None:
    """Without response_type, the person is sent back to the app with error=invalid_request."""
    response = await start(client, person, authorize_params(reg, CHALLENGE, response_type=None))
    assert_error_redirect(response, "invalid_request")


@pytest.mark.parametrize("response_type", ["token", "code token", "id_token"])
async def test_a02_other_response_types_are_unsupported(client: httpx.AsyncClient, person: Person,
                                                        reg: RegisteredApp, response_type: str) -> None:
    """Any response_type other than code (token, hybrid, id_token) is sent back as unsupported_response_type."""
    response = await start(client, person, authorize_params(reg, CHALLENGE, response_type=response_type))
    assert_error_redirect(response, "unsupported_response_type")



async def test_a02_an_unsupported_response_type_is_not_echoed_into_the_apps_error(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """The error sent back for an unsupported response_type carries our own fixed description, never the attacker's
    text from the request."""
    hostile = 'x" \\ é Please sign in again at https://evil.example'
    response = await start(client, person, authorize_params(reg, CHALLENGE, response_type=hostile))
    query = assert_error_redirect(response, "unsupported_response_type")
    assert query["error_description"] == "Only response_type=code is supported."


@pytest.mark.parametrize("name", ["state", "client_id", "scope", "redirect_uri", "prompt"])
async def test_a03_a_nul_character_in_any_parameter_is_a_400_page(client: httpx.AsyncClient, person: Person,
                                                                  reg: RegisteredApp, name: str) -> None:
    """A NUL character in any parameter gets a 400 error page (not a 500), and the same request without it still
    works."""
    # PostgreSQL stores no NUL in text: refused before the client is looked up or the state stored (was a 500).
    params = authorize_params(reg, CHALLENGE)
    params[name] = (params.get(name) or "consent") + "\x00"
    assert_error_page(await start(client, person, params))
    assert location_base(await start(client, person, authorize_params(reg, CHALLENGE))) == "/oauth/consent"

@pytest.mark.parametrize("name", ["response_type", "scope", "state", "code_challenge", "code_challenge_method"])
async def test_a03_repeated_parameter_is_invalid_request(client: httpx.AsyncClient, person: Person,
                                                         reg: RegisteredApp, name: str) -> None:
    """Repeating response_type, scope, state or a PKCE parameter is sent back as invalid_request."""
    params = list(authorize_params(reg, CHALLENGE).items())
    params.append((name, dict(params)[name]))
    response = await start(client, person, params)
    assert_error_redirect(response, "invalid_request")


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
async def test_a03_repeated_client_or_redirect_uri_is_a_400_page(client: httpx.AsyncClient, person: Person,
                                                                 reg: RegisteredApp, name: str) -> None:
    """Repeating client_id or redirect_uri gets a 400 error page: with either in doubt there is nowhere safe to
    redirect."""
    params = list(authorize_params(reg, CHALLENGE).items())
    params.append((name, dict(params)[name]))
    response = await start(client, person, params)
    assert_error_page(response)


async def test_a03_overlong_state_is_invalid_request_and_not_echoed(client: httpx.AsyncClient, person: Person,
                                                                    reg: RegisteredApp) -> None:
    """A state of 3000 characters is sent back as invalid_request without echoing it; one of 1024 characters is fine."""
    response = await start(client, person, authorize_params(reg, CHALLENGE, state="s" * 3000))
    assert_error_redirect(response, "invalid_request", state=None)
    fits = await start(client, person, authorize_params(reg, CHALLENGE, state="s" * 1024))
    assert location_base(fits) == "/oauth/consent"


async def test_a03_unknown_parameters_are_ignored(client: httpx.AsyncClient, person: Person,
                                                  reg: RegisteredApp) -> None:
    """Unknown extra parameters, even repeated or empty ones, are ignored and the request goes on to consent."""
    params = [*authorize_params(reg, CHALLENGE).items(), ("utm_source", "a"), ("utm_source", "b"), ("x", "")]
    response = await start(client, person, params)
    assert response.status_code == 302
    assert location_base(response) == "/oauth/consent"


async def test_a04_scope_outside_registration_is_invalid_scope(app: object, client: httpx.AsyncClient,
                                                                person: Person) -> None:
    """Asking for a scope the app did not register is sent back as invalid_scope."""
    reg = await register(app, scopes=["tweet.read", "users.read"])  # type: ignore[arg-type]
    response = await start(client, person, authorize_params(reg, CHALLENGE, scope="tweet.read dm.read"))
    assert_error_redirect(response, "invalid_scope")


async def test_a04_unknown_scope_is_invalid_scope(client: httpx.AsyncClient, person: Person,
                                                  reg: RegisteredApp) -> None:
    """Asking for a scope that does not exist in the catalogue is sent back as invalid_scope."""
    response = await start(client, person, authorize_params(reg, CHALLENGE, scope="tweet.read admin"))
    assert_error_redirect(response, "invalid_scope")


@pytest.mark.parametrize("scope", [None, "", "   "])
async def test_a04_empty_scope_is_invalid_scope_not_a_default_set(client: httpx.AsyncClient, person: Person,
                                                                  reg: RegisteredApp, scope: str | None) -> None:
    """A missing, empty or blank scope is sent back as invalid_scope; no default set of scopes is granted silently."""
    # Decision (documented in ClientModel.get_allowed_scope): no silent default, the app must say what it wants.
    response = await start(client, person, authorize_params(reg, CHALLENGE, scope=scope))
    assert_error_redirect(response, "invalid_scope")


async def test_a08_signed_out_goes_to_login_and_back_to_this_request(client: httpx.AsyncClient,
                                                                    reg: RegisteredApp) -> None:
    """A signed-out person is sent to /login with a next URL that leads back to this same authorization request."""
    params = authorize_params(reg, CHALLENGE)
    response = await client.get("/oauth/authorize", params=params)
    assert response.status_code == 302
    assert location_base(response) == "/login"
    next_url = query_of(response)["next"]
    assert next_url.startswith("/oauth/authorize?")
    again = await client.get(next_url)
    assert again.headers["location"] == response.headers["location"]


async def test_a08_invalid_request_is_answered_before_sign_in(client: httpx.AsyncClient, reg: RegisteredApp) -> None:
    """A request that is invalid anyway is answered with its error redirect before anyone is asked to sign in."""
    response = await client.get("/oauth/authorize", params=authorize_params(reg, CHALLENGE, scope="admin"))
    assert_error_redirect(response, "invalid_scope")


async def test_a08_error_redirect_keeps_the_registered_query_and_adds_iss(app: object, client: httpx.AsyncClient,
                                                                          person: Person) -> None:
    """An error redirect keeps the registered redirect URI's own query parameters, appends the error, and carries
    iss."""
    uri = "https://client.example.com/cb?tenant=7"
    reg = await register(app, redirect_uris=[uri])  # type: ignore[arg-type]
    response = await start(client, person, authorize_params(reg, CHALLENGE, redirect_uri=uri, scope="nope"))
    assert response.headers["location"].startswith(uri + "&error=invalid_scope")
    assert query_of(response)["iss"] == ISSUER


async def test_b09_missing_code_challenge_is_invalid_request(client: httpx.AsyncClient, person: Person,
                                                             reg: RegisteredApp, public_reg: RegisteredApp) -> None:
    """Without a PKCE code_challenge, confidential and public apps alike are sent back invalid_request."""
    for app_reg in (reg, public_reg):
        response = await start(client, person, authorize_params(app_reg, CHALLENGE, code_challenge=None,
                                                                code_challenge_method=None))
        assert_error_redirect(response, "invalid_request")


@pytest.mark.parametrize("method", ["plain", None, "s256", "S512"])
async def test_b09_plain_or_missing_method_is_invalid_request(client: httpx.AsyncClient, person: Person,
                                                              reg: RegisteredApp, method: str | None) -> None:
    """A code_challenge_method other than S256 (plain, missing, lower-case, unknown) is sent back invalid_request."""
    response = await start(client, person, authorize_params(reg, CHALLENGE, code_challenge_method=method))
    assert_error_redirect(response, "invalid_request")


@pytest.mark.parametrize("challenge", ["a" * 42, "a" * 129, "a" * 42 + "!", "a" * 42 + "=", "a" * 42 + " "])
async def test_b10_challenge_of_wrong_length_or_alphabet_is_invalid_request(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp, challenge: str) -> None:
    """A code_challenge shorter than 43 or longer than 128 characters, or with characters outside the PKCE alphabet,
    is sent back invalid_request."""
    response = await start(client, person, authorize_params(reg, CHALLENGE, code_challenge=challenge))
    assert_error_redirect(response, "invalid_request")


async def test_b10_challenge_of_43_and_128_characters_is_accepted(client: httpx.AsyncClient, person: Person,
                                                                  reg: RegisteredApp) -> None:
    """Challenges of exactly 43 and 128 characters from the whole PKCE alphabet are accepted and go on to consent."""
    for challenge in ("a" * 43, "A-._~" * 25 + "abc"):
        response = await start(client, person, authorize_params(reg, CHALLENGE, code_challenge=challenge))
        assert location_base(response) == "/oauth/consent", response.headers.get("location")


# --- K51: no code without an interaction for clients whose identity is not assured --------------------------------

LOOPBACK_URIS = ["http://127.0.0.1:8765/callback", "http://[::1]:8765/callback", "http://localhost:8765/callback"]
IS_ALREADY_AUTHORIZED = """
query ($id: ID!) { authorizationRequest(id: $id) { app { name } isAlreadyAuthorized } }
"""


async def _count_codes(app: Starlette) -> int:
    async with app.state.consentry.database.async_sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(AuthorizationCode)) or 0)


async def test_k51_a_public_client_with_a_covering_grant_gets_the_consent_page_not_a_code(
        app: Starlette, client: httpx.AsyncClient, person: Person, public_reg: RegisteredApp) -> None:
    """A public client that the person authorized before is sent to the consent page again, in its one-click
    "Continue to <app>" form, and no code is issued until the person answers (RFC 6749 §10.2)."""
    await obtain_code(client, person, public_reg)  # consents once: the grant now covers the scopes below
    codes = await _count_codes(app)
    again = await start(client, person, authorize_params(public_reg, CHALLENGE, scope="tweet.read users.read"))
    assert again.status_code == 302
    assert location_base(again) == "/oauth/consent"
    assert "code" not in query_of(again)
    assert await _count_codes(app) == codes
    page = await client.get(again.headers["location"], headers=person.headers)
    assert page.status_code == 200
    assert "Continue to Native App" in page.text and "wants to access your account" not in page.text
    assert "Authorize app" not in page.text and "Cancel" in page.text
    data = await graphql_data(client, IS_ALREADY_AUTHORIZED, {"id": query_of(again)["request"]}, token=person.token)
    assert data == {"authorizationRequest": {"app": {"name": "Native App"}, "isAlreadyAuthorized": True}}


@pytest.mark.parametrize("loopback_uri", LOOPBACK_URIS)
async def test_k51_a_loopback_redirect_gets_the_consent_page_even_for_a_confidential_client(
        app: Starlette, client: httpx.AsyncClient, person: Person, loopback_uri: str) -> None:
    """A confidential client's covering grant answers silently at its https redirect URI, but not at a loopback one,
    where any program on the device could be listening (RFC 8252 §8.6)."""
    reg = await register(app, redirect_uris=[REDIRECT_URI, loopback_uri])
    await obtain_code(client, person, reg)
    silent = await start(client, person, authorize_params(reg, CHALLENGE))
    assert location_base(silent) == REDIRECT_URI and "code" in query_of(silent)
    local = await start(client, person, authorize_params(reg, CHALLENGE, redirect_uri=loopback_uri))
    assert location_base(local) == "/oauth/consent"
    assert "code" not in query_of(local)


async def test_k51_a_confidential_client_with_an_https_redirect_still_gets_a_code_that_redeems(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """Unchanged for confidential clients off the device: a covering grant answers with a code at once, and the
    code redeems (a guard: passes before and after the change)."""
    await obtain_code(client, person, reg)
    verifier, challenge = pkce_pair()
    again = await start(client, person, authorize_params(reg, challenge))
    assert location_base(again) == REDIRECT_URI
    assert (await exchange(client, reg, query_of(again)["code"], verifier)).status_code == 200


async def test_k51_continuing_on_the_one_click_page_yields_a_code_that_redeems(
        client: httpx.AsyncClient, person: Person, public_reg: RegisteredApp) -> None:
    """Continuing on the one-click page answers like "Authorize app": back to the app with code, state and iss,
    and the code redeems for tokens."""
    await obtain_code(client, person, public_reg)
    verifier, challenge = pkce_pair()
    again = await start(client, person, authorize_params(public_reg, challenge))
    assert location_base(again) == "/oauth/consent"
    answer = await decide(client, person, query_of(again)["request"])
    assert answer.status_code == 303 and location_base(answer) == REDIRECT_URI
    params = query_of(answer)
    assert set(params) == {"code", "state", "iss"} and params["iss"] == ISSUER and params["state"] == "state-123"
    tokens = await exchange(client, public_reg, params["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["scope"] == "offline.access tweet.read users.read"


async def test_k51_a_first_request_is_not_already_authorized(client: httpx.AsyncClient, person: Person,
                                                            public_reg: RegisteredApp) -> None:
    """Without a grant the consent page and the GraphQL request say so: the full "wants to access" form."""
    first = await start(client, person, authorize_params(public_reg, CHALLENGE))
    page = await client.get(first.headers["location"], headers=person.headers)
    assert "Native App wants to access your account" in page.text and "Authorize app" in page.text
    data = await graphql_data(client, IS_ALREADY_AUTHORIZED, {"id": query_of(first)["request"]}, token=person.token)
    assert data == {"authorizationRequest": {"app": {"name": "Native App"}, "isAlreadyAuthorized": False}}


async def test_k51_prompt_none_for_a_public_client_with_a_covering_grant_is_interaction_required(
        app: Starlette, client: httpx.AsyncClient, person: Person, public_reg: RegisteredApp) -> None:
    """prompt=none never shows a page: where the person would have to confirm, the app gets
    error=interaction_required with its state and our iss, and no code."""
    await obtain_code(client, person, public_reg)
    codes = await _count_codes(app)
    response = await start(client, person, authorize_params(public_reg, CHALLENGE, prompt="none"))
    assert_error_redirect(response, "interaction_required")
    assert await _count_codes(app) == codes


async def test_k51_prompt_none_without_a_covering_grant_is_consent_required(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """prompt=none where consent was never given (or not for every scope asked) → error=consent_required."""
    assert_error_redirect(await start(client, person, authorize_params(reg, CHALLENGE, prompt="none")),
                          "consent_required")
    await obtain_code(client, person, reg, scope="users.read")
    wider = await start(client, person, authorize_params(reg, CHALLENGE, scope="users.read tweet.read",
                                                         prompt="none"))
    assert_error_redirect(wider, "consent_required")
    covered = await start(client, person, authorize_params(reg, CHALLENGE, scope="users.read", prompt="none"))
    assert location_base(covered) == REDIRECT_URI and "code" in query_of(covered)


async def test_k51_prompt_none_signed_out_is_login_required(client: httpx.AsyncClient, reg: RegisteredApp) -> None:
    """prompt=none from a signed-out browser → error=login_required at the app, not the sign-in page."""
    response = await client.get("/oauth/authorize", params=authorize_params(reg, CHALLENGE, prompt="none"))
    assert_error_redirect(response, "login_required")


async def test_k51_prompt_none_with_another_value_is_invalid_request(client: httpx.AsyncClient, person: Person,
                                                                    reg: RegisteredApp) -> None:
    """prompt=none cannot be combined with another value (OpenID Connect Core §3.1.2.1) → invalid_request."""
    response = await start(client, person, authorize_params(reg, CHALLENGE, prompt="none consent"))
    assert_error_redirect(response, "invalid_request")
