"""Per-request GraphQL context: the request's DB session, the signed-in login, DataLoaders, and the response.

Strawberry resolves sibling fields concurrently, and an AsyncSession must never be used by two coroutines at
once, so every resolver borrows the session through ``ctx.db()``, which serialises access with a lock.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from dataclasses import dataclass, field

from aiodataloader import DataLoader
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.http.state import AppState
from app.services.apps import AppRow, get_apps_by_ids
from app.services.security_events import Actor
from app.services.sessions import Authenticated


class NotSignedIn(GraphQLError):
    def __init__(self) -> None:
        super().__init__("You must be signed in.", extensions={"code": "UNAUTHENTICATED"})


class _Borrowed:
    """The session under the context's lock. A class, not an ``@asynccontextmanager``: a page borrows the session
    three times, and each async generator costs a registration with the event loop's weak set of generators."""

    __slots__ = ("lock", "session")

    def __init__(self, lock: asyncio.Lock, session: AsyncSession) -> None:
        self.lock, self.session = lock, session

    async def __aenter__(self) -> AsyncSession:
        await self.lock.acquire()
        return self.session

    async def __aexit__(self, *_exc: object) -> None:
        self.lock.release()


@dataclass
class Context:
    request: Request
    response: Response
    state: AppState
    session: AsyncSession
    login: Authenticated | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The apps of a list, by ID: every list asked for in one tick is loaded by one SELECT, and cached for this
    # request only (never across requests, so a revoked or edited app is never served stale). Keyed by the list's
    # IDs rather than by each ID: one future per list instead of one per app, which on the settings page was most
    # of the loader's cost.
    apps_by_ids: DataLoader[tuple[uuid.UUID, ...], dict[uuid.UUID, AppRow]] = field(init=False)

    def __post_init__(self) -> None:
        # The loader gets the lock and the session, not the context: a bound method of the context would make a
        # reference cycle (context -> loader -> context), and the whole request (its session, rows and objects)
        # would wait for the garbage collector instead of being freed when the response is sent.
        self.apps_by_ids = DataLoader(functools.partial(_load_app_lists, self.lock, self.session))

    def db(self) -> _Borrowed:
        """``async with ctx.db() as db:`` the request's session, one coroutine at a time."""
        return _Borrowed(self.lock, self.session)

    async def release_connection(self) -> None:
        """Give the request's pooled connection back before slow work that needs none (password hashing): the
        session lookup left it checked out, and a flood of sign-ins waiting for the hashing threads would otherwise
        hold the whole pool. The session takes a connection again at its next statement."""
        async with self.db() as db:
            await db.close()

    def release(self) -> None:
        """Let go of the request's session, loaders and request objects once its operation has ended.

        graphql-core's execution context is a reference cycle of its own (its resolve-info helpers hold its bound
        methods) and holds this context until Python's cycle collector runs; what this context refers to (the
        session and every row loaded for the request) should be freed with the response, not wait with it."""
        self.apps_by_ids.clear_all()
        for name in ("session", "apps_by_ids", "request", "response", "login"):
            self.__dict__.pop(name, None)

    def require_login(self) -> Authenticated:
        """The signed-in login, or the top-level UNAUTHENTICATED error."""
        if self.login is None:
            raise NotSignedIn()
        return self.login

    def actor(self) -> Actor:
        """The signed-in session as the security timeline names who did something (``require_login`` first)."""
        login = self.require_login()
        return Actor.of(login.session.id, login.session)


async def _load_app_lists(lock: asyncio.Lock, session: AsyncSession,
                          lists: list[tuple[uuid.UUID, ...]]) -> list[dict[uuid.UUID, AppRow]]:
    """The apps of every list asked for in one tick, by one SELECT under the context's lock."""
    async with _Borrowed(lock, session) as db:
        found = await get_apps_by_ids(db, ids=[app_id for ids in lists for app_id in ids])
    return [{app_id: found[app_id] for app_id in ids if app_id in found} for ids in lists]
