"""Every way an OAuth 1.0a request can be wrong: a 401 or 400 with an OAuth error body (form-encoded, as Authlib
produces it), never a 500, and nothing written (no credential, token, nonce or grant row, nothing consumed)."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from oauthlib.oauth1 import SIGNATURE_PLAINTEXT
from sqlalchemy import update
from starlette.applications import Starlette

from app.models import OAuth1TemporaryCredential, utcnow
from app.services.apps import RegisteredApp
from app.services.digests import digest
from tests.oauth.helpers import Person, register
from tests.oauth1.helpers import (
    BASE,
    CALLBACK,
    Credentials,
    access_token,
    approve,
    connect,
    counts,
    form,
    me,
    query_of,
    register_oauth1,
    request_token,
    send,
    sign,
)

REQUEST_TOKEN = f"{BASE}/oauth/request_token"


def _refused(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/x-www-form-urlencoded"), response.headers
    assert form(response)["error"] == error, response.text


async def _approved(http: httpx.AsyncClient, person: Person, reg: RegisteredApp) -> tuple[Credentials, str]:
    temporary = await request_token(http, reg)
    answer = await approve(http, person, temporary)
    return temporary, query_of(answer.headers["location"])["oauth_verifier"]


async def test_a_bad_signature_or_wrong_consumer_secret_is_401(
        app: Starlette, http: httpx.AsyncClient, oauth1_app: RegisteredApp) -> None:
    """A tampered signature, or one made with the wrong consumer secret: 401 invalid_signature, no credentials."""
    before = await counts(app)
    url, headers, _ = sign("POST", REQUEST_TOKEN, oauth1_app, callback=CALLBACK)
    headers["Authorization"] = headers["Authorization"].replace('oauth_signature="', 'oauth_signature="x')
    _refused(await http.post(url, headers=headers), 401, "invalid_signature")
    _refused(await send(http, "POST", REQUEST_TOKEN, oauth1_app, callback=CALLBACK, consumer_secret="not-it"),
             401, "invalid_signature")
    assert await counts(app) == before


async def test_an_unknown_consumer_or_an_oauth2_client_is_401_invalid_client(
        app: Starlette, http: httpx.AsyncClient, oauth1_app: RegisteredApp) -> None:
    """A consumer key nobody registered, one with a NUL, or an OAuth 2.0 app's client_id: 401 invalid_client."""
    oauth2_app = await register(app)
    before = await counts(app)
    for key in ("nobody", "a\x00b", oauth2_app.app.client_id):
        _refused(await send(http, "POST", REQUEST_TOKEN, oauth1_app, callback=CALLBACK, consumer_key=key),
                 401, "invalid_client")
    assert await counts(app) == before


async def test_a_wrong_token_secret_is_401(app: Starlette, http: httpx.AsyncClient, person: Person,
                                          oauth1_app: RegisteredApp) -> None:
    """Token credentials signed with the wrong token secret: 401 at the API, and no nonce is kept for it."""
    token = await connect(http, person, oauth1_app)
    before = await counts(app)
    _refused(await me(http, oauth1_app, token, token_secret="not-it"), 401, "invalid_signature")
    assert await counts(app) == before


async def test_a_replayed_nonce_is_401(app: Starlette, http: httpx.AsyncClient, person: Person,
                                      oauth1_app: RegisteredApp) -> None:
    """The same signed request twice (same nonce and timestamp): the replay is 401 invalid_nonce; a fresh nonce
    works again."""
    token = await connect(http, person, oauth1_app)
    now = int(time.time())
    assert (await me(http, oauth1_app, token, nonce="n0nce-once", timestamp=now)).status_code == 200
    before = await counts(app)
    replay = await me(http, oauth1_app, token, nonce="n0nce-once", timestamp=now)
    _refused(replay, 401, "invalid_nonce")
    assert replay.headers["www-authenticate"] == 'OAuth realm="consentry"'
    assert await counts(app) == before
    assert (await me(http, oauth1_app, token)).status_code == 200
    # The same at the token endpoint: a request_token replay writes no second credential.
    assert (await send(http, "POST", REQUEST_TOKEN, oauth1_app, callback=CALLBACK, nonce="rt", timestamp=now)
            ).status_code == 200
    before = await counts(app)
    _refused(await send(http, "POST", REQUEST_TOKEN, oauth1_app, callback=CALLBACK, nonce="rt", timestamp=now),
             401, "invalid_nonce")
    assert await counts(app) == before


@pytest.mark.parametrize("skew", [-301, 301, -3600, 10 ** 9, "9" * 5000])
async def test_a_timestamp_outside_five_minutes_is_401(app: Starlette, http: httpx.AsyncClient, person: Person,
                                                       oauth1_app: RegisteredApp, skew: int | str) -> None:
    """A timestamp more than 5 minutes behind or ahead of the server's clock: 401 timestamp_refused, everywhere."""
    token = await connect(http, person, oauth1_app)
    before = await counts(app)
    stamp = skew if isinstance(skew, str) else int(time.time()) + skew
    _refused(await me(http, oauth1_app, token, timestamp=stamp), 401, "timestamp_refused")
    _refused(await send(http, "POST", REQUEST_TOKEN, oauth1_app, callback=CALLBACK, timestamp=stamp), 401,
             "timestamp_refused")
    assert await counts(app) == before


async def test_a_verifier_works_once_and_a_wrong_one_consumes_nothing(
        app: Starlette, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """A wrong verifier is 400 and leaves the credentials usable (a stranger with the oauth_token of a redirect
    cannot end the person's flow); the right one works once; the same exchange again is 401."""
    temporary, verifier = await _approved(http, person, oauth1_app)
    before = await counts(app)
    _refused(await access_token(http, oauth1_app, temporary, "wrong-verifier"), 400, "invalid_request")
    assert await counts(app) == before
    assert (await access_token(http, oauth1_app, temporary, verifier)).status_code == 200
    before = await counts(app)
    _refused(await access_token(http, oauth1_app, temporary, verifier), 401, "invalid_token")
    assert await counts(app) == before


async def test_temporary_credentials_are_single_use_and_expire(
        app: Starlette, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """A temporary credential already answered cannot be answered again; one past its 15 minutes can be neither
    answered nor exchanged; one not yet approved cannot be exchanged."""
    temporary, verifier = await _approved(http, person, oauth1_app)
    again = await http.get("/oauth/authorize", params={"oauth_token": temporary.token}, headers=person.headers)
    assert again.status_code == 400 and "already authorized" in again.text
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(OAuth1TemporaryCredential)
                         .where(OAuth1TemporaryCredential.token_digest == digest(temporary.token))  # type: ignore[arg-type]
                         .values(expires_at=utcnow() - timedelta(seconds=1)))
        await db.commit()
    before = await counts(app)
    _refused(await access_token(http, oauth1_app, temporary, verifier), 401, "invalid_token")
    unanswered = await request_token(http, oauth1_app)
    _refused(await access_token(http, oauth1_app, unanswered, "any"), 401, "invalid_token")
    expired = await request_token(http, oauth1_app)
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(OAuth1TemporaryCredential)
                         .where(OAuth1TemporaryCredential.token_digest == digest(expired.token))  # type: ignore[arg-type]
                         .values(expires_at=utcnow() - timedelta(seconds=1)))
        await db.commit()
    page = await http.get("/oauth/authorize", params={"oauth_token": expired.token}, headers=person.headers)
    assert page.status_code == 400 and "expired" in page.text
    unknown = await http.get("/oauth/authorize", params={"oauth_token": "nope"}, headers=person.headers)
    assert unknown.status_code == 404
    assert (await counts(app))["oauth1_tokens"] == before["oauth1_tokens"]


async def test_app_a_credentials_with_app_b_consumer_key_are_refused(
        app: Starlette, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """Credentials never change hands: app B signing with its own key and secret cannot exchange app A's approved
    temporary credentials, nor use A's token credentials at the API."""
    other = await register_oauth1(app, name="Other")
    temporary, verifier = await _approved(http, person, oauth1_app)
    before = await counts(app)
    _refused(await access_token(http, other, temporary, verifier), 401, "invalid_token")
    assert await counts(app) == before
    token = form(await access_token(http, oauth1_app, temporary, verifier))
    credentials = Credentials(token=token["oauth_token"], secret=token["oauth_token_secret"], body=token)
    before = await counts(app)
    _refused(await me(http, other, credentials), 401, "invalid_client")
    assert await counts(app) == before


async def test_plaintext_is_taken_over_https_only(app: Starlette, http: httpx.AsyncClient, person: Person,
                                                  oauth1_app: RegisteredApp) -> None:
    """PLAINTEXT over https works (RFC 5849 §3.4.4); over plain http it is refused before anything is looked at
    (the live server's loopback http case is in test_end_to_end)."""
    token = await connect(http, person, oauth1_app)
    assert (await me(http, oauth1_app, token, signature_method=SIGNATURE_PLAINTEXT)).status_code == 200
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as plain:
        before = await counts(app)
        url, headers, _ = sign("GET", "http://testserver/api/v1/me", oauth1_app, token=token,
                               signature_method=SIGNATURE_PLAINTEXT)
        response = await plain.get(url, headers=headers)
        assert response.status_code == 400 and form(response)["error"] in ("insecure_transport",
                                                                            "unsupported_signature_method")
        assert await counts(app) == before


async def test_a_callback_that_is_not_registered_is_400(app: Starlette, http: httpx.AsyncClient,
                                                       oauth1_app: RegisteredApp) -> None:
    """oauth_callback must be a registered callback URL byte for byte, or oob; anything else is 400 and issues
    nothing (an app registered with no callback gets the PIN flow only)."""
    before = await counts(app)
    for callback in ("https://evil.example/cb", CALLBACK + "/", CALLBACK + "?x=1", "javascript:alert(1)", "", None):
        response = await send(http, "POST", REQUEST_TOKEN, oauth1_app, callback=callback)
        assert response.status_code == 400, (callback, response.text)
        assert form(response)["error"] in ("invalid_request", "missing_required_parameter")
    pin_only = await register_oauth1(app, name="PIN only", callbacks=[])
    _refused(await send(http, "POST", REQUEST_TOKEN, pin_only, callback=CALLBACK), 400, "invalid_request")
    assert await counts(app) == before
    assert (await send(http, "POST", REQUEST_TOKEN, pin_only, callback="oob")).status_code == 200


@pytest.mark.parametrize("authorization", [
    "OAuth garbage", 'OAuth oauth_consumer_key="a", broken', "OAuth realm", 'OAuth oauth_signature="\u00e9"',
])
async def test_unreadable_requests_are_400_or_401_never_500(app: Starlette, http: httpx.AsyncClient,
                                                            authorization: str) -> None:
    """Authorization headers Authlib cannot take apart, at every OAuth 1.0a endpoint: an OAuth error, never a 500."""
    for method, path in (("POST", "/oauth/request_token"), ("POST", "/oauth/access_token"), ("GET", "/api/v1/me"),
                         ("POST", "/oauth/invalidate_token")):
        response = await http.request(method, path, headers={"authorization": authorization.encode()})
        assert response.status_code in (400, 401), (path, response.status_code, response.text)
        assert "error" in form(response)


async def test_odd_but_well_formed_requests_are_refused_cleanly(
        app: Starlette, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """OAuth parameters in the query at the API, in two places at once, a non-ASCII signature, RSA-SHA1 (not
    offered): each an OAuth error, nothing written."""
    token = await connect(http, person, oauth1_app)
    before = await counts(app)
    url, headers, _ = sign("GET", f"{BASE}/api/v1/me", oauth1_app, token=token)
    _refused(await http.get(url + "?oauth_token=" + token.token, headers=headers), 400,
             "duplicated_oauth_protocol_parameter")
    headers["Authorization"] = headers["Authorization"].replace('oauth_signature="', 'oauth_signature="%C3%A9')
    _refused(await http.get(url, headers=headers), 401, "invalid_signature")
    # RSA-SHA1, named by hand (oauthlib would need an RSA key to sign it):
    url, headers, _ = sign("POST", REQUEST_TOKEN, oauth1_app, callback=CALLBACK)
    headers["Authorization"] = headers["Authorization"].replace('"HMAC-SHA1"', '"RSA-SHA1"')
    _refused(await http.post(url, headers=headers), 400, "unsupported_signature_method")
    assert await counts(app) == before


async def test_an_answer_from_another_site_or_without_a_session_approves_nothing(
        app: Starlette, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """The consent form's answer for OAuth 1.0a is refused from another origin and without a signed-in session, as
    OAuth 2.0's is: the temporary credentials stay unanswered."""
    temporary = await request_token(http, oauth1_app)
    before = await counts(app)
    answer = {"oauth_token": temporary.token, "decision": "approve"}
    cross = await http.post("/oauth/consent", data=answer, headers={**person.headers, "origin": "https://evil.example"})
    assert cross.status_code == 403 and "location" not in cross.headers
    anonymous = await http.post("/oauth/consent", data=answer, headers={"origin": BASE})
    assert anonymous.status_code == 403 and "location" not in anonymous.headers
    assert await counts(app) == before
    assert (await approve(http, person, temporary)).status_code == 303  # still the person's to answer


async def test_an_oauth1_consumer_is_no_oauth2_client(http: httpx.AsyncClient, person: Person,
                                                      oauth1_app: RegisteredApp) -> None:
    """An OAuth 1.0a app's consumer key and secret are refused at the OAuth 2.0 endpoints: it connects one way."""
    authorize = await http.get("/oauth/authorize", headers=person.headers, params={
        "response_type": "code", "client_id": oauth1_app.app.client_id, "redirect_uri": CALLBACK,
        "scope": "users.read", "code_challenge": "x" * 43, "code_challenge_method": "S256"})
    assert authorize.status_code == 400 and "location" not in authorize.headers
    token = await http.post("/oauth/token", data={"grant_type": "authorization_code", "code": "x"},
                            auth=(oauth1_app.app.client_id, oauth1_app.client_secret or ""))
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"
