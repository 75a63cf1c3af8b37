"""Engines, sessions and transactions.

The async engine serves requests; a sync engine on the same database serves Authlib, which runs in a worker
thread (Authlib is synchronous). SQLite gets WAL, a busy timeout and foreign keys so the two never lock each
other out.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool

from app.db.pool import FirstComePool

T = TypeVar("T")

# A pooled connection that has waited this long is checked with a round trip before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0
# Connections the async engine keeps open on a server database, and as many worker threads for Authlib
# (app.oauth.server), so a burst of OAuth requests queues for a thread instead of opening overflow connections.
POOL_SIZE = 10
# A transaction left idle this many statement timeouts is ended by PostgreSQL itself (the session is closed, the
# connection leaves the pool, SQLSTATE 25P03 answers 503): a backstop, since no request waits on its client while it
# holds a connection (app.http.request_body reads every body first), and a request's own pauses inside a transaction
# (a password hash in a thread, a Redis round trip) take far less.
IDLE_TRANSACTION_TIMEOUTS = 3
# Threads that hash and check passwords (app.services.passwords); sign-ins also run their statements there, on the
# sync engine, whose pool keeps a connection for each of its threads: Authlib's and these.
PASSWORD_THREADS = os.cpu_count() or 2


def _driver_urls(database_url: str) -> tuple[str, str]:
    """Map one configured URL to (async URL, sync URL) with the drivers we ship."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return (
            url.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False),
            url.set(drivername="sqlite").render_as_string(hide_password=False),
        )
    if backend == "postgresql":
        return (
            url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False),
            url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False),
        )
    raise ValueError(f"unsupported database {backend!r}: use sqlite:// or postgresql://")


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")  # how long to wait for another writer's lock
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling for connections that sat idle, none for the ones in steady use.

    SQLAlchemy's ``pool_pre_ping`` spends a round trip on every checkout, which on PostgreSQL is one more
    statement's latency for every request. A connection that was used a moment ago is almost never dead, and if it
    is, the failing statement invalidates the whole pool and answers 503 once. One that sat idle may have been cut
    by a restart or a firewall: that one is pinged, and a dead one is replaced along with every connection pooled
    before it (as pre-ping does), so the request never sees it.
    """
    dialect = engine.dialect

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # Any failure is asked about, not only the DBAPI's Error that is_disconnect is typed for: asyncpg's
            # dialect answers from the connection's state, whatever the exception.
            if dialect.is_disconnect(error, dbapi_connection, None):  # type: ignore[arg-type]
                raise exc.InvalidatePoolError() from error  # the pool reconnects this checkout
            raise

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


def _skip_idle_rollbacks(engine: Engine) -> None:
    """Roll back an aiosqlite connection only when it has a transaction open.

    Every aiosqlite call is a round trip through the connection's own thread, and a request that only read pays
    two of them for nothing when its session closes: the session's rollback, then the pool's reset-on-return
    (SQLAlchemy only skips the second after a rollback of its own Connection). sqlite3 itself makes a rollback
    without a transaction a no-op, so asking it first (a flag read, no I/O) changes nothing but the round trips.
    Set on this engine's dialect instance only: the sync engines run sqlite3 on the calling thread already.

    The flag is read while no call of this connection is in flight: SQLAlchemy awaits each one, and one cut short by
    a cancellation makes it invalidate (discard) the connection rather than roll it back.
    """
    dialect = engine.dialect
    rollback = dialect.do_rollback

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            idle = not dbapi_connection.driver_connection.in_transaction
        except (ValueError, sqlite3.Error):  # closed ("no active connection"): the real rollback reports it
            idle = False
        if not idle:
            rollback(dbapi_connection)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]  # on purpose, on this one instance (see above)


def _connect_failures_are_outages(engine: Engine) -> None:
    """Mark every failure to open a connection as a lost connection, so app.http.faults answers it with a 503.

    psycopg reports any refusal at connect time as ``OperationalError``, but asyncpg raises the server's error
    itself (SQLSTATE 55000 for ``ALLOW_CONNECTIONS false``, 28P01, ...), which SQLAlchemy wraps as a bare
    ``DBAPIError``: the class a statement that is our own bug gets too. Only here is it known that no connection
    existed yet (SQLAlchemy calls ``handle_error`` without one, and this is its documented place to decide what a
    disconnect is). The pool is left alone: a connection refused at connect time invalidates nothing, and the
    open connections may still work. Pre-ping failures keep SQLAlchemy's own decision.
    """

    def on_error(context: ExceptionContext) -> None:
        if context.connection is None and not context.is_pre_ping:
            context.is_disconnect = True

    event.listen(engine, "handle_error", on_error)


@dataclass
class Database:
    """Both engines and their session factories for one database."""

    url: str
    async_engine: AsyncEngine
    sync_engine: Engine
    async_sessions: async_sessionmaker[AsyncSession]
    sync_sessions: sessionmaker[Session]
    # For work whose every statement stands alone (reads, a single INSERT): autocommit, so no BEGIN and COMMIT or
    # ROLLBACK round trips around it. Reads still see committed data only, and under READ COMMITTED a transaction
    # would not give several reads one snapshot anyway. The engine for Core statements, sessions for Authlib's ORM.
    sync_autocommit_engine: Engine
    sync_autocommit_sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.sync_engine.dialect.name

    async def dispose(self) -> None:
        await self.async_engine.dispose()
        self.sync_engine.dispose()
        if self.sync_autocommit_engine.pool is not self.sync_engine.pool:  # SQLite's engine of its own
            self.sync_autocommit_engine.dispose()


def _behind_a_pooler(timeout_seconds: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Connection arguments for PgBouncer in transaction mode (``CONSENTRY_DATABASE_POOLING=off``): each
    transaction may run on another server connection. So no startup parameters (PgBouncer refuses unknown ones:
    set statement_timeout and lock_timeout on the database role instead) and no named prepared statements that
    outlive a transaction (two clients' "__asyncpg_stmt_2__" collide on one server connection); asyncpg's own
    command timeout still bounds each statement from this side."""
    async_args = {"timeout": timeout_seconds, "command_timeout": timeout_seconds, "statement_cache_size": 0,
                  "prepared_statement_cache_size": 0,
                  "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4().hex}__"}
    sync_args = {"connect_timeout": max(1, int(timeout_seconds)), "prepare_threshold": None}
    return async_args, sync_args


def create_database(database_url: str, *, pooled: bool = True, timeout_seconds: float = 10,
                    ping_after_idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> Database:
    """Engines for one database.

    ``pooled=False`` opens a connection per checkout: for running behind an external pooler (PgBouncer), and for
    sharing one app between event loops (a test process and a live server thread). ``timeout_seconds`` bounds
    connecting, waiting for locks and running one statement, so a slow or stuck database turns into a clean,
    retryable error (503) instead of requests that hang.
    """
    async_url, sync_url = _driver_urls(database_url)
    is_sqlite = async_url.startswith("sqlite")
    engine_args: dict[str, Any]
    if not pooled:
        engine_args = {"poolclass": NullPool}
    elif is_sqlite:
        engine_args = {}
    else:
        engine_args = {"pool_size": POOL_SIZE, "max_overflow": 10, "pool_timeout": timeout_seconds}
    # A failed statement's message never carries its parameters: they hold password hashes and token digests, and
    # the message reaches logs (and the CLI's error line).
    engine_args["hide_parameters"] = True
    async_args, sync_args = dict(engine_args), dict(engine_args)
    parsed_async_url = make_url(async_url)
    # Where SQLAlchemy would pick its async queue pool (a server, a SQLite file; not SQLite in memory), ours. Every
    # dialect is a DefaultDialect, which has get_pool_class; the Dialect interface that get_dialect() returns has not.
    dialect = parsed_async_url.get_dialect()
    if (pooled and issubclass(dialect, DefaultDialect)
            and dialect.get_pool_class(parsed_async_url) is AsyncAdaptedQueuePool):
        async_args["poolclass"] = FirstComePool
    if "pool_size" in sync_args:
        sync_args["pool_size"] = POOL_SIZE + PASSWORD_THREADS
    if not is_sqlite and pooled:
        # Server-side limits: PostgreSQL cancels the statement (SQLSTATE 57014 / 55P03), which maps to a 503, and ends
        # a session left idle inside a transaction (25P03). Startup parameters: PgBouncer refuses them (see below).
        millis = int(timeout_seconds * 1000)
        server_settings = {"statement_timeout": str(millis), "lock_timeout": str(millis),
                           "idle_in_transaction_session_timeout": str(millis * IDLE_TRANSACTION_TIMEOUTS)}
        async_args["connect_args"] = {"timeout": timeout_seconds, "server_settings": server_settings}
        sync_args["connect_args"] = {"connect_timeout": max(1, int(timeout_seconds)),
                                     "options": " ".join(f"-c {name}={value}"
                                                         for name, value in server_settings.items())}
    elif not is_sqlite:
        async_args["connect_args"], sync_args["connect_args"] = _behind_a_pooler(timeout_seconds)
    async_engine = create_async_engine(async_url, **async_args)
    sync_engine = create_engine(sync_url, **sync_args)
    for engine in (async_engine.sync_engine, sync_engine):
        _connect_failures_are_outages(engine)
    if is_sqlite:
        pragmas = _sqlite_pragmas(int(timeout_seconds * 1000))
        # The autocommit work gets an engine whose connections stay in autocommit: switching a pooled SQLite
        # connection there and back costs a PRAGMA at every check-in (SQLAlchemy restores the default isolation
        # level), one per sign-in, and a second pool of file handles costs nothing.
        sync_autocommit_engine = create_engine(sync_url, isolation_level="AUTOCOMMIT", **sync_args)
        _connect_failures_are_outages(sync_autocommit_engine)
        for engine in (async_engine.sync_engine, sync_engine, sync_autocommit_engine):
            event.listen(engine, "connect", pragmas)
        _skip_idle_rollbacks(async_engine.sync_engine)
    else:
        # On PostgreSQL the switch only sets attributes of the psycopg connection, and connections are the server's
        # to ration: one pool serves both kinds of work.
        sync_autocommit_engine = sync_engine.execution_options(isolation_level="AUTOCOMMIT")
        if pooled:  # NullPool opens a fresh connection every time (and a SQLite file cannot go away)
            _ping_after_idle(async_engine.sync_engine, ping_after_idle_seconds)
            _ping_after_idle(sync_engine, ping_after_idle_seconds)
    return Database(
        url=database_url,
        async_engine=async_engine,
        sync_engine=sync_engine,
        async_sessions=async_sessionmaker(async_engine, expire_on_commit=False),
        sync_sessions=sessionmaker(sync_engine, expire_on_commit=False),
        sync_autocommit_engine=sync_autocommit_engine,
        sync_autocommit_sessions=sessionmaker(sync_autocommit_engine, expire_on_commit=False),
    )


async def with_session(database_url: str, work: Callable[[AsyncSession], Awaitable[T]], *,
                       timeout_seconds: float = 10, pooled: bool = True) -> T:
    """Open the database, run ``work`` on one session, and close every connection: for the CLI's one-off commands
    (a server keeps its engines for its lifetime instead)."""
    database = create_database(database_url, pooled=pooled, timeout_seconds=timeout_seconds)
    try:
        async with database.async_sessions() as db:
            return await work(db)
    finally:
        await database.dispose()


class transaction:  # noqa: N801 - used as ``async with transaction(db):``, like a function
    """Commit everything written inside the block together, or roll all of it back.

    A class rather than an ``@asynccontextmanager``: every request that writes uses one, and each async generator
    costs a registration with the event loop's weak set of generators, which showed up in profiles.
    """

    __slots__ = ("db",)

    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def __aenter__(self) -> AsyncSession:
        return self.db

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: object) -> None:
        if kind is None:
            try:
                await self.db.commit()
            except BaseException:
                await self.db.rollback()
                raise
        else:
            await self.db.rollback()
