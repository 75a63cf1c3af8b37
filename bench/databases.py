"""A fresh, migrated database for each run: a SQLite file, or the dedicated PostgreSQL database consentry_bench; and
for the figures that need one (G8's OAuth 1.0a nonces), an emptied Redis database of the bench's own."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg
import redis

from app.db.migrate import upgrade_to_head

POSTGRES_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
POSTGRES_DATABASE = "consentry_bench"
# Not 15: the test suite's (CONTRIBUTING.md), which this would empty.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def workdir() -> Path:
    folder = Path(os.environ.get("BENCH_WORKDIR", Path(tempfile.gettempdir()) / "consentry-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def prepare(kind: str) -> tuple[str, str]:
    """(the URL the app is configured with, a sync SQLAlchemy URL for the harness) of an empty, migrated database."""
    if kind == "sqlite":
        path = workdir() / "bench.db"
        for leftover in (path, path.with_name("bench.db-wal"), path.with_name("bench.db-shm")):
            leftover.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        upgrade_to_head(url)
        return url, url
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{POSTGRES_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{POSTGRES_DATABASE}"')
    url = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{POSTGRES_DATABASE}"
    upgrade_to_head(url)
    return url, url.replace("postgresql://", "postgresql+psycopg://", 1)


def fresh_redis() -> str:
    """The bench's Redis database, emptied (nonces and sign-in counts of an earlier run must not count in this one)."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.flushdb()
    except redis.RedisError as error:
        raise RuntimeError(f"Redis at {REDIS_URL} (BENCH_REDIS_URL) is needed: {error}") from error
    finally:
        client.close()
    return REDIS_URL
