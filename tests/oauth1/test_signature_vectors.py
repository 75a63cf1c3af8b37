"""RFC 5849's own examples (§1.2 and §3.4.1) as signature vectors, checked through the server's verify path: our
request snapshot, Authlib's parsing and base string, our servers' hooks (sealed secrets) and signature checks."""

from __future__ import annotations

from typing import Any

import pytest
from authlib.oauth1.rfc5849.errors import InvalidSignatureError
from authlib.oauth1.rfc5849.signature import generate_signature_base_string
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client
from starlette.datastructures import Headers

from app.oauth.oauth1.checks import ConsumerModel, TemporaryCredentialModel
from app.oauth.oauth1.guard import _PreloadedProtector
from app.oauth.oauth1.server import ConsentryOAuth1Server, SignedSnapshot, parse
from app.services.oauth.tokens import AccessContext, TokenAccount
from app.services.oauth1.sealing import seal
from app.services.oauth1.tokens import LiveToken
from app.services.permissions import load_catalog
from app.settings import Settings

KEY = "test-secret-key-for-the-vectors"
CONSUMER_KEY, CONSUMER_SECRET = "dpf43f3p2l4k3l03", "kd94hf93k423kf44"

INITIATE = ('OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_signature_method="HMAC-SHA1", '
            'oauth_timestamp="137131200", oauth_nonce="wIjqoS", '
            'oauth_callback="http%3A%2F%2Fprinter.example.com%2Fready", '
            'oauth_signature="74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D"')
TOKEN = ('OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="hh5s93j4hdidpola", '
         'oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="walatlh", '
         'oauth_verifier="hfdp7dh39dks9884", oauth_signature="gKgrFCywp7rO0OXSjdot%2FIHF7IU%3D"')
RESOURCE = ('OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", '
            'oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131202", oauth_nonce="chapoH", '
            'oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D"')


def _snapshot(method: str, uri: str, host: str, authorization: str, body: str | None = None) -> SignedSnapshot:
    return SignedSnapshot(method=method, uri=uri, headers=Headers({"host": host, "authorization": authorization}),
                          body=body)


def _server() -> ConsentryOAuth1Server:
    settings = Settings(secret_key=KEY)
    return ConsentryOAuth1Server(session=None, settings=settings, catalog=load_catalog(), nonces=None)  # type: ignore[arg-type]


def _protector(token_secret: str) -> _PreloadedProtector:
    access = AccessContext(account=TokenAccount(id=None, username="jane", name="Jane", email=None),  # type: ignore[arg-type]
                           grant_id=None, grant_last_used_at=None, scopes=frozenset())  # type: ignore[arg-type]
    found = LiveToken(id=None, token="nnch734d00sl2jdk", consumer_key=CONSUMER_KEY,  # type: ignore[arg-type]
                      consumer_secret_sealed=seal(CONSUMER_SECRET, secret_key=KEY),
                      token_secret_sealed=seal(token_secret, secret_key=KEY), access=access)
    return _PreloadedProtector(found, secret_key=KEY)


def _check_resource(snapshot: SignedSnapshot, token_secret: str) -> None:
    protector = _protector(token_secret)
    request = parse(snapshot)
    request.client = protector.get_client_by_id(request.client_id)
    request.credential = protector.get_token_credential(request)
    protector.validate_oauth_signature(request)


def test_rfc5849_1_2_temporary_credentials_request() -> None:
    """§1.2's POST /initiate verifies with the consumer secret, and fails with any other."""
    server = _server()
    request = parse(_snapshot("POST", "https://photos.example.net/initiate", "photos.example.net", INITIATE))
    request.client = ConsumerModel(CONSUMER_KEY, CONSUMER_SECRET)
    server.validate_oauth_signature(request)
    request.client = ConsumerModel(CONSUMER_KEY, "kd94hf93k423kf45")
    with pytest.raises(InvalidSignatureError):
        server.validate_oauth_signature(request)


def test_rfc5849_1_2_token_credentials_request() -> None:
    """§1.2's POST /token verifies with the consumer secret and the temporary token secret."""
    server = _server()
    request = parse(_snapshot("POST", "https://photos.example.net/token", "photos.example.net", TOKEN))
    request.client = ConsumerModel(CONSUMER_KEY, CONSUMER_SECRET)
    request.credential = TemporaryCredentialModel(consumer_key=CONSUMER_KEY, token="hh5s93j4hdidpola",
                                                  secret="hdhd0244k9j7ao03")
    server.validate_oauth_signature(request)
    request.credential = TemporaryCredentialModel(consumer_key=CONSUMER_KEY, token="hh5s93j4hdidpola",
                                                  secret="wrong")
    with pytest.raises(InvalidSignatureError):
        server.validate_oauth_signature(request)


def test_rfc5849_1_2_resource_request_through_sealed_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """§1.2's GET /photos (plain http in the RFC, hence Authlib's test switch) verifies through the resource
    guard's hooks, which unseal both secrets; a changed query parameter breaks it."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    uri = "http://photos.example.net/photos?file=vacation.jpg&size=original"
    _check_resource(_snapshot("GET", uri, "photos.example.net", RESOURCE), "pfkkdhi9sl3r4s00")
    with pytest.raises(InvalidSignatureError):
        _check_resource(_snapshot("GET", uri.replace("original", "small"), "photos.example.net", RESOURCE),
                        "pfkkdhi9sl3r4s00")


def test_rfc5849_3_4_1_signature_base_string(monkeypatch: pytest.MonkeyPatch) -> None:
    """§3.4.1.1's request (query, form body and header parameters, encoded names) gives the RFC's base string."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    header = ('OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", '
              'oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", '
              'oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"')
    request = parse(_snapshot("POST", "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", "example.com",
                              header, body="c2&a3=2+q"))
    assert generate_signature_base_string(request) == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D"
        "%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SH"
        "A1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7")


def test_hmac_sha256_as_oauthlib_signs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """§1.2's resource request signed with HMAC-SHA256 by oauthlib (another implementation) verifies; signed with
    another token secret it does not."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    uri = "http://photos.example.net/photos?file=vacation.jpg&size=original"

    def signed(token_secret: str) -> dict[str, Any]:
        client = Client(CONSUMER_KEY, client_secret=CONSUMER_SECRET, resource_owner_key="nnch734d00sl2jdk",
                        resource_owner_secret=token_secret, signature_method=SIGNATURE_HMAC_SHA256,
                        timestamp="137131202", nonce="chapoH")
        return dict(client.sign(uri, http_method="GET")[1])

    _check_resource(_snapshot("GET", uri, "photos.example.net", signed("pfkkdhi9sl3r4s00")["Authorization"]),
                    "pfkkdhi9sl3r4s00")
    with pytest.raises(InvalidSignatureError):
        _check_resource(_snapshot("GET", uri, "photos.example.net", signed("other")["Authorization"]),
                        "pfkkdhi9sl3r4s00")
