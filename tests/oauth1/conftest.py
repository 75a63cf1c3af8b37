"""Fixtures of the OAuth 1.0a tests: a signed-in person, an OAuth 1.0a app ("Read and Write" + Email address), and
an https client on the per-test app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from app.services.apps import RegisteredApp
from tests.oauth.helpers import Person, sign_in
from tests.oauth1.helpers import https_client, register_oauth1


@pytest.fixture
async def person(app: Starlette) -> Person:
    return await sign_in(app, "alice")


@pytest.fixture
async def oauth1_app(app: Starlette) -> RegisteredApp:
    return await register_oauth1(app)


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with https_client(app) as client:
        yield client
