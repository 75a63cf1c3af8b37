"""What the running app holds for its lifetime, and what each request carries."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db.engines import Database
from app.http.faults import describe
from app.services.oauth1.nonces import NonceStore
from app.services.permissions import Catalog
from app.services.ratelimit import LoginLimiter
from app.services.sessions import SessionPolicy
from app.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class AppState:
    settings: Settings
    database: Database
    catalog: Catalog
    login_limiter: LoginLimiter
    oauth1_nonces: NonceStore  # OAuth 1.0a nonces already used: Redis when configured, else the database

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy.of(self.settings)


def app_state(conn: HTTPConnection) -> AppState:
    state: AppState = conn.app.state.consentry
    return state


def request_db(conn: HTTPConnection) -> AsyncSession:
    """The request's own AsyncSession, opened by DatabaseSessionMiddleware and closed when the response ends."""
    db: AsyncSession = conn.scope["state"]["db"]
    return db


class DatabaseSessionMiddleware:
    """Give every HTTP request one AsyncSession (connections are taken lazily, at the first statement), and let its
    connection go before the response is sent.

    Sending can wait on the client: a client that pipelines requests and never reads fills the socket's buffers,
    and the server's ``send`` then blocks. Everything the request wrote is committed by then (``transaction()``),
    so the session is closed as the response starts: no request holds a pooled connection while it waits on its
    client, in either direction (``request_body`` covers the request's body).
    """

    def __init__(self, app: ASGIApp, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self.database.async_sessions() as db:
            scope.setdefault("state", {})["db"] = db

            async def send_after_closing(message: Message) -> None:
                if message["type"] == "http.response.start":
                    try:
                        await db.close()
                    except Exception as error:  # noqa: BLE001 - the answer stands: its writes are committed
                        # Closing only rolls back what is left of a read; a connection that fails to do so is
                        # discarded by the pool, and the response the request made is still the right one.
                        log.warning("could not release a request's connection", extra=describe(error))
                await send(message)

            await self.app(scope, receive, send_after_closing)
