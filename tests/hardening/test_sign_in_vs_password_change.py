"""A session is bound to the credential it was opened with (SECURITY.md K47).

A sign-in checks the password (tens of milliseconds of argon2), then writes its session. A password change that
committed in between used to miss that session: it lived on, for up to 90 days, opened by a password that no
longer worked. Here two server processes on one PostgreSQL database race a sign-in with the old password (on one)
against a password change (on the other), with the sign-in started at offsets that sweep the change's hashing.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from starlette.applications import Starlette

from tests.factories import LOGIN, PASSWORD, graphql, login, make_account
from tests.hardening.servers import ServerProcess

TRIALS = 10
NEW_PASSWORD = "plum tiger seventeen ladders"
CHANGE = """
mutation($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) { userErrors { code } }
}
"""


async def _signed_in(http: httpx.AsyncClient, token: str) -> bool:
    return "errors" not in await graphql(http, "{ viewer { id } }", token=token)


async def test_k47_no_session_opened_by_the_old_password_survives_a_racing_password_change(
    app: Starlette, two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    """In every trial, a sign-in with the old password that raced the change either fails or opens a session
    that the change ended: no live session was opened by the old password once the change has answered."""
    first, second = two_servers
    tally: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=first.url, timeout=30) as one, \
            httpx.AsyncClient(base_url=second.url, timeout=30) as two:
        for trial in range(TRIALS):
            username = f"racer{trial}"
            await make_account(app, username)
            current = await login(one, username)

            async def old_password_sign_in(offset: float) -> dict[str, object]:
                await asyncio.sleep(offset)
                # Awaited below, within this iteration: it reads this trial's username.
                body = await graphql(two, LOGIN, {"username": username, "password": PASSWORD})  # noqa: B023
                result: dict[str, object] = body["data"]["login"]
                return result

            # The change hashes twice (check the current password, hash the new one): sweep its whole span.
            offset = 0.004 * trial
            changed, signed = await asyncio.gather(
                graphql(one, CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, token=current),
                old_password_sign_in(offset))
            assert changed["data"]["changePassword"]["userErrors"] == [], changed
            if signed["token"] is None:
                tally["old-password sign-in refused"] += 1
                continue
            survived = await _signed_in(one, str(signed["token"]))
            tally["old-password session survived" if survived else "old-password session ended by the change"] += 1
    print(f"\nK47 sign-in vs password change, two processes: {TRIALS} trials: {dict(tally)}")
    assert tally["old-password session survived"] == 0, dict(tally)
