"""Fixtures of the OAuth tests: a signed-in person and a registered confidential app on the per-test app."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from app.services.apps import RegisteredApp
from tests.oauth.helpers import Person, register, sign_in


@pytest.fixture
async def person(app: Starlette) -> Person:
    return await sign_in(app, "alice")


@pytest.fixture
async def reg(app: Starlette) -> RegisteredApp:
    return await register(app)


@pytest.fixture
async def public_reg(app: Starlette) -> RegisteredApp:
    return await register(app, confidential=False, name="Native App")
