"""A GraphQL request's objects are freed when its response is sent, not left to Python's cycle collector (issue 6).

A reference cycle anywhere in a request keeps everything it reaches alive until a collection: its session, its rows,
its graph objects. graphql-core's execution context is such a cycle and holds the request's context, so the
context lets go of what it refers to when the operation ends (``Context.release``). These tests switch the collector
off and check that the request's session and loaders are gone as soon as the response is back.
"""

from __future__ import annotations

import gc
import uuid
import weakref
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.graphql.context import Context
from app.graphql.endpoint import ConsentryGraphQL
from app.models import App, Grant, utcnow
from tests.factories import graphql_data, login, make_account

PAGE = """
{ viewer {
    connectedApps { nodes { id app { id name } permissions { scope title } authorizedAt } totalCount }
    sessions { nodes { id isCurrent device signedInAt } totalCount } } }
"""


@pytest.fixture
def request_objects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[weakref.ref[Any]]]:
    """Weak references to the database session and the loaders of every GraphQL context made while the test
    runs: what a request loaded, which must not outlive it."""
    made: list[weakref.ref[Any]] = []
    get_context = ConsentryGraphQL.get_context

    async def recording_context(self: ConsentryGraphQL, request: Any, response: Any) -> Context:
        context = await get_context(self, request, response)
        made.extend((weakref.ref(context.session), weakref.ref(context.apps_by_ids)))
        return context

    monkeypatch.setattr(ConsentryGraphQL, "get_context", recording_context)
    yield made


async def _connect_an_app(app: Starlette, account_id: uuid.UUID) -> None:
    scopes = "tweet.read users.read"
    connected = App(client_id=f"c-{uuid.uuid4().hex}", name="Garbage-free", description="Connected.",
                    scopes=scopes, redirect_uris=["https://apps.example/cb"])
    grant = Grant(account_id=account_id, app_id=connected.id, scopes=scopes,
                  authorized_at=utcnow() - timedelta(minutes=1))
    async with app.state.consentry.database.async_sessions() as db:
        db.add_all([connected, grant])
        await db.commit()


@pytest.mark.parametrize("query", [PAGE, "mutation { logoutOtherSessions { loggedOutCount userErrors { code } } }"])
async def test_request_session_and_loaders_are_freed_with_the_response(
    app: Starlette, client: httpx.AsyncClient, request_objects: list[weakref.ref[Any]], query: str
) -> None:
    account = await make_account(app, "tidy")
    token = await login(client, "tidy")
    await _connect_an_app(app, account.id)
    await graphql_data(client, PAGE, token=token)  # caches and pools are made before
    request_objects.clear()
    gc.collect()
    gc.disable()
    try:
        data = await graphql_data(client, query, token=token)
        alive = [type(ref()).__name__ for ref in request_objects if ref() is not None]
    finally:
        gc.enable()

    assert data  # the request really ran: the page or the mutation's payload
    if "viewer" in data:
        assert data["viewer"]["connectedApps"]["nodes"][0]["app"]["name"] == "Garbage-free"
    assert len(request_objects) == 2  # the request's session and loader
    assert alive == []
