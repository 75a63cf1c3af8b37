"""A production worker moves what it built at startup out of the garbage collector's way; development does not."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the suite runs with the collector as usual


async def _start_and_stop(application: Starlette) -> int:
    async with application.router.lifespan_context(application):
        frozen = gc.get_freeze_count()
    await application.state.consentry.database.dispose()
    return frozen


async def test_production_worker_freezes_its_startup_objects(production_app: Starlette, unfrozen: None) -> None:
    assert await _start_and_stop(production_app) > 10_000  # the schema, modules and catalogue, at least


async def test_development_server_leaves_the_collector_alone(settings: Settings, unfrozen: None) -> None:
    assert await _start_and_stop(create_app(settings)) == 0
