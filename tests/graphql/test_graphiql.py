"""GraphiQL in development works offline: every asset it loads is served by us and matches its integrity hash."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.conftest import client_for


async def test_graphiql_loads_only_local_assets_that_match_their_integrity(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text
    assets = re.findall(r'(?:src|href)="(/graphiql-assets/[^"]+)"\s+integrity="(sha384-[^"]+)"', page.text)
    assert len(assets) == 7
    assert "unpkg.com" not in page.text
    for path, integrity in assets:
        response = await client.get(path)
        assert response.status_code == 200, path
        digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert integrity == f"sha384-{digest}", path


async def test_production_serves_neither_graphiql_nor_its_assets(settings: Settings) -> None:
    production: Starlette = create_app(settings.with_overrides(
        environment="production", secret_key="s" * 40, base_url="https://accounts.example"))
    async with client_for(production) as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        assert (await http.get("/graphiql-assets/graphiql@3.8.3/graphiql.min.js")).status_code == 404
    await production.state.consentry.database.dispose()


async def test_graphiql_opens_on_a_document_that_says_how_to_authenticate(client: httpx.AsyncClient) -> None:
    """A new user's first query fails with "You must be signed in." unless the page says how to sign in: it opens
    on Consentry's example (cookie or Authorization header, a login mutation), not Strawberry's welcome text."""
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert "Welcome to GraphiQL" not in page.text
    assert "Authorization" in page.text and "Bearer" in page.text and "/login" in page.text
    assert "mutation SignIn" in page.text and "connectedApps" in page.text
