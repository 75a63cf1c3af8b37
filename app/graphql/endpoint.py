"""``/graphql`` over HTTP: JSON POSTs only, GraphiQL in development, a fresh context per request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from cross_web import HTTPException  # what Strawberry itself raises for a bad body: a 400 with the message

from app.auth import authenticated_by_cookie, current_login
from app.csrf import is_cross_site
from app.graphql.context import Context
from app.graphql.schema import build_schema
from app.graphql.security import UNREPRESENTABLE_TEXT
from app.services.text import is_unrepresentable
from app.settings import Settings
from app.state import app_state, request_db


VENDOR_DIR = Path(__file__).parent / "vendor" / "graphiql"
GRAPHIQL_ASSETS = "/graphiql-assets"


def _holds_unrepresentable_text(value: object) -> bool:
    if isinstance(value, str):
        return is_unrepresentable(value)
    if isinstance(value, dict):
        return any(_holds_unrepresentable_text(key) or _holds_unrepresentable_text(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_unrepresentable_text(item) for item in value)
    return False


class ConsentryGraphQL(GraphQL[Context, None]):
    def decode_json(self, data: str | bytes) -> object:
        """A JSON object (a list goes on to the batching refusal), and no text a database cannot store: a bare
        value was a 500 inside Strawberry, and a NUL or an unpaired surrogate one in the resolver that stored it."""
        body = json.loads(data)
        if not isinstance(body, (dict, list)):
            raise HTTPException(400, "The request body must be a JSON object with a `query`.")
        raw = data.encode() if isinstance(data, str) else data
        # Such text only gets in as a \u escape or as surrogate bytes (json.loads lets them pass): a request with
        # neither, which is nearly every one, is not walked.
        if (b"\\u" in raw or b"\xed" in raw) and _holds_unrepresentable_text(body):
            raise HTTPException(400, UNREPRESENTABLE_TEXT)
        return body

    async def render_graphql_ide(self, request: Request) -> Response:
        # The same files Strawberry's page names on unpkg, served by us: GraphiQL works offline, and the page's
        # integrity hashes still hold because the files are byte-identical.
        return HTMLResponse(self.graphql_ide_html.replace("https://unpkg.com", GRAPHIQL_ASSETS))

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        assert isinstance(request, Request) and isinstance(response, Response)
        return Context(request=request, response=response, state=app_state(request), session=request_db(request),
                       login=await current_login(request))


def _refusal(request: Request) -> Response | None:
    """Refuse what a browser could be tricked into sending: non-JSON bodies and cross-site cookie requests."""
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return JSONResponse({"errors": [{"message": "Send GraphQL requests as application/json.",
                                             "extensions": {"code": "UNSUPPORTED_MEDIA_TYPE"}}]}, status_code=415)
        if authenticated_by_cookie(request) and is_cross_site(request):
            return JSONResponse({"errors": [{"message": "Cross-site requests are not allowed.",
                                             "extensions": {"code": "FORBIDDEN"}}]}, status_code=403)
    return None


class _GuardedEndpoint:
    """The GraphQL ASGI app behind the media-type and cross-site checks (a class, so Starlette passes ASGI args)."""

    def __init__(self, graphql_app: ConsentryGraphQL) -> None:
        self.graphql_app = graphql_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = _refusal(Request(scope, receive))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.graphql_app(scope, receive, send)


def graphql_routes(settings: Settings) -> list[BaseRoute]:
    graphql_app = ConsentryGraphQL(
        build_schema(settings),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,
    )

    routes: list[BaseRoute] = [Route("/graphql", _GuardedEndpoint(graphql_app), methods=["GET", "POST"])]
    if not settings.is_production:
        routes.append(Mount(GRAPHIQL_ASSETS, StaticFiles(directory=str(VENDOR_DIR)), name="graphiql-assets"))
    return routes


def export_schema() -> str:
    """The SDL of the development profile (profiles differ in extensions, never in types)."""
    return build_schema(Settings()).as_str() + "\n"


__all__: list[Any] = ["export_schema", "graphql_routes"]
