"""Issue #15 finding 8: one GraphQL document signs in at most once (aliases made 150 sessions in 6 seconds).

Aliased ``login`` fields, fragments and several mutation operations in one document are refused before anything
runs, in the development and the production profile alike; no session is opened.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.models import LoginSession
from tests.factories import PASSWORD, make_account

CREDENTIALS = f'input: {{username: "alice", password: "{PASSWORD}"}}'
LOGIN = f"login({CREDENTIALS}) {{ token }}"
SIGN_IN = f"fragment SignIn on Mutation {{ {LOGIN} }}"
REFUSED_DOCUMENTS = {
    "aliases": f"mutation {{ a: {LOGIN} b: {LOGIN} }}",
    "an alias beside the field": f"mutation {{ {LOGIN} again: {LOGIN} }}",
    "one fragment spread twice": f"mutation {{ ...SignIn ...SignIn }} {SIGN_IN}",
    "fragments spreading fragments":
        f"mutation {{ ...Twice }} fragment Twice on Mutation {{ ...SignIn first: {LOGIN} }} {SIGN_IN}",
    "an inline fragment": f"mutation {{ ... on Mutation {{ {LOGIN} }} b: {LOGIN} }}",
    "two operations": f"mutation A {{ {LOGIN} }} mutation B {{ {LOGIN} }}",
}


async def _sessions(app: Starlette) -> int:
    async with app.state.consentry.database.async_sessions() as db:
        return int((await db.execute(select(func.count()).select_from(LoginSession))).scalar_one())


async def _refused(http: httpx.AsyncClient, document: str) -> None:
    operation = "A" if document.startswith("mutation A") else None
    response = await http.post("/graphql", json={"query": document, "operationName": operation})
    body = response.json()
    assert response.status_code == 200 and body["data"] is None, body
    assert body["errors"][0]["message"] == \
        "A document may sign in once: send each `login` as a request of its own.", body
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


@pytest.mark.parametrize("shape", sorted(REFUSED_DOCUMENTS))
async def test_a_document_with_more_than_one_login_is_refused_and_opens_no_session(
    app: Starlette, client: httpx.AsyncClient, shape: str,
) -> None:
    """Development profile: a document selecting ``login`` twice (aliases, fragments, inline fragments, two
    operations) answers one clear error and opens no session; a single ``login`` still signs in."""
    await make_account(app, "alice")
    await _refused(client, REFUSED_DOCUMENTS[shape])
    assert await _sessions(app) == 0
    single = await client.post("/graphql", json={"query": f"mutation {{ {LOGIN} }}"})
    assert single.json()["data"]["login"]["token"]
    assert await _sessions(app) == 1


async def test_production_refuses_aliased_and_fragment_logins_too(
    production_app: Starlette, production_client: httpx.AsyncClient,
) -> None:
    """Production profile: the same refusals, and still no session."""
    await make_account(production_app, "alice")
    for shape in ("aliases", "one fragment spread twice"):
        await _refused(production_client, REFUSED_DOCUMENTS[shape])
    assert await _sessions(production_app) == 0
