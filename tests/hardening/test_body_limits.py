"""SECURITY.md K48: every endpoint has a written body bound, enforced before the body is decoded (413), and the
GraphQL query text has a bound of its own. Bodies up to a bound are served as before; one byte more is refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette

from app.graphql.endpoint import MAX_QUERY_BYTES
from app.http.request_body import body_limit
from tests.oauth.helpers import Person, sign_in

VIEWER = "{ viewer { username } }"
CHUNK = 64 * 1024
TWENTY_MB = 20 * 1024 * 1024


class CountingBody:
    """A request body streamed in 64 KB chunks that records how much of it the server asked for."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.size:
            chunk = b" " * min(CHUNK, self.size - self.pulled)
            self.pulled += len(chunk)
            yield chunk


def _graphql_body_of_size(size: int, query: str = VIEWER) -> bytes:
    """A GraphQL request of exactly ``size`` bytes: the query, and a variable nobody reads as padding."""
    empty = json.dumps({"query": query, "variables": {"pad": ""}}).encode()
    body = json.dumps({"query": query, "variables": {"pad": "x" * (size - len(empty))}}).encode()
    assert len(body) == size
    return body


def _form_of_size(fields: dict[str, str], size: int) -> bytes:
    empty = urlencode({**fields, "pad": ""}).encode()
    body = urlencode({**fields, "pad": "x" * (size - len(empty))}).encode()
    assert len(body) == size
    return body


async def _post_graphql(client: httpx.AsyncClient, person: Person, body: bytes) -> httpx.Response:
    return await client.post("/graphql", content=body,
                             headers={**person.headers, "content-type": "application/json"})


def _assert_graphql_refusal(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == [code], errors


async def test_k48_a_20_mb_graphql_body_with_its_length_declared_is_refused_unread(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """A 20 MB /graphql body whose Content-Length says so is answered 413 (a GraphQL error the client can read,
    connection closed) without a single byte of it being read."""
    person = await sign_in(app)
    body = CountingBody(TWENTY_MB)
    response = await client.post("/graphql", content=body, headers={
        **person.headers, "content-type": "application/json", "content-length": str(TWENTY_MB)})
    _assert_graphql_refusal(response, 413, "REQUEST_TOO_LARGE")
    assert response.headers["connection"] == "close"
    assert body.pulled == 0


async def test_k48_a_20_mb_chunked_graphql_body_is_cut_off_at_the_bound(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """A 20 MB /graphql body sent without a length (chunked) is refused with 413 as soon as it passes 100 KB:
    nothing beyond the bound (and the chunk that crossed it) is read."""
    person = await sign_in(app)
    body = CountingBody(TWENTY_MB)
    response = await client.post("/graphql", content=body,
                                 headers={**person.headers, "content-type": "application/json"})
    _assert_graphql_refusal(response, 413, "REQUEST_TOO_LARGE")
    assert body_limit("/graphql") == 100 * 1024
    assert body.pulled <= body_limit("/graphql") + CHUNK


async def test_k48_graphql_bodies_up_to_100_kb_are_served_and_one_byte_more_is_refused(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """A /graphql body of exactly 100 KB is served as usual; 100 KB and one byte is refused with 413."""
    person = await sign_in(app)
    served = await _post_graphql(client, person, _graphql_body_of_size(100 * 1024))
    assert served.status_code == 200, served.text
    assert served.json() == {"data": {"viewer": {"username": "alice"}}}
    _assert_graphql_refusal(await _post_graphql(client, person, _graphql_body_of_size(100 * 1024 + 1)),
                            413, "REQUEST_TOO_LARGE")


async def test_k48_a_query_of_33_kb_of_whitespace_is_refused_with_a_graphql_error(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """The query text has its own bound, 32 KB, below the body's: a query padded with 33 KB of whitespace (a handful
    of tokens, so the token limit lets it through) is refused with 413 and the code QUERY_TOO_LARGE, before it is
    parsed. A query of exactly 32 KB is still served."""
    person = await sign_in(app)
    padded = VIEWER + " " * (33 * 1024)
    refused = await client.post("/graphql", json={"query": padded}, headers=person.headers)
    _assert_graphql_refusal(refused, 413, "QUERY_TOO_LARGE")
    assert "32 KB" in refused.json()["errors"][0]["message"]
    at_bound = VIEWER + " " * (MAX_QUERY_BYTES - len(VIEWER))
    served = await client.post("/graphql", json={"query": at_bound}, headers=person.headers)
    assert served.json() == {"data": {"viewer": {"username": "alice"}}}, served.text
    one_more = await client.post("/graphql", json={"query": at_bound + " "}, headers=person.headers)
    _assert_graphql_refusal(one_more, 413, "QUERY_TOO_LARGE")


async def test_k48_the_query_bound_counts_bytes_not_characters(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """A query whose comment holds 11,000 three-byte characters (33 KB in UTF-8, 11,000 characters) is refused."""
    person = await sign_in(app)
    query = VIEWER + "\n#" + "€" * 11_000
    refused = await client.post("/graphql", json={"query": query}, headers=person.headers)
    _assert_graphql_refusal(refused, 413, "QUERY_TOO_LARGE")


async def test_k48_a_sign_in_form_over_its_bound_is_refused_with_413(client: httpx.AsyncClient) -> None:
    """POST /login takes at most 16 KB: a form of exactly 16 KB reaches the sign-in page, one byte more is answered
    413 in plain text (a browser shows it) before the form is parsed."""
    form = {"username": "alice", "password": "wrong password", "next": "/settings"}
    headers = {"content-type": "application/x-www-form-urlencoded"}
    at_bound = await client.post("/login", content=_form_of_size(form, 16 * 1024), headers=headers)
    assert at_bound.status_code != 413, at_bound.text
    refused = await client.post("/login", content=_form_of_size(form, 16 * 1024 + 1), headers=headers)
    assert refused.status_code == 413, refused.text
    assert refused.headers["content-type"].startswith("text/plain")
    assert "16 KB" in refused.text


async def test_k48_a_token_request_over_its_bound_is_refused_with_oauth_error_json(
    client: httpx.AsyncClient,
) -> None:
    """POST /oauth/token takes at most 16 KB: a request of exactly 16 KB gets the token endpoint's own answer, one
    byte more a 413 with OAuth error JSON (``invalid_request``)."""
    form = {"grant_type": "refresh_token", "refresh_token": "not-a-token"}
    headers = {"content-type": "application/x-www-form-urlencoded"}
    auth = ("no-such-client", "no-secret")
    at_bound = await client.post("/oauth/token", content=_form_of_size(form, 16 * 1024), headers=headers, auth=auth)
    assert at_bound.status_code in (400, 401), at_bound.text
    refused = await client.post("/oauth/token", content=_form_of_size(form, 16 * 1024 + 1), headers=headers,
                                auth=auth)
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"] == "invalid_request"


def test_k48_every_endpoint_has_a_written_bound() -> None:
    """The bounds are one table: GraphQL 100 KB, OAuth and sign-in forms 16 KB, everything else 64 KB."""
    assert {path: body_limit(path) // 1024 for path in (
        "/graphql", "/oauth/token", "/oauth/consent", "/oauth/revoke", "/oauth/introspect", "/api/v1/me", "/login",
        "/logout", "/settings", "/readyz", "/no/such/page")} == {
        "/graphql": 100, "/oauth/token": 16, "/oauth/consent": 16, "/oauth/revoke": 16, "/oauth/introspect": 16,
        "/api/v1/me": 16, "/login": 16, "/logout": 16, "/settings": 64, "/readyz": 64, "/no/such/page": 64}
