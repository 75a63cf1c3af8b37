"""SECURITY.md G29-G30: only digests at rest; a metadata document that validates and advertises what works."""

from __future__ import annotations

import re

import httpx
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oauth2.rfc9207 import AuthorizationServerMetadata as IssuerMetadata
from sqlalchemy import text
from starlette.applications import Starlette

from app.main import create_app
from app.services.apps import RegisteredApp
from app.settings import Settings
from tests.conftest import TABLES, client_for
from tests.oauth.helpers import Person, exchange, obtain_code, refresh


async def _dump(app: Starlette) -> str:
    chunks = []
    async with app.state.consentry.database.async_sessions() as db:
        for table in TABLES:
            for row in (await db.execute(text(f"SELECT * FROM {table}"))).all():
                chunks.extend(str(value) for value in row)
    return "\n".join(chunks)


async def test_g29_database_holds_only_digests(app: Starlette, client: httpx.AsyncClient, person: Person,
                                               reg: RegisteredApp) -> None:
    """No raw secret (session token, client secret, code, access or refresh token) appears anywhere in a dump of the
    database, only their digests; each raw secret carries at least 256 bits."""
    code, verifier = await obtain_code(client, person, reg)
    first = (await exchange(client, reg, code, verifier)).json()
    second = (await refresh(client, reg, first["refresh_token"])).json()
    secrets_seen = [person.token, reg.client_secret or "", code, first["access_token"], first["refresh_token"],
                    second["access_token"], second["refresh_token"]]
    dump = await _dump(app)
    for raw in secrets_seen:
        assert len(raw) >= 43  # 256 bits from secrets.token_urlsafe (≥ 128 bits required)
        assert raw not in dump
    assert len(re.findall(r"\b[0-9a-f]{64}\b", dump)) >= len(secrets_seen)


async def test_g30_metadata_validates_and_advertises_only_what_works(settings: Settings) -> None:
    """The authorization server metadata document passes Authlib's validation and advertises only what works: code,
    S256, the two grants, our endpoints, our scopes and the iss parameter."""
    application = create_app(settings.with_overrides(base_url="https://auth.example.test"))
    try:
        async with client_for(application) as http:
            response = await http.get("/.well-known/oauth-authorization-server")
    finally:
        await application.state.consentry.database.dispose()
    assert response.status_code == 200
    document = response.json()
    AuthorizationServerMetadata(document).validate(metadata_classes=[IssuerMetadata])
    catalog = application.state.consentry.catalog
    assert document["issuer"] == "https://auth.example.test"
    assert document["scopes_supported"] == catalog.scopes
    assert document["response_types_supported"] == ["code"]
    assert document["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["authorization_response_iss_parameter_supported"] is True
    for key in ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert document[key].startswith("https://auth.example.test/oauth/")
