"""SECURITY.md I39: the production profile refuses every probe of graphql-cop (same documents, same verdicts).

Each probe below sends what graphql-cop sends and asserts the opposite of its "vulnerable" condition, plus that the
refusal says why. The development profile keeps GraphiQL and introspection (checked last).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.services import grants as grant_service
from tests.factories import LOGIN, make_account

INTROSPECTION = """
query cop { __schema { queryType { name } mutationType { name } types { kind name fields(includeDeprecated: true) {
  name args { name type { kind name ofType { kind name } } } type { kind name ofType { kind name } } } } } }
"""
CIRCULAR_INTROSPECTION = ("query cop { __schema { types { fields { type { fields { type { fields { type { fields { "
                          "type { name } } } } } } } } } } }")


async def _post(http: httpx.AsyncClient, payload: Any) -> tuple[int, Any]:
    response = await http.post("/graphql", json=payload)
    return response.status_code, response.json()


def _error_messages(body: dict[str, Any]) -> list[str]:
    return [error["message"] for error in body.get("errors", [])]


async def test_i39_alias_overloading_101_aliases_is_refused(production_client: httpx.AsyncClient) -> None:
    """In production a document with 101 aliases is refused with a message naming the limit of 15, and nothing runs."""
    query = "query cop { " + " ".join(f"alias{i}:__typename" for i in range(101)) + " }"
    _, body = await _post(production_client, {"query": query})
    assert body.get("data") is None
    assert _error_messages(body) == ["101 aliases found. Allowed: 15"]


async def test_i39_array_batching_of_10_operations_is_refused(production_client: httpx.AsyncClient) -> None:
    """In production a JSON array of operations (batching) is a 400, not a list of answers."""
    response = await production_client.post("/graphql", json=[{"query": "query cop { __typename }"}] * 10)
    assert response.status_code == 400
    assert not response.text.lstrip().startswith("[")


async def test_i39_directive_overloading_gets_one_refusal_not_ten_errors(production_client: httpx.AsyncClient) -> None:
    """A field carrying ten repeated directives is refused with one 'Too many directives' error,
    not one per directive."""
    _, body = await _post(production_client, {"query": "query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }"})
    assert body.get("data") is None
    assert len(body["errors"]) == 1
    assert body["errors"][0]["message"].startswith("Too many directives")


async def test_i39_field_suggestions_are_hidden(production_client: httpx.AsyncClient) -> None:
    """In production, errors for misspelled fields, types or enum values never suggest the right name
    ('Did you mean')."""
    for query in ("query cop { __schema { directive } }", "query cop { viewr { id } }",
                  'mutation { login(input: {username: "a", password: "b", clientKind: MOBIL}) { token } }'):
        _, body = await _post(production_client, {"query": query})
        assert body["errors"], body
        assert not any("Did you mean" in message for message in _error_messages(body)), body


async def test_i39_introspection_and_circular_introspection_are_refused(production_client: httpx.AsyncClient) -> None:
    """In production, __schema and __type queries (including deeply circular ones) are refused, while __typename
    still answers."""
    for query in (INTROSPECTION, CIRCULAR_INTROSPECTION, "{ __type(name: \"Account\") { name fields { name } } }"):
        _, body = await _post(production_client, {"query": query})
        assert body.get("data") is None, body
        assert "introspection" in body["errors"][0]["message"].lower(), body
    # __typename is not introspection: clients need it for unions and interfaces.
    assert await _post(production_client, {"query": "{ __typename }"}) == (200, {"data": {"__typename": "Query"}})


async def test_i39_get_queries_and_get_mutations_are_refused(production_client: httpx.AsyncClient) -> None:
    """In production, queries and mutations sent over GET are refused and nothing is executed."""
    for query in ("query cop { __typename }", "mutation cop { __typename }"):
        response = await production_client.get("/graphql", params={"query": query})
        assert response.status_code in (400, 404, 405), response.text
        assert '"__typename"' not in response.text


async def test_i39_url_encoded_post_is_refused(production_client: httpx.AsyncClient) -> None:
    """In production, a form-encoded POST to /graphql is refused with 415 and nothing is executed."""
    response = await production_client.post("/graphql", data={"query": "query cop { __typename }"})
    assert response.status_code == 415
    assert "__typename" not in response.text


async def test_i39_graphiql_page_is_not_served(production_client: httpx.AsyncClient) -> None:
    """In production, asking /graphql for HTML serves no GraphiQL (or any other GraphQL IDE) page."""
    response = await production_client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code != 200
    assert not any(word in response.text.lower() for word in ("graphiql", "graphql playground", "altair"))


async def test_i39_no_tracing_in_answers(production_client: httpx.AsyncClient) -> None:
    """In production, answers carry only data: no tracing or timing extensions."""
    _, body = await _post(production_client, {"query": "query cop { __typename }"})
    assert body == {"data": {"__typename": "Query"}}


async def test_i39_field_duplication_500_times_is_refused(production_client: httpx.AsyncClient) -> None:
    """In production, a document repeating one field 500 times is refused with a single 'Too many fields' error."""
    _, body = await _post(production_client, {"query": "query cop { " + "__typename \n" * 500 + "}"})
    assert body.get("data") is None
    assert len(body["errors"]) == 1 and body["errors"][0]["message"].startswith("Too many fields")


async def test_i39_depth_and_token_limits(production_client: httpx.AsyncClient) -> None:
    """In production, a document nested deeper than 10 levels, or longer than 1000 tokens, is refused with one short
    error each."""
    # The limits are checked before the spec's rules, so even a nonsense document this deep gets one short refusal.
    deep = "{ viewer " + "".join(f"{{ f{i} " for i in range(11)) + "}" * 12
    _, body = await _post(production_client, {"query": deep})
    assert len(body["errors"]) == 1 and "exceeds maximum operation depth of 10" in body["errors"][0]["message"]
    _, body = await _post(production_client, {"query": "{ " + "__typename " * 1200 + "}"})
    assert len(body["errors"]) == 1 and "more than 1000 tokens" in body["errors"][0]["message"]


async def test_i39_unhandled_errors_are_masked_but_domain_errors_read_clearly(
    production_app: Starlette, production_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In production, an unexpected exception reaches the client only as 'Unexpected error.' with no internal detail,
    while domain errors (wrong password, not signed in) keep their readable messages and codes."""
    await make_account(production_app, "alice")
    _, body = await _post(production_client, {"query": LOGIN, "variables": {"username": "alice", "password": "nope"}})
    assert body["data"]["login"]["userErrors"] == [
        {"message": "Incorrect username or password.", "field": "password", "code": "INVALID"}]
    _, body = await _post(production_client, {"query": "{ viewer { id } }"})
    assert body["errors"][0]["message"] == "You must be signed in."
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}

    _, signed_in = await _post(production_client, {
        "query": LOGIN, "variables": {"username": "alice", "password": "correct horse battery staple"}})
    token = signed_in["data"]["login"]["token"]

    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise KeyError("internal detail: /srv/consentry/secret.py line 42")

    monkeypatch.setattr(grant_service, "get_authorization_request", broken)
    response = await production_client.post(
        "/graphql", json={"query": 'query cop { authorizationRequest(id: "x") { id } }'},
        headers={"authorization": f"Bearer {token}"})
    body = response.json()
    assert body["errors"] == [{"message": "Unexpected error.", "locations": [{"line": 1, "column": 13}],
                               "path": ["authorizationRequest"], "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
    assert "internal detail" not in response.text and "Traceback" not in response.text
    # graphql-cop's "unhandled error detection": a typo must not expose an exception either.
    _, body = await _post(production_client, {"query": "query cop { __typenamee }"})
    assert all("exception" not in error.get("extensions", {}) for error in body["errors"])


async def test_i39_development_keeps_graphiql_and_introspection(client: httpx.AsyncClient) -> None:
    """The development profile still serves GraphiQL and answers introspection."""
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    _, body = await _post(client, {"query": INTROSPECTION})
    assert body["data"]["__schema"]["queryType"] == {"name": "Query"}


async def test_i39_an_unknown_fragment_is_a_validation_error_not_a_leaked_exception(
        production_client: httpx.AsyncClient) -> None:
    """A document spreading an undefined fragment gets the ordinary 'Unknown fragment' validation error, not an
    exception's text."""
    # Strawberry's depth rule raised KeyError('Missing') on such a document, and its text went out unmasked.
    _, body = await _post(production_client, {"query": "{ viewer { ...Missing } }"})
    assert body == {"data": None, "errors": [{"message": "Unknown fragment 'Missing'.",
                                              "locations": [{"line": 1, "column": 15}]}]}


async def test_i39_an_unknown_fragment_does_not_switch_the_cost_limits_off(
    production_client: httpx.AsyncClient,
) -> None:
    """An undefined fragment in a document does not let it slip past the alias limit: the alias refusal still comes."""
    aliases = " ".join(f"a{i}: __typename" for i in range(100))
    _, body = await _post(production_client, {"query": "{ " + aliases + " viewer { ...Nope } }"})
    assert len(body["errors"]) == 1 and body["errors"][0]["message"] == "100 aliases found. Allowed: 15", body


@pytest.mark.parametrize("payload", [
    b'{"query": "{ __typename }", "x": "\xff"}',  # not UTF-8
    '{"query": "{ __typename }", "variables": {"p": "\\u0000"}}'.encode("utf-16"),  # UTF-16 hid the NUL
    b'{"query": "{ __typename }", "variables": {"p": "\xed\xa0\x80"}}',  # a surrogate encoded in the bytes
    b"[" * 50_000 + b"]" * 50_000,  # deeper than json.loads can go (within the 100 KB body bound)
])
async def test_i41_bodies_json_loads_cannot_or_should_not_take_are_400(client: httpx.AsyncClient,
                                                                       payload: bytes) -> None:
    """Request bodies that are not valid JSON, or JSON that should not be parsed, answer a plain 400, never a 500."""
    response = await client.post("/graphql", content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.text == "Unable to parse request body as JSON"


async def test_i41_deep_json_with_escapes_is_walked_without_recursion(client: httpx.AsyncClient) -> None:
    """A body with 900 levels of nested arrays and escapes is accepted and answered, without a recursion error."""
    extensions = "[" * 900 + '"\\u0041"' + "]" * 900
    body = '{"query": "{ __typename }", "extensions": {"a": ' + extensions + "}}"
    response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}, response.text


@pytest.mark.parametrize("payload", ['"x"', "123", "null", "true"])
async def test_i41_a_body_that_is_not_a_json_object_is_a_400(production_client: httpx.AsyncClient,
                                                              client: httpx.AsyncClient, payload: str) -> None:
    """A JSON body that is a string, number, null or boolean instead of an object is a 400 saying a JSON object is
    expected, in production and development alike."""
    for http in (production_client, client):
        response = await http.post("/graphql", content=payload, headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text
        assert "JSON object" in response.text


@pytest.mark.parametrize("text", ["al\x00ice", "al\ud800ice"])
async def test_i41_text_no_database_takes_is_refused_in_variables_and_in_the_document(
        production_app: Starlette, production_client: httpx.AsyncClient, client: httpx.AsyncClient,
        text: str) -> None:
    """A NUL character or an unpaired surrogate, in variables or inline in the document, is refused with a 400 or a
    BAD_USER_INPUT error, never a 500."""
    # A NUL (PostgreSQL refuses it) or an unpaired surrogate (no UTF-8 form): 400 or a coded error, not a 500.
    await make_account(production_app, "alice")
    for http in (production_client, client):
        # json.dumps escapes the surrogate as \\ud800, as a JavaScript client would send it.
        body = json.dumps({"query": LOGIN, "variables": {"username": text, "password": "x" + text}})
        response = await http.post("/graphql", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400 and "NUL characters or unpaired surrogates" in response.text
        inline = 'mutation { login(input: {username: "al\\u0000ice", password: "x"}) { token } }'
        _, body = await _post(http, {"query": inline})
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}, body
