"""OAuth 1.0a User Context at X's paths. ``GET /oauth/authorize?oauth_token=…`` shares the OAuth 2.0 route
(``app.oauth.authorize`` dispatches on ``oauth_token``); the consent page is ``app.web.consent``'s."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.http.state import request_db
from app.oauth.oauth1.guard import verify_signed_request
from app.oauth.oauth1.server import ConsentryOAuth1Server, SignedSnapshot, run_oauth1
from app.services.oauth1.tokens import invalidate_token as end_token
from app.web.consent import oauth1_consent


def _request_token(server: ConsentryOAuth1Server, snapshot: SignedSnapshot) -> Response:
    return server.create_temporary_credentials_response(snapshot)  # type: ignore[no-any-return]


def _access_token(server: ConsentryOAuth1Server, snapshot: SignedSnapshot) -> Response:
    return server.create_token_response(snapshot)  # type: ignore[no-any-return]


async def request_token(request: Request) -> Response:
    return await run_oauth1(request, _request_token)


async def access_token(request: Request) -> Response:
    return await run_oauth1(request, _access_token)


async def invalidate_token(request: Request) -> Response:
    """The app ends the token credential it signs this request with (X's ``POST oauth/invalidate_token``)."""
    signed = await verify_signed_request(request)
    if isinstance(signed, Response):
        return signed
    await end_token(request_db(request), token=signed)
    # X's answer names the token that just ended.
    return JSONResponse({"access_token": signed.token}, headers={"Cache-Control": "no-store"})


async def authenticate(request: Request) -> Response:
    return await oauth1_consent(request, authenticate=True)


routes: list[BaseRoute] = [
    Route("/oauth/request_token", request_token, methods=["POST"]),
    Route("/oauth/access_token", access_token, methods=["POST"]),
    Route("/oauth/invalidate_token", invalidate_token, methods=["POST"]),
    Route("/oauth/authenticate", authenticate, methods=["GET"]),
]
