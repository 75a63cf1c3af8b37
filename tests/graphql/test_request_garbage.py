"""A GraphQL request's objects are freed when its response is sent, not left to Python's cycle collector (issue 6).

A reference cycle anywhere in a request (the context, the executor) keeps everything it reaches alive until a
collection: its session, its rows, its graph objects. The settings page used to leave about 140 such objects per
request, and a gen-0 collection ran every four or five requests. These tests switch the collector off and check
that the request's context and executor are gone as soon as the response is back.
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
from app.graphql.executor import PlainFieldExecutor
from app.models import App, Grant, utcnow
from tests.factories import graphql_data, login, make_account

PAGE = """
{ viewer {
    connectedApps { nodes { id app { id name } permissions { scope title } authorizedAt } totalCount }
    sessions { nodes { id isCurrent device signedInAt } totalCount } } }
"""


@pytest.fixture
def request_objects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[weakref.ref[Any]]]:
    """Weak references to every GraphQL context and executor made while the test runs."""
    made: list[weakref.ref[Any]] = []
    get_context, executor_init = ConsentryGraphQL.get_context, PlainFieldExecutor.__init__

    async def recording_context(self: ConsentryGraphQL, request: Any, response: Any) -> Context:
        context = await get_context(self, request, response)
        made.append(weakref.ref(context))
        return context

    def recording_init(self: PlainFieldExecutor, *args: Any, **kwargs: Any) -> None:
        executor_init(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(ConsentryGraphQL, "get_context", recording_context)
    monkeypatch.setattr(PlainFieldExecutor, "__init__", recording_init)
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
async def test_request_context_and_executor_are_freed_with_the_response(
    app: Starlette, client: httpx.AsyncClient, request_objects: list[weakref.ref[Any]], query: str
) -> None:
    account = await make_account(app, "tidy")
    token = await login(client, "tidy")
    await _connect_an_app(app, account.id)
    await graphql_data(client, PAGE, token=token)  # caches, pools and compiled selections are made before
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
    assert len(request_objects) == 2  # one context, one executor
    assert alive == []
