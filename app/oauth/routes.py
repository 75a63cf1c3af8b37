"""OAuth 2.0 routes: authorization, token, revocation, introspection, metadata and the resource API (the consent
page the authorization endpoint sends people to is a page of ``app.web``); OAuth 1.0a's come from
``app.oauth.oauth1.routes``.

Database trouble on any of them becomes a 503 ``temporarily_unavailable`` in app.http.faults.DatabaseFaultMiddleware.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.oauth import api, authorize, metadata
from app.oauth.oauth1.routes import routes as oauth1_routes
from app.oauth.requests import RequestSnapshot
from app.oauth.server import ConsentryAuthorizationServer, run_authlib


def _token(server: ConsentryAuthorizationServer, snapshot: RequestSnapshot) -> Response:
    return server.refuse_malformed(snapshot, token_endpoint=True) or server.create_token_response(snapshot)


def _revoke(server: ConsentryAuthorizationServer, snapshot: RequestSnapshot) -> Response:
    return server.refuse_malformed(snapshot) or server.create_endpoint_response("revocation", snapshot)


def _introspect(server: ConsentryAuthorizationServer, snapshot: RequestSnapshot) -> Response:
    return server.refuse_malformed(snapshot) or server.create_endpoint_response("introspection", snapshot)


async def token(request: Request) -> Response:
    return await run_authlib(request, _token)


async def revoke(request: Request) -> Response:
    return await run_authlib(request, _revoke)


async def introspect(request: Request) -> Response:
    return await run_authlib(request, _introspect, read_only=True)  # RFC 7662: a lookup that changes nothing


routes: list[BaseRoute] = [
    Route("/oauth/authorize", authorize.authorize, methods=["GET"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/oauth/introspect", introspect, methods=["POST"]),
    Route("/.well-known/oauth-authorization-server", metadata.metadata, methods=["GET"]),
    Route("/api/v1/me", api.me, methods=["GET"]),
    *oauth1_routes,
]
