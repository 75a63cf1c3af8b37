"""SECURITY.md K57: IP addresses are shown masked by default (IPv4 /24 as ``203.0.113.x``, IPv6 /48), on every page
and in every API field; the full address only where it is asked for explicitly (``ipAddress(full: true)``).

Sessions and events are made from a public IPv4 and an IPv6 address; then every account page's HTML and every
String field of ``Session`` and ``SecurityEvent`` (found from the schema, so a field added later is checked too)
are searched for either full address.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, Undefined
from sqlalchemy import update
from starlette.applications import Starlette

from app.graphql.schema import build_schema
from app.models import LoginSession, utcnow
from app.services.digests import digest
from app.settings import Settings
from tests.conftest import client_for
from tests.factories import PASSWORD, WINDOWS_CHROME_UA, graphql_data, login, make_account
from tests.oauth.helpers import Person, authorize_params, call_me, pkce_pair, register, tokens_for

IPV4 = "85.214.132.117"
IPV6 = "2001:db8:85a3:8d3:1319:8a2e:370:7348"
SAME_ORIGIN = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}


def _string_fields(type_name: str) -> list[str]:
    """Every field of ``type_name`` that returns a String, with no required argument."""
    schema = build_schema(Settings())._schema
    graphql_type = schema.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    fields = []
    for name, field in graphql_type.fields.items():
        kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        required = any(isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
                       for arg in field.args.values())
        if isinstance(kind, GraphQLScalarType) and kind.name == "String" and not required:
            fields.append(name)
    return fields


def _shows_a_full_address(text: str) -> bool:
    return IPV4 in text or IPV6 in text or "2001:db8:85a3:8d3" in text


async def _seed(app: Starlette, client: httpx.AsyncClient) -> tuple[str, str]:
    """Sessions from IPv4 and IPv6, moved between them, events from both, an app used from both. Returns (a
    bearer token, the app page's address)."""
    account = await make_account(app)
    async with client_for(app, ip=IPV6, user_agent=WINDOWS_CHROME_UA) as v6:
        v6_token = await login(v6)
    async with app.state.consentry.database.async_sessions() as db:  # a minute later, the v6 session is on v4
        await db.execute(update(LoginSession).where(LoginSession.token_digest == digest(v6_token))  # type: ignore[arg-type]
                         .values(last_active_at=utcnow() - timedelta(minutes=2)))
        await db.commit()
    async with client_for(app, ip=IPV4, user_agent=WINDOWS_CHROME_UA) as v4:
        token = await login(v4)
        await graphql_data(v4, "{ viewer { id } }", token=v6_token)
    reg = await register(app)
    tokens = await tokens_for(client, Person(account=account, token=token), reg)
    async with client_for(app, ip=IPV6) as api:
        assert (await call_me(api, tokens.access_token)).status_code == 200
    connected = await graphql_data(client, "{ viewer { connectedApps { nodes { id } } } }", token=token)
    return token, f"/settings/apps/{connected['viewer']['connectedApps']['nodes'][0]['id']}"


async def test_k57_no_page_shows_a_full_address(app: Starlette, client: httpx.AsyncClient) -> None:
    """/settings, its app page, /settings/security, /settings/password and the consent page: networks only."""
    _, app_page = await _seed(app, client)
    reg = await register(app, name="Second App")
    async with client_for(app, ip=IPV4, user_agent=WINDOWS_CHROME_UA) as http:
        assert (await http.post("/login", data={"username": "alice", "password": PASSWORD},
                                headers=SAME_ORIGIN)).status_code == 303
        pending = await http.get("/oauth/authorize", params=authorize_params(reg, pkce_pair()[1]))
        pages = {path: (await http.get(path)).text for path in (
            "/settings", "/settings/security", "/settings/password", app_page, pending.headers["location"])}
    for path, html in pages.items():
        assert "<html" in html, path
        assert not _shows_a_full_address(html), path
    assert "85.214.132.x" in pages["/settings"] and "2001:db8:85a3::/48" in pages["/settings"]
    assert "85.214.132.x" in pages["/settings/security"] and "2001:db8:85a3::/48" in pages["/settings/security"]
    assert "2001:db8:85a3::/48" in pages[app_page]


async def test_k57_no_string_field_of_session_or_security_event_shows_a_full_address_unless_asked(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """Every String field of Session and SecurityEvent, read without arguments, holds no full address; the
    ``ipAddress(full: true)`` fields do."""
    token, _ = await _seed(app, client)
    session_fields, event_fields = _string_fields("Session"), _string_fields("SecurityEvent")
    assert {"ipAddress", "lastIpAddress", "location", "device"} <= set(session_fields)
    assert {"ipAddress", "summary", "location"} <= set(event_fields)
    query = (f"{{ viewer {{ sessions {{ nodes {{ {' '.join(session_fields)} }} }} "
             f"securityEvents {{ nodes {{ {' '.join(event_fields)} session {{ {' '.join(session_fields)} }} }} }} "
             "connectedApps { nodes { lastUsedFrom lastUsedIpAddress } } } }")
    data = await graphql_data(client, query, token=token)
    shown = repr(data)
    assert not _shows_a_full_address(shown), shown
    values: list[Any] = re.findall(r"'ipAddress': '([^']*)'", shown)
    assert "85.214.132.x" in values and "2001:db8:85a3::/48" in values

    full = await graphql_data(client, "{ viewer { sessions { nodes { ipAddress(full: true) } } "
                                      "securityEvents { nodes { ipAddress(full: true) } } "
                                      "connectedApps { nodes { lastUsedIpAddress(full: true) } } } }", token=token)
    assert {node["ipAddress"] for node in full["viewer"]["sessions"]["nodes"]} == {IPV4, IPV6}
    assert {node["ipAddress"] for node in full["viewer"]["securityEvents"]["nodes"]} >= {IPV4, IPV6}
    assert full["viewer"]["connectedApps"]["nodes"] == [{"lastUsedIpAddress": IPV6}]
