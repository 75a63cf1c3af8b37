"""SECURITY.md J42, "slow": a statement stuck behind a lock is cut off by the database timeout and answered 503
with Retry-After; nothing is half-written, and the same request succeeds once the lock is gone."""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import make_url

from app.main import create_app
from app.settings import Settings
from tests.conftest import client_for
from tests.factories import graphql_data, login, make_account

LOGOUT_OTHERS = "mutation { logoutOtherSessions { loggedOutCount userErrors { code } } }"


async def test_j42_a_statement_stuck_on_a_lock_is_a_clean_503(settings: Settings, postgres_only: None) -> None:
    """A mutation stuck on a row lock held by another transaction answers 503 with Retry-After and no internal detail
    once the database timeout passes; with the lock gone it succeeds, nothing having been half done."""
    app = create_app(settings.with_overrides(database_timeout_seconds=1))
    await make_account(app)
    async with client_for(app) as http:
        current = await login(http)
        await login(http)  # another session, for logoutOtherSessions to end
        dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as blocker:
            # Another transaction holds every session row, as a long-running write would.
            blocker.execute("SELECT id FROM login_sessions FOR UPDATE")
            stuck = await http.post("/graphql", json={"query": LOGOUT_OTHERS},
                                    headers={"authorization": f"Bearer {current}"})
            assert stuck.status_code == 503, stuck.text
            assert stuck.headers["retry-after"] == "5"
            assert stuck.json()["errors"][0]["extensions"] == {"code": "TEMPORARILY_UNAVAILABLE"}
            assert "Traceback" not in stuck.text and "login_sessions" not in stuck.text
            blocker.rollback()
        # The lock is gone: nothing was half-done, so the other session is still there to log out.
        data = await graphql_data(http, LOGOUT_OTHERS, token=current)
    assert data == {"logoutOtherSessions": {"loggedOutCount": 1, "userErrors": []}}
    await app.state.consentry.database.dispose()
