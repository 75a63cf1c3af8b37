"""Developers register apps through GraphQL; the client secret is shown once and works at the token endpoint."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.factories import graphql_data
from tests.oauth.helpers import sign_in

REGISTER = """mutation($input: RegisterAppInput!) { registerApp(input: $input) {
  app { id clientId name isConfidential redirectUris allowedScopes developerName } clientSecret
  userErrors { field code } } }"""
ROTATE = """mutation($id: ID!) { rotateClientSecret(input: {appId: $id}) { clientSecret userErrors { code } } }"""


def _input(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {"name": "Postwise", "description": "Reads for you.",
                                 "websiteUrl": "https://postwise.example", "redirectUris": ["https://postwise.example/cb"],
                                 "scopes": ["tweet.read", "users.read"], "confidential": True}
    values.update(overrides)
    return {"input": values}


async def test_register_app_returns_the_secret_once_and_lists_it(client: httpx.AsyncClient, app: Starlette) -> None:
    person = await sign_in(app)
    data = (await graphql_data(client, REGISTER, _input(), token=person.token))["registerApp"]
    assert data["userErrors"] == [] and len(data["clientSecret"]) >= 43
    assert data["app"]["isConfidential"] is True and data["app"]["developerName"] == "Alice"
    listed = await graphql_data(client, "{ viewer { registeredApps { totalCount nodes { clientId } } } }",
                                token=person.token)
    assert listed["viewer"]["registeredApps"] == {"totalCount": 1, "nodes": [{"clientId": data["app"]["clientId"]}]}

    introspect = await client.post("/oauth/introspect", data={"token": "nothing"},
                                   auth=(data["app"]["clientId"], data["clientSecret"]))
    assert introspect.status_code == 200 and introspect.json() == {"active": False}

    rotated = (await graphql_data(client, ROTATE, {"id": data["app"]["id"]}, token=person.token))["rotateClientSecret"]
    assert rotated["userErrors"] == [] and rotated["clientSecret"] != data["clientSecret"]
    old = await client.post("/oauth/introspect", data={"token": "nothing"},
                            auth=(data["app"]["clientId"], data["clientSecret"]))
    assert old.status_code == 401


async def test_bad_registrations_are_user_errors_and_store_nothing(client: httpx.AsyncClient, app: Starlette) -> None:
    person = await sign_in(app)
    cases = [
        (_input(redirectUris=["http://postwise.example/cb"]), "redirectUris"),
        (_input(redirectUris=["https://postwise.example/cb#frag"]), "redirectUris"),
        (_input(redirectUris=[]), "redirectUris"),
        (_input(scopes=["tweet.read", "root.everything"]), "scopes"),
        (_input(name=""), "name"),
    ]
    for variables, field in cases:
        data = (await graphql_data(client, REGISTER, variables, token=person.token))["registerApp"]
        assert data["app"] is None and data["clientSecret"] is None
        assert data["userErrors"][0] == {"field": field, "code": "INVALID"}, variables
    listed = await graphql_data(client, "{ viewer { registeredApps { totalCount } } }", token=person.token)
    assert listed["viewer"]["registeredApps"]["totalCount"] == 0


async def test_only_the_owner_can_rotate_a_secret(client: httpx.AsyncClient, app: Starlette) -> None:
    alice = await sign_in(app, "alice")
    bob = await sign_in(app, "bob")
    app_id = (await graphql_data(client, REGISTER, _input(), token=alice.token))["registerApp"]["app"]["id"]
    stolen = await graphql_data(client, ROTATE, {"id": app_id}, token=bob.token)
    assert stolen == {"rotateClientSecret": {"clientSecret": None, "userErrors": [{"code": "NOT_FOUND"}]}}
