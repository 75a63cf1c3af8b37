"""``GET /metrics`` in Prometheus' text format (gateway only, like ``/oauth/check``), and the request latency
histogram that ``app.http.logs.RequestContextMiddleware`` feeds as it writes each access line."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from app.http.gateway import refused
from app.http.state import app_state
from app.metrics import MULTIPROCESS, REQUEST_SECONDS

# What an answer given before routing (413, 408) or to a path no route matched (404) is filed under: never the raw
# path, which anyone can vary without end.
UNMATCHED = "(unmatched)"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# (route, method, status) → the histogram's child: labels() takes the metric's lock and builds its key on every
# call; a dict lookup does neither. Bounded: routes are the app's own, methods the seven above, statuses ours.
_children: dict[tuple[str, str, int], Histogram] = {}


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """File one answered request under its route template (``/settings/apps/{app_id}``, not the path)."""
    route = getattr(scope.get("route"), "path", None) or UNMATCHED
    method = scope["method"] if scope["method"] in _METHODS else "OTHER"
    key = (route, method, status)
    child = _children.get(key)
    if child is None:
        child = _children[key] = REQUEST_SECONDS.labels(route, method, str(status))
    child.observe(seconds)


def _exposition() -> bytes:
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        # Every worker's values, from the files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's documented way).
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


async def metrics(request: Request) -> Response:
    if not app_state(request).gateway.allows(request, secret_as_bearer=True):
        return refused()
    # Reading every worker's file is blocking I/O: off the event loop.
    body = await run_in_threadpool(_exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


routes = [Route("/metrics", metrics, methods=["GET"])]
