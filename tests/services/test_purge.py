"""``purge_expired`` walks a table in batches: every dead row goes, however many batches it takes."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from app.models import LoginSession, utcnow
from app.services.digests import digest
from app.services.purge import purge_expired
from tests.factories import login, make_account


async def test_dead_rows_across_several_batches_all_go_and_live_ones_stay(app: Starlette,
                                                                          client: httpx.AsyncClient) -> None:
    await make_account(app)
    tokens = [await login(client) for _ in range(7)]
    dead, live = tokens[:5], tokens[5:]
    state = app.state.consentry
    async with state.database.async_sessions() as db:
        await db.execute(update(LoginSession).where(LoginSession.token_digest.in_([digest(t) for t in dead]))  # type: ignore[attr-defined]
                         .values(revoked_at=utcnow() - timedelta(days=31)))
        await db.commit()
        purged = await purge_expired(db, policy=state.session_policy, batch_size=2)
        left = set((await db.execute(select(LoginSession.token_digest))).scalars())
        assert await db.scalar(select(func.count()).select_from(LoginSession)) == 2
    assert purged.login_sessions == 5
    assert left == {digest(t) for t in live}
