"""The deployment test's fixtures: nginx and PgBouncer must be installed (scripts/test installs them with apt-get
when ``CI=true``; missing there, the test fails rather than skips), PostgreSQL and Redis reachable."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import redis

from tests.conftest import (
    IN_CI,
    POSTGRES_URL,
    REDIS_URL,
    _postgres_database,
    new_database_name,
)
from tests.deploy.stack import Deployment, deployment, find_binary

# Small enough to spend in a test, per account from unknown devices (the default is 10).
ATTEMPTS_PER_ACCOUNT = 3


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def stack() -> Iterator[Deployment]:
    """nginx → three Consentry processes → PgBouncer (transaction mode) → a new, empty PostgreSQL database; Redis."""
    for binary in ("nginx", "pgbouncer"):
        _require(find_binary(binary) is not None,
                 f"the deployment test needs Debian's {binary}: apt-get install nginx pgbouncer")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        redis_ok = True
    except redis.RedisError:
        redis_ok = False
    _require(redis_ok, f"the deployment test needs Redis at {REDIS_URL}")
    name = new_database_name()
    database = _postgres_database(name)
    url = next(database)
    # What the app sets on its own connections when it pools, set on the database behind PgBouncer (README).
    with psycopg.connect(url, autocommit=True) as conn:
        for setting, value in (("statement_timeout", "10s"), ("lock_timeout", "10s"),
                               ("idle_in_transaction_session_timeout", "30s")):
            conn.execute(f'ALTER DATABASE "{name}" SET {setting} = \'{value}\'')
    try:
        with deployment(postgres_url=POSTGRES_URL, database=name, redis_url=REDIS_URL,
                        env={"CONSENTRY_LOGIN_ATTEMPTS_PER_ACCOUNT": f"{ATTEMPTS_PER_ACCOUNT}/15 minutes",
                             # Every run's failures come from 127.0.0.1 and Redis keeps them for the window: the
                             # address budget must outlast runs repeated within 15 minutes.
                             "CONSENTRY_LOGIN_ATTEMPTS_PER_IP": "10000/15 minutes"}) as running:
            yield running
    finally:
        next(database, None)
