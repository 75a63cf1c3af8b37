"""What the running app holds for its lifetime, and what each request carries."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from app.db.engines import Database
from app.http.gateway import GatewayPolicy
from app.services.permissions import Catalog
from app.services.ratelimit import LoginLimiter
from app.services.sessions import SessionPolicy
from app.settings import Settings


@dataclass
class AppState:
    settings: Settings
    database: Database
    catalog: Catalog
    login_limiter: LoginLimiter

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy.of(self.settings)

    @cached_property
    def gateway(self) -> GatewayPolicy:
        """Who may call the gateway check and /metrics (parsed once; Settings.validate checked the networks)."""
        return GatewayPolicy.of(self.settings)


def app_state(conn: HTTPConnection) -> AppState:
    state: AppState = conn.app.state.consentry
    return state


def request_db(conn: HTTPConnection) -> AsyncSession:
    """The request's own AsyncSession, opened by DatabaseSessionMiddleware and closed when the response ends."""
    db: AsyncSession = conn.scope["state"]["db"]
    return db


class DatabaseSessionMiddleware:
    """Give every HTTP request one AsyncSession (connections are taken lazily, at the first statement)."""

    def __init__(self, app: ASGIApp, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self.database.async_sessions() as db:
            scope.setdefault("state", {})["db"] = db
            await self.app(scope, receive, send)

