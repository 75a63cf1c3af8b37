"""RFC 8414 authorization server metadata: only what actually works here."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.http.state import app_state
from app.services.permissions import Catalog
from app.settings import Settings

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def metadata_document(settings: Settings, catalog: Catalog) -> dict[str, Any]:
    issuer = settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "scopes_supported": catalog.scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }


async def metadata(request: Request) -> Response:
    state = app_state(request)
    return JSONResponse(metadata_document(state.settings, state.catalog),
                        headers={"Cache-Control": "public, max-age=3600"})
