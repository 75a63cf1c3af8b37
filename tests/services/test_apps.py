"""app.services.apps: registration rules, secrets stored as digests, rotation and listings."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from app.models import App
from app.services.apps import (
    get_apps_by_ids,
    list_registered_apps,
    position_of,
    register_app,
    rotate_client_secret,
)
from app.services.digests import digest
from app.services.errors import Invalid, NotFound
from tests.factories import make_account


async def _register(app: Starlette, **overrides: Any) -> Any:
    state = app.state.consentry
    values: dict[str, Any] = {
        "owner": None, "name": "Example", "description": "", "website_url": None, "icon_url": None,
        "redirect_uris": ["https://client.example.com/cb"], "scopes": ["users.read"], "confidential": True,
        "developer_name": None, "catalog": state.catalog,
    }
    values.update(overrides)
    async with state.database.async_sessions() as db:
        return await register_app(db, **values)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"redirect_uris": []}, "redirectUris"),
    ({"redirect_uris": ["/relative/cb"]}, "redirectUris"),
    ({"redirect_uris": ["http://client.example.com/cb"]}, "redirectUris"),
    ({"redirect_uris": ["https://client.example.com/cb#frag"]}, "redirectUris"),
    ({"redirect_uris": ["https://user:pw@client.example.com/cb"]}, "redirectUris"),
    ({"redirect_uris": ["javascript:alert(1)"]}, "redirectUris"),
    ({"scopes": []}, "scopes"),
    ({"scopes": ["users.read", "admin"]}, "scopes"),
    ({"website_url": "http://client.example.com"}, "websiteUrl"),
    ({"icon_url": "ftp://client.example.com/i.png"}, "iconUrl"),
])
async def test_register_app_refuses_bad_input(app: Starlette, overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as error:
        await _register(app, **overrides)
    assert error.value.field == field


@pytest.mark.parametrize("uri", ["http://127.0.0.1:8765/cb", "http://[::1]/cb", "http://localhost:3000/cb",
                                 "https://client.example.com/cb?tenant=1"])
async def test_register_app_accepts_https_and_loopback_http(app: Starlette, uri: str) -> None:
    registered = await _register(app, redirect_uris=[uri])
    assert registered.app.redirect_uris == [uri]


async def test_register_app_stores_only_a_digest_of_a_256_bit_secret(app: Starlette) -> None:
    owner = await make_account(app, "dev", name="Dee Veloper")
    registered = await _register(app, owner=owner, scopes=["users.read", "tweet.read", "users.read"])
    assert registered.client_secret and len(registered.client_secret) >= 43
    assert registered.app.client_secret_digest == digest(registered.client_secret)
    assert registered.app.developer_name == "Dee Veloper"
    assert registered.app.scopes == "tweet.read users.read"
    public = await _register(app, confidential=False)
    assert public.client_secret is None and public.app.client_secret_digest is None
    assert public.app.client_id != registered.app.client_id


async def test_rotate_client_secret_only_for_the_owners_confidential_app(app: Starlette) -> None:
    owner = await make_account(app, "dev")
    other = await make_account(app, "someone")
    registered = await _register(app, owner=owner)
    public = await _register(app, owner=owner, confidential=False)
    async with app.state.consentry.database.async_sessions() as db:
        for account, app_id in ((other, registered.app.id), (owner, public.app.id), (owner, None)):
            with pytest.raises(NotFound):
                await rotate_client_secret(db, owner=account, app_id=app_id)
        rotated = await rotate_client_secret(db, owner=owner, app_id=registered.app.id)
    assert rotated.client_secret != registered.client_secret
    async with app.state.consentry.database.async_sessions() as db:
        stored = (await db.execute(select(App).where(App.id == registered.app.id))).scalar_one()
    assert stored.client_secret_digest == digest(rotated.client_secret or "")


async def test_list_registered_apps_pages_with_a_total_and_loads_by_ids(app: Starlette) -> None:
    owner = await make_account(app, "dev")
    ids = [(await _register(app, owner=owner, name=f"App {i}")).app.id for i in range(3)]
    await _register(app, name="Not mine")
    async with app.state.consentry.database.async_sessions() as db:
        first = await list_registered_apps(db, owner=owner, limit=2)
        assert (first.total, len(first.rows), first.has_more) == (3, 2, True)
        rest = await list_registered_apps(db, owner=owner, limit=2, after=position_of(first.rows[-1]))
        assert (rest.total, len(rest.rows), rest.has_more) == (3, 1, False)
        assert {app.id for app in [*first.rows, *rest.rows]} == set(ids)
        end = await list_registered_apps(db, owner=owner, limit=2, after=position_of(rest.rows[-1]))
        assert (end.rows, end.total, end.has_more) == ([], 3, False)
        loaded = await get_apps_by_ids(db, ids=[*ids, ids[0]])
    assert set(loaded) == set(ids)
