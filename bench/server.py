"""The benchmarked ASGI app: Consentry as ``create_app()`` builds it, plus the harness's floor and stats routes.

Run by uvicorn with ``--factory bench.server:create_bench_app``. The extra routes sit in front of the app's own
routes, inside the same middleware, so floor and GraphQL requests pay the same transport costs.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from sqlalchemy import event
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.main import create_app
from bench import floor, floor_oauth
from bench.dataset import PAGE_SCOPES


class StatementCounter:
    """Counts statements sent by the app's async engine (requests are sequential while it is read)."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, *_args: Any) -> None:
        self.count += 1


def _rss_kib() -> int:
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1])


def create_bench_app() -> Starlette:
    app = create_app()
    counter = StatementCounter(app.state.consentry.database.async_engine.sync_engine)

    async def stats(_request: Request) -> Response:
        return JSONResponse({"statements": counter.count, "rss_kib": _rss_kib(), "pid": os.getpid()})

    extra = [*floor.routes, Route("/bench/stats", stats, methods=["GET"])]
    oauth_account = os.environ.get("BENCH_OAUTH_ACCOUNT_ID")
    if oauth_account:  # the account whose token G3 sends; the unguarded /api/v1/me handler serves it
        extra.extend(floor_oauth.routes(uuid.UUID(oauth_account), PAGE_SCOPES))
    app.router.routes[0:0] = extra
    return app
