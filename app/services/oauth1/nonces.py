"""The nonces OAuth 1.0a requests have used, shared by every worker process: a replay is refused (RFC 5849 §3.3).

A nonce must be unique among requests with the same consumer key, token and timestamp, so the key covers all four.
A request's timestamp is taken only within ``WINDOW`` of the server's clock, so an entry is needed until its
timestamp leaves the window and no longer: it expires then. Redis holds the entries when ``CONSENTRY_REDIS_URL`` is
set (``SET NX`` with that expiry); otherwise, and whenever Redis fails, the database does (a unique digest,
``INSERT ... ON CONFLICT DO NOTHING``), and ``purge-expired`` deletes what has expired.

Claiming is one atomic step, done only after the signature verified: a request that is refused writes nothing, and
of two identical requests racing, exactly one claims the nonce.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import redis
import redis.asyncio as aioredis
from sqlalchemy import Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from app.models import OAuth1Nonce
from app.services.digests import digest

WINDOW = timedelta(minutes=5)
KEY_PREFIX = "consentry:oauth1:nonce:"
_log = logging.getLogger(__name__)


def nonce_key(*, consumer_key: str, token: str | None, timestamp: str, nonce: str) -> str:
    """The digest that names one (consumer key, token, timestamp, nonce) combination."""
    return digest("\x00".join((consumer_key, token or "", timestamp, nonce)))


def expiry_of(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC) + WINDOW


def _insert(dialect: str, *, key: str, expires_at: datetime) -> Insert:
    """The claim: a row comes back only when this INSERT made it (RETURNING, as rowcount is not reported on every
    driver configuration)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(OAuth1Nonce).values(nonce_digest=key, expires_at=expires_at).on_conflict_do_nothing(
        index_elements=["nonce_digest"]).returning(col(OAuth1Nonce.id))


class NonceStore:
    """Where used nonces are kept: Redis (shared, self-expiring) or the database."""

    def __init__(self, redis_url: str | None) -> None:
        self._sync = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1) if redis_url else None
        self._async = (aioredis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
                       if redis_url else None)

    @property
    def shared_in_redis(self) -> bool:
        return self._sync is not None

    @staticmethod
    def _ttl(expires_at: datetime) -> int:
        return max(1, int((expires_at - datetime.now(UTC)).total_seconds()) + 1)

    def claim_sync(self, session: Session, *, key: str, timestamp: int) -> bool:
        """Record the nonce (Authlib's worker thread); False when it was used before. In the database store the
        INSERT joins the session's transaction: it commits with what the request writes, or not at all."""
        expires_at = expiry_of(timestamp)
        if self._sync is not None:
            try:
                return bool(self._sync.set(KEY_PREFIX + key, b"1", nx=True, ex=self._ttl(expires_at)))
            except redis.RedisError as exc:  # the database still refuses replays, across processes
                _log.warning("oauth1 nonce store: Redis failed (%s); using the database", type(exc).__name__)
        dialect = session.get_bind().dialect.name
        return session.execute(_insert(dialect, key=key, expires_at=expires_at)).first() is not None

    async def claim(self, db: AsyncSession, *, key: str, timestamp: int) -> bool:
        """Record the nonce (the resource API, on the event loop), committed at once; False when used before."""
        expires_at = expiry_of(timestamp)
        if self._async is not None:
            try:
                return bool(await self._async.set(KEY_PREFIX + key, b"1", nx=True, ex=self._ttl(expires_at)))
            except redis.RedisError as exc:
                _log.warning("oauth1 nonce store: Redis failed (%s); using the database", type(exc).__name__)
        dialect = db.get_bind().dialect.name
        try:
            claimed = (await db.execute(_insert(dialect, key=key, expires_at=expires_at))).first() is not None
            await db.commit()
        except BaseException:
            await db.rollback()
            raise
        return claimed

    async def close(self) -> None:
        if self._async is not None:
            await self._async.aclose()
        if self._sync is not None:
            self._sync.close()
