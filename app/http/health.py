"""Liveness and readiness probes."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.db.migrate import current_revision, head_revision
from app.http.faults import check_write_lock
from app.http.state import app_state


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers and its schema is at the newest migration."""
    database = app_state(request).database
    try:
        async with database.async_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            revision = await conn.run_sync(current_revision)
            await check_write_lock(conn)
    except Exception:  # noqa: BLE001 - any driver error means "not ready"; the probe must never 500
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503,
                            headers={"Retry-After": "5"})
    head = head_revision()
    if revision != head:
        return JSONResponse({"status": "unavailable", "database": "migrations pending", "revision": revision,
                             "head": head}, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok", "revision": revision})


routes = [Route("/healthz", healthz), Route("/readyz", readyz)]
