""""This wasn't me": ``secureAccount`` ends every other session and every app in one go, and until the password is
changed the session that used it can do nothing else: not through any mutation (found from the schema, so one added
later is covered), not on the pages, not through the OAuth flow."""

from __future__ import annotations

from typing import Any

import httpx
from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLString,
    Undefined,
)
from starlette.applications import Starlette

from app.graphql.ids import to_global_id
from app.graphql.schema import build_schema
from app.settings import Settings
from tests.conftest import client_for
from tests.factories import PASSWORD, graphql_data, login, make_account
from tests.oauth.helpers import (
    authorize_params,
    call_me,
    location_base,
    new_session,
    pkce_pair,
    query_of,
    register,
    sign_in,
    tokens_for,
)

SECURE = """mutation($apps: Boolean!) { secureAccount(input: {revokeApps: $apps}) {
  revokedAppCount receipt { accessTokens refreshTokens sessions } userErrors { code message } } }"""
CHANGE = """mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) {
  loggedOutSessionCount userErrors { code } } }"""
NEW_PASSWORD = "plum tiger seventeen ladders"
SAME_ORIGIN = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}


async def _signed_in(client: httpx.AsyncClient, token: str) -> bool:
    response = await client.post("/graphql", json={"query": "{ viewer { id } }"},
                                 headers={"authorization": f"Bearer {token}"})
    return "errors" not in response.json()


async def test_secure_account_ends_every_other_session_and_app_in_one_go(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """Other sessions end, every app's tokens die, the receipt counts them, and ACCOUNT_SECURED is recorded."""
    person = await sign_in(app)
    others = [await new_session(app, person.account) for _ in range(2)]
    regs = [await register(app, name=name) for name in ("First", "Second")]
    tokens = [await tokens_for(client, person, reg) for reg in regs]
    data = await graphql_data(client, SECURE, {"apps": True}, token=person.token)
    assert data["secureAccount"] == {"revokedAppCount": 2, "userErrors": [],
                                     "receipt": {"accessTokens": 2, "refreshTokens": 2, "sessions": 2}}
    assert [await _signed_in(client, other.token) for other in others] == [False, False]
    assert [(await call_me(client, t.access_token)).status_code for t in tokens] == [401, 401]
    assert await _signed_in(client, person.token)  # this session stays, to choose the new password
    events = await graphql_data(client, "{ viewer { securityEvents(first: 1) { nodes { kind summary } } } }",
                                token=person.token)
    assert events["viewer"]["securityEvents"]["nodes"] == [{
        "kind": "ACCOUNT_SECURED",
        "summary": "Secured the account (\u201cThis wasn\u2019t me\u201d): 2 sessions, 2 access tokens and 2 refresh "
                   "tokens ended, 2 apps revoked, from an unknown device, Local network"}]


async def test_secure_account_can_keep_the_apps(app: Starlette, client: httpx.AsyncClient) -> None:
    """``revokeApps: false`` ends the sessions and leaves the apps connected."""
    person, reg = await sign_in(app), await register(app)
    tokens = await tokens_for(client, person, reg)
    other = await new_session(app, person.account)
    data = await graphql_data(client, SECURE, {"apps": False}, token=person.token)
    assert data["secureAccount"]["revokedAppCount"] == 0 and data["secureAccount"]["receipt"]["sessions"] == 1
    assert (await call_me(client, tokens.access_token)).status_code == 200
    assert not await _signed_in(client, other.token)


def _dummy(kind: GraphQLInputType) -> Any:
    """A value of ``kind`` that passes validation (required fields only)."""
    if isinstance(kind, GraphQLNonNull):
        return _dummy(kind.of_type)
    if isinstance(kind, GraphQLList):
        return []
    if isinstance(kind, GraphQLInputObjectType):
        return {name: _dummy(field.type) for name, field in kind.fields.items()
                if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined}
    if kind in (GraphQLString, GraphQLID):
        return "x"
    if kind is GraphQLBoolean:
        return False
    if kind is GraphQLInt:
        return 0
    if hasattr(kind, "values"):  # an enum: its first value
        return next(iter(kind.values))
    raise AssertionError(f"no dummy value for {kind}")


def _mutations() -> dict[str, GraphQLField]:
    schema = build_schema(Settings())._schema
    assert schema.mutation_type is not None
    return dict(schema.mutation_type.fields)


async def test_password_change_required_blocks_every_other_mutation_found_in_the_schema(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """After ``secureAccount``, each mutation of the schema but ``changePassword`` (``secureAccount`` itself too)
    answers PASSWORD_CHANGE_REQUIRED and changes nothing; ``changePassword`` lifts it."""
    person, reg = await sign_in(app), await register(app)
    tokens = await tokens_for(client, person, reg)
    await graphql_data(client, SECURE, {"apps": False}, token=person.token)
    mutations = _mutations()
    assert {"login", "logout", "revokeAccess", "secureAccount", "registerApp", "changePassword"} <= set(mutations)
    answered = {}
    for name, field in mutations.items():
        if name == "changePassword":
            continue
        arguments = {arg: _dummy(definition.type) for arg, definition in field.args.items()}
        variables = ", ".join(f"${arg}: {definition.type}" for arg, definition in field.args.items())
        passed = ", ".join(f"{arg}: ${arg}" for arg in field.args)
        document = (f"mutation{f'({variables})' if variables else ''} {{ {name}{f'({passed})' if passed else ''} "
                    "{ userErrors { code message } } }")
        data = await graphql_data(client, document, arguments, token=person.token)
        answered[name] = [error["code"] for error in data[name]["userErrors"]]
    assert answered == {name: ["PASSWORD_CHANGE_REQUIRED"] for name in mutations if name != "changePassword"}
    assert await _signed_in(client, person.token)  # `logout` did not log it out
    assert (await call_me(client, tokens.access_token)).status_code == 200  # nothing was revoked

    changed = await graphql_data(client, CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=person.token)
    assert changed["changePassword"]["userErrors"] == []
    again = await graphql_data(client, "mutation { logoutOtherSessions { userErrors { code } } }", token=person.token)
    assert again == {"logoutOtherSessions": {"userErrors": []}}


async def test_within_one_document_the_mutations_after_secure_account_are_held_too(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """``secureAccount`` then ``revokeAccess`` in the same document: the second is refused."""
    person, reg = await sign_in(app), await register(app)
    tokens = await tokens_for(client, person, reg)
    data = await graphql_data(client, """mutation($id: ID!) {
      secureAccount(input: {revokeApps: false}) { userErrors { code } }
      revokeAccess(input: {appId: $id}) { userErrors { code } } }""", {"id": to_global_id("App", reg.app.id)},
                              token=person.token)
    assert data == {"secureAccount": {"userErrors": []},
                    "revokeAccess": {"userErrors": [{"code": "PASSWORD_CHANGE_REQUIRED"}]}}
    assert (await call_me(client, tokens.access_token)).status_code == 200


async def test_until_the_password_changes_the_pages_and_apps_get_nothing_from_the_session(app: Starlette) -> None:
    """Every account page sends the session to the password form (and only the form is on it); an app's
    authorization request goes there too, or answers ``interaction_required`` with ``prompt=none``."""
    await make_account(app)
    reg = await register(app)
    async with client_for(app) as http:
        response = await http.post("/login", data={"username": "alice", "password": PASSWORD}, headers=SAME_ORIGIN)
        assert response.status_code == 303
        await graphql_data(http, SECURE, {"apps": True})
        for path in ("/", "/settings", "/settings/security"):
            response = await http.get(path, follow_redirects=True)
            assert str(response.url).endswith("/settings/password"), path
        form = await http.get("/settings/password")
        assert "data-required" in form.text and "Choose a new password" in form.text
        assert 'class="settings-nav"' not in form.text and "/settings/security" not in form.text
        _, challenge = pkce_pair()
        asked = await http.get("/oauth/authorize", params=authorize_params(reg, challenge))
        assert (asked.status_code, asked.headers["location"]) == (302, "/settings/password")
        silent = await http.get("/oauth/authorize", params=authorize_params(reg, challenge, prompt="none"))
        assert query_of(silent)["error"] == "interaction_required" and "code" not in query_of(silent)

        done = await http.post("/settings/password", headers=SAME_ORIGIN,
                               data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        assert done.status_code == 200 and "Your password was changed." in done.text
        assert (await http.get("/settings")).status_code == 200
        consent = await http.get("/oauth/authorize", params=authorize_params(reg, challenge))
        assert location_base(consent) == "/oauth/consent"
    async with client_for(app) as fresh:
        assert await login(fresh, "alice", NEW_PASSWORD)
