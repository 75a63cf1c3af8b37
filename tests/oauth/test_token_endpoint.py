"""SECURITY.md B10-B12, C13-C15, D16-D18: code exchange, PKCE verification and client authentication."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.models import AuthorizationCode, OAuthToken, utcnow
from app.services.apps import RegisteredApp
from app.services.digests import digest
from tests.oauth.helpers import (
    REDIRECT_URI,
    Person,
    call_me,
    exchange,
    introspect,
    obtain_code,
    pkce_pair,
    refresh,
    register,
    token_request,
    tokens_for,
)


async def _set_code(app: Starlette, **values: object) -> None:
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(AuthorizationCode).values(**values))
        await db.commit()


def _error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def test_b10_verifier_of_wrong_length_or_alphabet_is_invalid_request(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """A code_verifier shorter than 43 or longer than 128 characters, or outside the PKCE alphabet, is
    invalid_request."""
    for verifier in ("a" * 42, "a" * 129, "a" * 42 + "+"):
        code, _ = await obtain_code(client, person, reg)
        _error(await exchange(client, reg, code, verifier), 400, "invalid_request")


async def test_b11_missing_or_wrong_verifier_is_invalid_grant(client: httpx.AsyncClient, person: Person,
                                                              reg: RegisteredApp, public_reg: RegisteredApp) -> None:
    """No code_verifier, or one a character off, is invalid_grant for confidential and public clients alike."""
    for app_reg in (reg, public_reg):
        code, _ = await obtain_code(client, person, app_reg)
        _error(await exchange(client, app_reg, code, None), 400, "invalid_grant")
        code, verifier = await obtain_code(client, person, app_reg)
        _error(await exchange(client, app_reg, code, verifier[:-1] + ("A" if verifier[-1] != "A" else "B")),
               400, "invalid_grant")


@pytest.mark.parametrize("attempt", ["wrong", "missing", "malformed"])
async def test_b11_a_failed_verification_burns_the_code(app: Starlette, client: httpx.AsyncClient, person: Person,
                                                        reg: RegisteredApp, public_reg: RegisteredApp,
                                                        attempt: str) -> None:
    """A code gets one PKCE try: after a failed verification even the right verifier is invalid_grant, so a thief
    cannot guess verifiers and nobody redeems the code afterwards; no token was ever stored."""
    bad = {"wrong": pkce_pair()[0], "missing": None, "malformed": "a" * 42}[attempt]
    for app_reg in (reg, public_reg):
        code, verifier = await obtain_code(client, person, app_reg)
        _error(await exchange(client, app_reg, code, bad), 400,
               "invalid_request" if attempt == "malformed" else "invalid_grant")
        _error(await exchange(client, app_reg, code, verifier), 400, "invalid_grant")
    async with app.state.consentry.database.async_sessions() as db:
        assert await db.scalar(select(func.count()).select_from(OAuthToken)) == 0


async def test_b12_verifier_for_a_code_without_challenge_is_refused(
        app: Starlette, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """A code_verifier sent for a code stored without a challenge is refused with a 400."""
    code, verifier = await obtain_code(client, person, reg)
    await _set_code(app, code_challenge="")  # a row as a looser server might have stored it
    response = await exchange(client, reg, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "invalid_grant")


async def test_c13_codes_live_at_most_60_seconds(app: Starlette, client: httpx.AsyncClient, person: Person,
                                                 reg: RegisteredApp) -> None:
    """A code is stored with a lifetime of at most 60 seconds, and an expired code is invalid_grant."""
    code, verifier = await obtain_code(client, person, reg)
    async with app.state.consentry.database.async_sessions() as db:
        row = (await db.execute(select(AuthorizationCode))).scalar_one()
    assert row.expires_at - row.created_at <= timedelta(seconds=60)
    await _set_code(app, expires_at=utcnow() - timedelta(seconds=1))
    _error(await exchange(client, reg, code, verifier), 400, "invalid_grant")


async def test_c13_code_is_bound_to_its_client(app: Starlette, client: httpx.AsyncClient, person: Person,
                                               reg: RegisteredApp) -> None:
    """A code presented by another app is invalid_grant, and remains redeemable by the app it was issued to."""
    other = await register(app, name="Other App")
    code, verifier = await obtain_code(client, person, reg)
    _error(await exchange(client, other, code, verifier), 400, "invalid_grant")
    assert (await exchange(client, reg, code, verifier)).status_code == 200


async def test_c13_code_is_bound_to_its_redirect_uri(app: Starlette, client: httpx.AsyncClient,
                                                     person: Person) -> None:
    """A code redeemed with a different or a missing redirect_uri is invalid_grant, and remains redeemable with the
    right one."""
    second = "https://client.example.com/other"
    reg = await register(app, redirect_uris=[REDIRECT_URI, second])
    code, verifier = await obtain_code(client, person, reg)
    _error(await exchange(client, reg, code, verifier, redirect_uri=second), 400, "invalid_grant")
    _error(await token_request(client, reg, {"grant_type": "authorization_code", "code": code,
                                             "code_verifier": verifier}), 400, "invalid_grant")
    assert (await exchange(client, reg, code, verifier)).status_code == 200


async def test_c14_second_redemption_fails_and_revokes_the_first_tokens(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """Redeeming a code a second time is invalid_grant and revokes the tokens the first redemption issued."""
    code, verifier = await obtain_code(client, person, reg)
    first = await exchange(client, reg, code, verifier)
    assert first.status_code == 200
    _error(await exchange(client, reg, code, verifier), 400, "invalid_grant")
    assert (await call_me(client, first.json()["access_token"])).status_code == 401
    _error(await refresh(client, reg, first.json()["refresh_token"]), 400, "invalid_grant")


async def test_c15_parallel_code_redemptions_issue_at_most_one_token_set(
        app: Starlette, backend: str, client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """On PostgreSQL, ten parallel redemptions of one code issue at most one token set; the rest are 400
    invalid_grant, never a 500."""
    if backend != "postgres":
        pytest.skip("row-level races are a PostgreSQL property; SQLite serialises writers")
    for _ in range(3):
        code, verifier = await obtain_code(client, person, reg)
        responses = await asyncio.gather(*(exchange(client, reg, code, verifier) for _ in range(10)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(200) <= 1 and set(statuses) <= {200, 400}, statuses
        assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)
        async with app.state.consentry.database.async_sessions() as db:
            issued = await db.scalar(select(func.count()).select_from(OAuthToken).join(
                AuthorizationCode, AuthorizationCode.id == OAuthToken.code_id).where(
                AuthorizationCode.code_digest == digest(code)))
        assert issued <= 1


async def test_d16_unknown_client_is_401_invalid_client(client: httpx.AsyncClient) -> None:
    """An unknown client, by Basic auth, by posted credentials or with none at all, is 401 invalid_client, with a
    Basic challenge when Basic was tried."""
    data = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI, "code_verifier": "a" * 43}
    basic = await client.post("/oauth/token", data=data, auth=("nobody", "secret"))
    _error(basic, 401, "invalid_client")
    assert basic.headers["www-authenticate"].startswith("Basic")
    posted = await client.post("/oauth/token", data={**data, "client_id": "nobody", "client_secret": "s"})
    _error(posted, 401, "invalid_client")
    _error(await client.post("/oauth/token", data=data), 401, "invalid_client")


async def test_d16_undecodable_basic_credentials_are_401_not_500(client: httpx.AsyncClient) -> None:
    """Basic credentials that are not valid text are 401 invalid_client on the token, revocation and introspection
    endpoints, never a 500."""
    header = {"authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode()}
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        response = await client.post(path, data={"grant_type": "authorization_code", "token": "x"}, headers=header)
        _error(response, 401, "invalid_client")



@pytest.mark.parametrize("header", [b"Basic \xa0", b"\xa0 Basic", b"\x85 x", b"Basic"])
async def test_d16_a_basic_header_that_does_not_split_is_401_not_500(client: httpx.AsyncClient,
                                                                      header: bytes) -> None:
    """A malformed Authorization header (odd whitespace, no credentials) is 401 invalid_client on every OAuth
    endpoint, never a 500."""
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        response = await client.post(path, data={"grant_type": "authorization_code", "token": "x"},
                                     headers={"authorization": header})
        _error(response, 401, "invalid_client")


async def test_d16_a_nul_in_a_client_id_is_refused_not_a_500(client: httpx.AsyncClient, reg: RegisteredApp) -> None:
    """A NUL character in a client_id is refused with invalid_request or invalid_client, never a 500."""
    for path in ("/oauth/token", "/oauth/revoke"):
        response = await client.post(path, data={"grant_type": "authorization_code", "code": "x", "token": "x",
                                                 "client_id": "a\x00b"})
        _error(response, 400, "invalid_request")
    basic = {"authorization": "Basic " + base64.b64encode(b"a\x00b:secret").decode()}
    _error(await client.post("/oauth/introspect", data={"token": "x"}, headers=basic), 401, "invalid_client")


async def test_d16_repeated_parameters_and_a_missing_grant_type_are_invalid_request(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """A repeated parameter or a missing grant_type is invalid_request on the token endpoint (and a repeated token on
    revocation and introspection), and does not use the code up."""
    # RFC 6749 §3.2: parameters MUST NOT be included more than once; the last of two values no longer wins.
    code, verifier = await obtain_code(client, person, reg)
    assert reg.client_secret
    auth = (reg.app.client_id, reg.client_secret)
    data = [("grant_type", "authorization_code"), ("code", "garbage"), ("code", code),
            ("redirect_uri", REDIRECT_URI), ("code_verifier", verifier)]
    response = await client.post("/oauth/token", content=httpx.QueryParams(data).__str__(), auth=auth,
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    _error(response, 400, "invalid_request")
    missing = await client.post("/oauth/token", data={"code": code, "redirect_uri": REDIRECT_URI,
                                                      "code_verifier": verifier}, auth=auth)
    _error(missing, 400, "invalid_request")
    assert (await exchange(client, reg, code, verifier)).status_code == 200  # neither used the code up
    twice = httpx.QueryParams([("token", "x"), ("token", "y")]).__str__()
    for path in ("/oauth/revoke", "/oauth/introspect"):
        response = await client.post(path, content=twice, auth=auth,
                                     headers={"content-type": "application/x-www-form-urlencoded"})
        _error(response, 400, "invalid_request")

async def test_d16_wrong_or_missing_secret_is_401_invalid_client(client: httpx.AsyncClient, person: Person,
                                                                 reg: RegisteredApp) -> None:
    """A confidential app with a wrong or missing secret, by Basic or posted, is 401 invalid_client; the right posted
    secret works."""
    code, verifier = await obtain_code(client, person, reg)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    wrong = await client.post("/oauth/token", data=data, auth=(reg.app.client_id, "wrong"))
    _error(wrong, 401, "invalid_client")
    assert wrong.headers["www-authenticate"].startswith("Basic")
    _error(await client.post("/oauth/token", data={**data, "client_id": reg.app.client_id,
                                                   "client_secret": "wrong"}), 401, "invalid_client")
    # A confidential app may not fall back to "none".
    _error(await client.post("/oauth/token", data={**data, "client_id": reg.app.client_id}), 401, "invalid_client")
    posted = await client.post("/oauth/token", data={**data, "client_id": reg.app.client_id,
                                                     "client_secret": reg.client_secret})
    assert posted.status_code == 200, posted.text


async def test_d16_basic_and_a_secret_in_the_body_together_are_invalid_request(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> None:
    """Two client authentications in one request (RFC 6749 §2.3: at most one) → 400 invalid_request, even when both
    are right; the code is untouched and redeems with one method."""
    code, verifier = await obtain_code(client, person, reg)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    both = await client.post("/oauth/token", data={**data, "client_id": reg.app.client_id,
                                                   "client_secret": reg.client_secret},
                             auth=(reg.app.client_id, reg.client_secret))
    _error(both, 400, "invalid_request")
    secret_only = await client.post("/oauth/token", data={**data, "client_secret": reg.client_secret},
                                    auth=(reg.app.client_id, reg.client_secret))
    _error(secret_only, 400, "invalid_request")
    assert "access_token" not in both.json()
    assert (await exchange(client, reg, code, verifier)).status_code == 200


async def test_d16_a_body_client_id_other_than_the_basic_one_is_invalid_request(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp, public_reg: RegisteredApp) -> None:
    """Basic names one client and the body another → 400 invalid_request (Authlib would take Basic and ignore the
    body); the same client_id in both places is fine."""
    code, verifier = await obtain_code(client, person, reg)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    auth = (reg.app.client_id, reg.client_secret)
    _error(await client.post("/oauth/token", data={**data, "client_id": public_reg.app.client_id}, auth=auth),
           400, "invalid_request")
    same = await client.post("/oauth/token", data={**data, "client_id": reg.app.client_id}, auth=auth)
    assert same.status_code == 200, same.text


async def test_d16_an_undecodable_basic_header_does_not_fall_back_to_the_body_client_id(
        client: httpx.AsyncClient, person: Person, public_reg: RegisteredApp) -> None:
    """A Basic header that cannot be decoded is still an authentication attempt: a public client's client_id in
    the body beside it is refused (was: authenticated as the public client with "none")."""
    code, verifier = await obtain_code(client, person, public_reg)
    header = {"authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode()}
    response = await client.post("/oauth/token", headers=header, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
        "client_id": public_reg.app.client_id})
    _error(response, 400, "invalid_request")


@pytest.mark.parametrize("path", ["/oauth/revoke", "/oauth/introspect"])
async def test_d16_revocation_and_introspection_refuse_two_client_authentications(
        client: httpx.AsyncClient, person: Person, reg: RegisteredApp, public_reg: RegisteredApp,
        path: str) -> None:
    """Revocation and introspection share the token endpoint's client authentication: Basic plus a body secret, or
    plus another client's client_id → 400 invalid_request, and nothing is revoked or disclosed."""
    tokens = await tokens_for(client, person, reg)
    auth = (reg.app.client_id, reg.client_secret)
    for extra in ({"client_secret": reg.client_secret}, {"client_id": public_reg.app.client_id}):
        response = await client.post(path, data={"token": tokens.access_token, **extra}, auth=auth)
        _error(response, 400, "invalid_request")
        assert "active" not in response.json()
    assert (await call_me(client, tokens.access_token)).status_code == 200
    assert (await introspect(client, reg, tokens.access_token)).json()["active"] is True


async def test_d16_public_client_authenticates_with_none_and_pkce(client: httpx.AsyncClient, person: Person,
                                                                  public_reg: RegisteredApp) -> None:
    """A public app redeems its code with no secret, with PKCE alone."""
    code, verifier = await obtain_code(client, person, public_reg)
    response = await exchange(client, public_reg, code, verifier)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize("grant_type", ["password", "implicit", "client_credentials", "urn:example:custom", ""])
async def test_d17_other_grant_types_are_refused(client: httpx.AsyncClient, reg: RegisteredApp,
                                                 grant_type: str) -> None:
    """The password, implicit, client_credentials and unknown grant types are refused with a 400 and no token; an empty
    grant_type is invalid_request."""
    data = {"grant_type": grant_type, "username": "alice", "password": "correct horse battery staple"}
    response = await token_request(client, reg, data)
    assert response.status_code == 400
    # An empty grant_type is a missing one: invalid_request (RFC 6749 §5.2).
    expected = ("unsupported_grant_type", "unauthorized_client") if grant_type else ("invalid_request",)
    assert response.json()["error"] in expected
    assert "access_token" not in response.json()


async def test_d18_token_responses_are_not_cached_and_get_is_405(client: httpx.AsyncClient, person: Person,
                                                                 reg: RegisteredApp) -> None:
    """Token responses, successful or not, carry Cache-Control: no-store, and GET on the token endpoint is 405."""
    code, verifier = await obtain_code(client, person, reg)
    ok = await exchange(client, reg, code, verifier)
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
    failed = await exchange(client, reg, code, verifier)
    assert failed.status_code == 400 and failed.headers["cache-control"] == "no-store"
    assert (await client.get("/oauth/token")).status_code == 405
