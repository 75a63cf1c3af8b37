"""``/graphql`` over HTTP: JSON POSTs only, GraphiQL in development, a fresh context per request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cross_web import HTTPException  # what Strawberry itself raises for a bad body: a 400 with the message
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.graphql.context import Context
from app.graphql.schema import build_schema
from app.graphql.security import UNREPRESENTABLE_TEXT
from app.http.auth import authenticated_by_cookie, current_login
from app.http.csrf import is_cross_site
from app.http.state import app_state, request_db
from app.services.demo_data import DEMO_PASSWORD, DEMO_USERNAME
from app.services.text import is_unrepresentable
from app.settings import Settings

# GraphiQL's files live outside the package (``vendor/graphiql`` of a checkout): development serves them so
# GraphiQL works offline, and an installed package, like production, carries none of them.
VENDOR_DIR = Path(__file__).resolve().parents[2] / "vendor" / "graphiql"
GRAPHIQL_ASSETS = "/graphiql-assets"
# What GraphiQL opens on: how to authenticate, then a first query (Strawberry's stock text says nothing of either).
GRAPHIQL_EXAMPLE = f"""# Consentry's GraphQL API: connected apps and login sessions.
#
# Most fields need a signed-in account. Either:
#   - sign in at /login in this same browser: GraphiQL then sends the session cookie, or
#   - run the SignIn mutation below (the demo account scripts/serve seeds), copy its token, and put it in the
#     Headers tab:  {{ "Authorization": "Bearer <token>" }}
#
# Run an operation with Ctrl-Enter; Ctrl-Space completes names. The Docs panel describes every field.

mutation SignIn {{
  login(input: {{username: "{DEMO_USERNAME}", password: "{DEMO_PASSWORD}"}}) {{
    token
    userErrors {{ message code }}
  }}
}}

query AppsAndSessions {{
  viewer {{
    username
    connectedApps(first: 10) {{ nodes {{ id app {{ name }} canView {{ title }} canDo {{ title }} }} }}
    sessions(first: 10) {{ nodes {{ id isCurrent browser os location lastActiveAt }} }}
  }}
}}
"""

# The longest query text taken, in UTF-8 bytes (SECURITY.md K48). The token limit does not bound bytes (whitespace,
# comments and one long string are one token or none), and the parser reads every byte; the whole body has its own,
# larger bound (app.http.request_body). Refused with 413 (the request's content is too large, RFC 9110 §15.5.14) and a
# GraphQL error whose code is QUERY_TOO_LARGE, before the query is parsed.
MAX_QUERY_BYTES = 32 * 1024
QUERY_TOO_LARGE = f"The GraphQL query is longer than {MAX_QUERY_BYTES // 1024} KB. Send a shorter document."


class _QueryTooLarge(Exception):
    """Raised while decoding the body, answered by _GuardedEndpoint before Strawberry parses anything."""


def _query_too_large(query: object) -> bool:
    if not isinstance(query, str) or len(query) * 4 <= MAX_QUERY_BYTES:  # 4 bytes per character at most
        return False
    return len(query) > MAX_QUERY_BYTES or len(query.encode("utf-8", "surrogatepass")) > MAX_QUERY_BYTES


def _holds_unrepresentable_text(value: object) -> bool:
    """Whether any string in a decoded JSON value is one no database takes. A loop, not recursion: json.loads
    takes documents nested deeper than Python's recursion limit."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if is_unrepresentable(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class ConsentryGraphQL(GraphQL[Context, None]):
    def decode_json(self, data: str | bytes) -> object:
        """A JSON object in UTF-8 (a list goes on to the batching refusal), holding no text a database cannot
        store. Each refusal is a 400: a bare value, bytes that are not UTF-8, and nesting too deep to decode were
        500s, and a NUL or an unpaired surrogate one in the resolver that stored it."""
        try:
            # UTF-8 only (RFC 8259 §8.1): json.loads would also take UTF-16 and UTF-32, and surrogates encoded in
            # the bytes; the strict decode refuses both, leaving a \u escape the only way such text gets in.
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            body = json.loads(text)
        except (UnicodeDecodeError, RecursionError) as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        if not isinstance(body, (dict, list)):
            raise HTTPException(400, "The request body must be a JSON object with a `query`.")
        if isinstance(body, dict) and _query_too_large(body.get("query")):
            raise _QueryTooLarge()
        if "\\u" in text and _holds_unrepresentable_text(body):  # nearly every request has no escape: not walked
            raise HTTPException(400, UNREPRESENTABLE_TEXT)
        return body

    async def render_graphql_ide(self, request: Request) -> Response:
        # The same files Strawberry's page names on unpkg, served by us when a checkout has them: GraphiQL works
        # offline, and the page's integrity hashes still hold because the files are byte-identical.
        html = self.graphql_ide_html
        if VENDOR_DIR.is_dir():
            html = html.replace("https://unpkg.com", GRAPHIQL_ASSETS)
        return HTMLResponse(_with_example(html))

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        # Narrows the type for HTTP requests, all the API is for (the schema has no subscriptions).
        assert isinstance(request, Request) and isinstance(response, Response)  # noqa: S101
        return Context(request=request, response=response, state=app_state(request), session=request_db(request),
                       login=await current_login(request))


def _with_example(html: str) -> str:
    """Strawberry's GraphiQL page with our example document in place of its welcome text."""
    start = html.find("const EXAMPLE_QUERY = `")
    end = html.find("`;", start)
    if start < 0 or end < 0:  # another page layout: keep Strawberry's text rather than break the page
        return html
    return html[:start] + "const EXAMPLE_QUERY = " + json.dumps(GRAPHIQL_EXAMPLE) + html[end + 1:]


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
        try:
            await self.graphql_app(scope, receive, send)
        except _QueryTooLarge:  # raised before Strawberry starts a response
            await JSONResponse({"errors": [{"message": QUERY_TOO_LARGE, "extensions": {"code": "QUERY_TOO_LARGE"}}]},
                               status_code=413)(scope, receive, send)


def graphql_routes(settings: Settings) -> list[BaseRoute]:
    graphql_app = ConsentryGraphQL(
        build_schema(settings),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,
    )

    routes: list[BaseRoute] = [Route("/graphql", _GuardedEndpoint(graphql_app), methods=["GET", "POST"])]
    if not settings.is_production and VENDOR_DIR.is_dir():
        routes.append(Mount(GRAPHIQL_ASSETS, StaticFiles(directory=str(VENDOR_DIR)), name="graphiql-assets"))
    return routes


def export_schema() -> str:
    """The SDL of the development profile (profiles differ in extensions, never in types)."""
    return build_schema(Settings()).as_str() + "\n"


__all__: list[Any] = ["export_schema", "graphql_routes"]
