"""Last used, and from where: each connected app's last use of its access (time, network, country) with a capped
history, written at most once a minute on the API's hot path; each session's last place when it moved."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event, func, select, update
from starlette.applications import Starlette

from app.models import Grant, GrantUse, LoginSession, utcnow
from app.services.digests import digest
from app.services.usage import HISTORY_SIZE
from tests.conftest import client_for
from tests.factories import graphql_data, login, make_account
from tests.oauth.helpers import call_me, register, sign_in, tokens_for

GERMANY, UK = "85.214.132.117", "81.2.69.160"
CONNECTED = """{ viewer { connectedApps { nodes { lastUsedAt lastUsedFrom lastUsedLocation lastUsedIpAddress
  full: lastUsedIpAddress(full: true) } } } }"""


async def _from(app: Starlette, ip: str, access_token: str) -> int:
    async with client_for(app, ip=ip) as http:
        return (await call_me(http, access_token)).status_code


async def _minutes_pass(app: Starlette, minutes: int = 2) -> None:
    """Move every grant's last use back, as if the minute had passed."""
    async with app.state.consentry.database.async_sessions() as db:
        await db.execute(update(Grant).where(Grant.last_used_at.is_not(None))  # type: ignore[union-attr]
                         .values(last_used_at=utcnow() - timedelta(minutes=minutes)))
        await db.commit()


async def _uses(app: Starlette) -> int:
    async with app.state.consentry.database.async_sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(GrantUse)) or 0)


async def test_an_apps_last_use_says_when_and_from_which_network_and_country(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """Before any API call the app has no last use; after one from Germany it says so, masked; a later call from the
    UK (a minute on) replaces it and the history keeps both."""
    person, reg = await sign_in(app), await register(app)
    tokens = await tokens_for(client, person, reg)
    before = (await graphql_data(client, CONNECTED, token=person.token))["viewer"]["connectedApps"]["nodes"][0]
    assert before == {"lastUsedAt": None, "lastUsedFrom": None, "lastUsedLocation": None, "lastUsedIpAddress": None,
                      "full": None}
    assert await _from(app, GERMANY, tokens.access_token) == 200
    used = (await graphql_data(client, CONNECTED, token=person.token))["viewer"]["connectedApps"]["nodes"][0]
    assert used["lastUsedAt"] is not None
    assert (used["lastUsedFrom"], used["lastUsedLocation"], used["lastUsedIpAddress"], used["full"]) == (
        "85.214.132.x, Germany", "Germany", "85.214.132.x", GERMANY)
    await _minutes_pass(app)
    assert await _from(app, UK, tokens.access_token) == 200
    moved = (await graphql_data(client, CONNECTED, token=person.token))["viewer"]["connectedApps"]["nodes"][0]
    assert moved["lastUsedFrom"] == "81.2.69.x, United Kingdom"
    assert await _uses(app) == 2


async def test_the_hot_path_writes_at_most_once_a_minute_per_app(app: Starlette, client: httpx.AsyncClient) -> None:
    """Twenty API calls within a minute, from two tokens of one app: one UPDATE of the grant, one history row."""
    person, reg = await sign_in(app), await register(app)
    first, second = await tokens_for(client, person, reg), await tokens_for(client, person, reg)
    writes: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE GRANTS", "INSERT INTO GRANT_USES")):
            writes.append(statement.split()[0])

    engine = app.state.consentry.database.async_engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for index in range(20):
            assert await _from(app, GERMANY, (first if index % 2 else second).access_token) == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert writes == ["UPDATE", "INSERT"]
    assert await _uses(app) == 1


async def test_the_history_is_capped(app: Starlette, client: httpx.AsyncClient) -> None:
    """However many minutes an app is used in, its history keeps the newest HISTORY_SIZE uses."""
    person, reg = await sign_in(app), await register(app)
    tokens = await tokens_for(client, person, reg)
    for _ in range(HISTORY_SIZE + 5):
        assert await _from(app, GERMANY, tokens.access_token) == 200
        await _minutes_pass(app)
    assert await _uses(app) == HISTORY_SIZE


async def test_a_session_shows_its_last_place_when_it_moved(app: Starlette) -> None:
    """A session signed in from the UK and active a minute later from Germany shows Germany as its last place;
    back where it signed in, it shows none (nothing differs)."""
    await make_account(app)
    async with client_for(app, ip=UK) as phone:
        token = await login(phone)
    query = "{ viewer { sessions { nodes { location lastLocation lastIpAddress ipAddress } } } }"

    async def seen_from(ip: str) -> dict[str, Any]:
        async with app.state.consentry.database.async_sessions() as db:  # a minute passes
            await db.execute(update(LoginSession).where(LoginSession.token_digest == digest(token))  # type: ignore[arg-type]
                             .values(last_active_at=utcnow() - timedelta(minutes=2)))
            await db.commit()
        async with client_for(app, ip=ip) as http:
            node: dict[str, Any] = (await graphql_data(http, query, token=token))["viewer"]["sessions"]["nodes"][0]
        return node

    assert await seen_from(GERMANY) == {"location": "United Kingdom", "lastLocation": "Germany",
                                        "lastIpAddress": "85.214.132.x", "ipAddress": "81.2.69.x"}
    assert await seen_from(UK) == {"location": "United Kingdom", "lastLocation": None, "lastIpAddress": None,
                                   "ipAddress": "81.2.69.x"}
