"""Per-request GraphQL context: the request's DB session, the signed-in login, DataLoaders, and the response.

Strawberry resolves sibling fields concurrently, and an AsyncSession must never be used by two coroutines at
once, so every resolver borrows the session through ``ctx.db()``, which serialises access with a lock.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiodataloader import DataLoader
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.services.apps import AppRow, get_apps_by_ids
from app.services.sessions import Authenticated
from app.state import AppState


class NotSignedIn(GraphQLError):
    def __init__(self) -> None:
        super().__init__("You must be signed in.", extensions={"code": "UNAUTHENTICATED"})


@dataclass
class Context:
    request: Request
    response: Response
    state: AppState
    session: AsyncSession
    login: Authenticated | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Apps by ID, batched into one SELECT per tick and cached for this request only (never across requests, so a
    # revoked or edited app is never served stale).
    apps_by_id: DataLoader[uuid.UUID, AppRow | None] = field(init=False)

    def __post_init__(self) -> None:
        self.apps_by_id = DataLoader(self._load_apps)

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        async with self.lock:
            yield self.session

    def require_login(self) -> Authenticated:
        """The signed-in login, or the top-level UNAUTHENTICATED error."""
        if self.login is None:
            raise NotSignedIn()
        return self.login

    async def _load_apps(self, ids: list[uuid.UUID]) -> list[AppRow | None]:
        async with self.db() as db:
            found = await get_apps_by_ids(db, ids=list(ids))
        return [found.get(app_id) for app_id in ids]
