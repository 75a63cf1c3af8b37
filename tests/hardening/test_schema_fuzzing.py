"""SECURITY.md I41: schemathesis fuzzes every query and mutation of the development profile (it reads the schema
by introspection) as a signed-in person: no 5xx, and no answer that contradicts the schema.

Examples are bounded and derandomized, so the run is the same every time and takes well under a minute.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.db.engines import create_database, transaction
from app.db.migrate import upgrade_to_head
from app.main import create_app
from app.models import Account
from app.services.accounts import create_account
from app.services.sessions import open_session
from app.settings import Settings

EXAMPLES_PER_OPERATION = 20
# One fresh account and session per example: `logout`, `logoutOtherSessions` and `changePassword` end sessions.
PEOPLE = 400


async def _seed(database_url: str) -> list[str]:
    database = create_database(database_url)
    try:
        async with database.async_sessions() as db:
            first = await create_account(db, username="fuzzer0", name="Fuzzer", password="fuzzing is fun 123")
            people = [first] + [Account(username=f"fuzzer{i}", username_key=f"fuzzer{i}", name="Fuzzer",
                                        password_hash=first.password_hash) for i in range(1, PEOPLE)]
            async with transaction(db):
                db.add_all(people[1:])
            return [(await open_session(db, account=person, ip_address="127.0.0.1", user_agent="schemathesis")).token
                    for person in people]
    finally:
        await database.dispose()


# schemathesis parametrizes at collection time, so the app exists then; its database is only created, migrated
# and seeded by the fixture below (introspection, which schemathesis runs at load time, never touches it).
_DB_DIR = Path(tempfile.mkdtemp(prefix="consentry-fuzz-"))
_DB_URL = f"sqlite:///{_DB_DIR / 'fuzz.db'}"
schema = schemathesis.graphql.from_asgi("/graphql", create_app(Settings(database_url=_DB_URL,
                                                                        base_url="http://testserver")))


@pytest.fixture(scope="module")
def session_tokens() -> Iterator[list[str]]:
    upgrade_to_head(_DB_URL)
    # A loop of its own: the app under test runs in schemathesis' client thread, never in pytest's loop.
    yield asyncio.run(_seed(_DB_URL))
    shutil.rmtree(_DB_DIR, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_i41_fuzzed_operations_never_fail_the_server_or_the_schema(
    case: Any, session_tokens: list[str],
) -> None:
    """Operations generated from the schema by schemathesis never get a 5xx and never an answer that contradicts
    the schema."""
    token = session_tokens.pop() if session_tokens else "exhausted"
    # positive_data_acceptance is left out: it counts a schema-valid but meaningless input (a random cursor or
    # ID, answered BAD_USER_INPUT or NOT_FOUND) as a failure; 5xx and schema conformance are what I41 asks.
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                           excluded_checks=[schemathesis.checks.positive_data_acceptance])
