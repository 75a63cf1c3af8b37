"""PostgreSQL: one verifier exchanged by many requests at once yields exactly one token credential."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.models import OAuth1Token
from app.services.apps import RegisteredApp
from tests.oauth.helpers import Person
from tests.oauth1.helpers import access_token, approve, form, query_of, request_token

PARALLEL = 20
TRIALS_SECONDS = 20  # as many trials as fit (at least 5): each is 20 exchanges racing for one verifier


async def test_parallel_access_token_requests_with_one_verifier_have_one_winner(
        app: Starlette, backend: str, http: httpx.AsyncClient, person: Person, oauth1_app: RegisteredApp) -> None:
    """20 exchanges of one approved temporary credential at once (each signed with its own nonce): exactly one
    200, the rest 401 invalid_token, never a 500, and one token credential in the database."""
    if backend != "postgres":
        pytest.skip("row-level races are a PostgreSQL property; SQLite serialises writers")
    started, trials = time.monotonic(), 0
    while trials < 5 or (time.monotonic() - started < TRIALS_SECONDS and trials < 50):
        trials += 1
        temporary = await request_token(http, oauth1_app)
        answer = await approve(http, person, temporary)
        verifier = query_of(answer.headers["location"])["oauth_verifier"]
        responses = await asyncio.gather(*(access_token(http, oauth1_app, temporary, verifier)
                                           for _ in range(PARALLEL)))
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] + [401] * (PARALLEL - 1), statuses
        assert all(form(r)["error"] == "invalid_token" for r in responses if r.status_code == 401)
        async with app.state.consentry.database.async_sessions() as db:
            issued = await db.scalar(select(func.count()).select_from(OAuth1Token))
        assert issued == trials
