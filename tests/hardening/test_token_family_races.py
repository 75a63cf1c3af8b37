"""Every path that ends refresh-token families takes the grant lock that rotation takes (SECURITY.md K45).

An ending that skipped the lock could run between a rotation's "mark the old token used" and "insert the new one":
the new row was not in its snapshot and survived, so a revoked family kept its newest pair. Each test races one
ending against rotation on PostgreSQL (SQLite serialises writers by design) for ``TRIALS`` rounds and asserts that
no token of the family is live afterwards. Every test prints its tally (run with ``-s`` to see it).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
import pytest
from sqlalchemy import and_, func, or_, select
from starlette.applications import Starlette

from app.models import Grant, OAuthToken, utcnow
from app.services.apps import RegisteredApp
from tests.oauth.helpers import call_me, refresh, register, revoke, sign_in, tokens_for

pytestmark = pytest.mark.usefixtures("postgres_only")

TRIALS = 100
THIEF_REFRESHES = 6


async def _live_in_family(app: Starlette, reg: RegisteredApp, refresh_token_of_family: str) -> int:
    """Token rows of the family (found through any of its refresh tokens) whose access or refresh token still
    works: not revoked, grant live, and an unexpired access token or an unused, unexpired refresh token."""
    from app.services.digests import digest

    now = utcnow()
    async with app.state.consentry.database.async_sessions() as db:
        family_id: uuid.UUID | None = await db.scalar(
            select(OAuthToken.family_id).where(OAuthToken.refresh_digest == digest(refresh_token_of_family)))
        assert family_id is not None
        live = and_(
            OAuthToken.revoked_at.is_(None),  # type: ignore[union-attr]
            Grant.revoked_at.is_(None),  # type: ignore[union-attr]
            or_(OAuthToken.access_expires_at > now,
                and_(OAuthToken.refresh_used_at.is_(None), OAuthToken.refresh_expires_at > now)),  # type: ignore[union-attr,operator]
        )
        count = await db.scalar(
            select(func.count()).select_from(OAuthToken).join(Grant, Grant.id == OAuthToken.grant_id)
            .where(OAuthToken.family_id == family_id, OAuthToken.app_id == reg.app.id, live))
        return int(count or 0)


async def test_k45_revoking_a_refresh_token_racing_its_refresh_leaves_no_live_token(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """RFC 7009 revocation of a refresh token while the same token is being refreshed: whichever lands first, the
    family (the refresh's new pair included) is dead afterwards, and the new access token is refused."""
    person, reg = await sign_in(app), await register(app)
    tally: Counter[str] = Counter()
    for _ in range(TRIALS):
        tokens = await tokens_for(client, person, reg)
        assert tokens.refresh_token
        refreshed, revoked = await asyncio.gather(refresh(client, reg, tokens.refresh_token),
                                                  revoke(client, reg, tokens.refresh_token, "refresh_token"))
        assert revoked.status_code == 200, revoked.text
        assert refreshed.status_code in (200, 400), refreshed.text
        tally[f"refresh {refreshed.status_code}"] += 1
        live = await _live_in_family(app, reg, tokens.refresh_token)
        tally["trials with a live token"] += live > 0
        if refreshed.status_code == 200:
            tally["new access token still works"] += (
                await call_me(client, refreshed.json()["access_token"])).status_code == 200
    print(f"\nK45 revoke vs refresh: {TRIALS} trials: {dict(tally)}")
    assert tally["trials with a live token"] == 0 and tally["new access token still works"] == 0, dict(tally)


async def test_k45_reuse_detection_racing_a_rotation_leaves_no_live_token(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """A rotated refresh token presented again (reuse: the family is revoked) while the current one is rotated:
    the rotation's new pair never survives the family's revocation."""
    person, reg = await sign_in(app), await register(app)
    tally: Counter[str] = Counter()
    for _ in range(TRIALS):
        first = await tokens_for(client, person, reg)
        assert first.refresh_token
        rotated = await refresh(client, reg, first.refresh_token)
        assert rotated.status_code == 200, rotated.text
        current = rotated.json()["refresh_token"]
        reused, rotation = await asyncio.gather(refresh(client, reg, first.refresh_token),
                                                refresh(client, reg, current))
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant", reused.text
        assert rotation.status_code in (200, 400), rotation.text
        tally[f"rotation {rotation.status_code}"] += 1
        tally["trials with a live token"] += await _live_in_family(app, reg, first.refresh_token) > 0
    print(f"\nK45 reuse vs rotation: {TRIALS} trials: {dict(tally)}")
    assert tally["trials with a live token"] == 0, dict(tally)


async def test_k45_a_thief_refreshing_in_a_loop_loses_access_once_the_replay_is_detected(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """A thief holds a stolen refresh token and keeps rotating it; the victim then presents the token the thief
    rotated away. From the victim's refused replay on, the thief holds nothing that works: every later refresh of
    the thief fails, and no token of the family is live."""
    person, reg = await sign_in(app), await register(app)
    tally: Counter[str] = Counter()
    for _ in range(TRIALS):
        victim = await tokens_for(client, person, reg)
        assert victim.refresh_token
        stolen = victim.refresh_token

        # Both closures are awaited within this iteration, so they read this trial's token.
        async def thief() -> list[httpx.Response]:
            answers, current = [], stolen  # noqa: B023
            for _ in range(THIEF_REFRESHES):
                answer = await refresh(client, reg, current)
                answers.append(answer)
                if answer.status_code != 200:
                    break
                current = answer.json()["refresh_token"]
            return answers

        async def victim_replay() -> httpx.Response:
            await asyncio.sleep(0)  # let the thief rotate the stolen token first
            return await refresh(client, reg, stolen)  # noqa: B023

        thief_answers, replay = await asyncio.gather(thief(), victim_replay())
        assert all(a.status_code in (200, 400) for a in thief_answers), [a.text for a in thief_answers]
        tally[f"victim replay {replay.status_code}"] += 1
        live = await _live_in_family(app, reg, stolen)
        tally["trials where the thief kept access"] += live > 0
        last = thief_answers[-1]
        if last.status_code == 200:  # the thief's loop ended while its newest pair still answered 200
            after = await refresh(client, reg, last.json()["refresh_token"])
            tally["thief refresh after detection succeeded"] += after.status_code == 200
    print(f"\nK45 thief loop: {TRIALS} trials: {dict(tally)}")
    assert tally["trials where the thief kept access"] == 0, dict(tally)
    assert tally["thief refresh after detection succeeded"] == 0, dict(tally)
