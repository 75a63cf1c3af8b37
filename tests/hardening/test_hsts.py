"""Production sends ``Strict-Transport-Security`` on every response, so a browser that has once reached the service
over HTTPS never falls back to plain http (where a session cookie or a code could be read on the way)."""

from __future__ import annotations

import httpx

HSTS = "max-age=63072000; includeSubDomains"


async def test_production_sends_strict_transport_security_on_every_response_and_development_none(
    production_client: httpx.AsyncClient, client: httpx.AsyncClient,
) -> None:
    """In production, pages, probes, GraphQL, OAuth answers, errors and refusals all carry the two-year HSTS header.
    The development profile, plain http on a laptop, sends none (it would lock the browser out of http there)."""
    responses = [
        await production_client.get("/healthz"),
        await production_client.get("/login"),
        await production_client.get("/.well-known/oauth-authorization-server"),
        await production_client.post("/graphql", json={"query": "{ viewer { username } }"}),
        await production_client.post("/oauth/token", data={"grant_type": "password"}),
        await production_client.get("/no/such/page"),
        await production_client.post("/login", content=b"x" * (17 * 1024),
                                     headers={"content-type": "application/x-www-form-urlencoded"}),
    ]
    assert [response.status_code for response in responses] == [200, 200, 200, 200, 400, 404, 413]
    assert [response.headers.get("strict-transport-security") for response in responses] == [HSTS] * len(responses)
    assert "strict-transport-security" not in (await client.get("/healthz")).headers
