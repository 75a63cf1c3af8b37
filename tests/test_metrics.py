"""``/metrics``: what an operator watches, in Prometheus' text format, protected like the gateway check; and with
``PROMETHEUS_MULTIPROC_DIR``, the sum of every worker's numbers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.http.logs import RequestContextMiddleware
from app.http.metrics import observe_request
from app.main import create_app
from app.settings import Settings
from tests.conftest import _free_port
from tests.factories import LOGIN, PASSWORD, make_account
from tests.oauth.helpers import Person, refresh, register, revoke, sign_in, tokens_for

SECRET = "metrics-secret-for-tests-0123456789abcdef"
GATEWAY = {"x-consentry-gateway-secret": SECRET}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings.with_overrides(gateway_secret=SECRET, login_attempts_per_account="2/15 minutes"))
    yield application
    await application.state.consentry.database.dispose()


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and labels."""
    response = await http.get("/metrics", headers=GATEWAY)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_only_the_gateway_may_read_metrics(client: httpx.AsyncClient) -> None:
    """Without the gateway's secret (or with a wrong one) /metrics is a bare 403. The secret may also come as a
    bearer credential, which is how Prometheus sends one."""
    for headers in ({}, {"x-consentry-gateway-secret": "nope"}, {"authorization": "Bearer nope"},
                    {"authorization": f"Basic {SECRET}"}):
        response = await client.get("/metrics", headers=headers)
        assert (response.status_code, response.content) == (403, b"")
    assert (await client.get("/metrics", headers=GATEWAY)).status_code == 200
    assert (await client.get("/metrics", headers={"authorization": f"Bearer {SECRET}"})).status_code == 200


async def test_latency_is_filed_by_route_template_never_by_raw_path() -> None:
    """A request to /things/42?x=1 is counted under the template /things/{id} with its method and status; a path
    no route knows is counted as (unmatched), so nobody can add series by varying the path."""

    async def thing(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    application = Starlette(routes=[Route("/things/{id}", thing)],
                            middleware=[Middleware(RequestContextMiddleware, observe=observe_request)])

    def count(route: str, status: str) -> float:
        return REGISTRY.get_sample_value("consentry_http_request_duration_seconds_count",
                                         {"route": route, "method": "GET", "status": status}) or 0.0

    before = count("/things/{id}", "200"), count("(unmatched)", "404")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as http:
        for path in ("/things/42?x=1", "/things/43", "/nowhere/1", "/nowhere/2"):
            await http.get(path)
    assert (count("/things/{id}", "200") - before[0], count("(unmatched)", "404") - before[1]) == (2, 2)
    assert REGISTRY.get_sample_value("consentry_http_request_duration_seconds_count",
                                     {"route": "/things/42", "method": "GET", "status": "200"}) is None


async def test_sign_ins_by_result_and_rate_limit_refusals(app: Starlette, client: httpx.AsyncClient) -> None:
    """A good sign-in, wrong passwords and the attempt a spent budget refuses each count under their result; the
    refusal also counts as a rate-limit refusal of the budget that was spent: the device's own, since the client
    keeps the device cookie of its good sign-in."""
    await make_account(app, "alice")
    before = await scrape(client)

    async def login(password: str) -> None:
        await client.post("/graphql", json={"query": LOGIN, "variables": {"username": "alice", "password": password}})

    await login(PASSWORD)
    for _ in range(3):  # the budget is 2: the third wrong password is refused
        await login("wrong password")
    after = await scrape(client)
    changes = {result: value(after, "consentry_sign_ins_total", result=result)
               - value(before, "consentry_sign_ins_total", result=result)
               for result in ("success", "wrong_credentials", "rate_limited", "error")}
    assert changes == {"success": 1, "wrong_credentials": 2, "rate_limited": 1, "error": 0}
    assert {limit: value(after, "consentry_rate_limit_refusals_total", limit=limit)
            - value(before, "consentry_rate_limit_refusals_total", limit=limit)
            for limit in ("account", "device", "ip")} == {"account": 0, "device": 1, "ip": 0}


async def test_token_lifecycle_counts(app: Starlette, client: httpx.AsyncClient) -> None:
    """Issuing, refreshing, a reused refresh token (its family revoked) and RFC 7009 revocation each show."""
    person: Person = await sign_in(app)
    reg = await register(app)
    before = await scrape(client)
    first = await tokens_for(client, person, reg)
    rotated = (await refresh(client, reg, first.refresh_token or "")).json()
    assert (await refresh(client, reg, first.refresh_token or "")).json()["error"] == "invalid_grant"  # reuse
    second = await tokens_for(client, person, reg)
    assert (await revoke(client, reg, second.access_token)).status_code == 200
    after = await scrape(client)

    def change(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert rotated["access_token"]
    assert change("consentry_oauth_tokens_issued_total") == 2
    assert change("consentry_oauth_tokens_refreshed_total") == 1
    assert change("consentry_oauth_reuse_detected_total", credential="refresh_token") == 1
    # Both live token sets of the family: the first access token, and the rotated pair.
    assert change("consentry_oauth_tokens_revoked_total", reason="reuse_detected") == 2
    assert change("consentry_oauth_tokens_revoked_total", reason="revocation_endpoint") == 1


async def test_gateway_checks_by_result(app: Starlette, client: httpx.AsyncClient) -> None:
    """Each answer of /oauth/check is counted under its result."""
    person = await sign_in(app)
    tokens = await tokens_for(client, person, await register(app))
    before = await scrape(client)
    bearer = {"authorization": f"Bearer {tokens.access_token}"}
    await client.get("/oauth/check", headers={**GATEWAY, **bearer})
    await client.get("/oauth/check", headers={**GATEWAY, **bearer}, params={"scope": "dm.read"})
    await client.get("/oauth/check", headers={**GATEWAY, "authorization": "Bearer nope"})
    await client.get("/oauth/check", headers=GATEWAY)
    await client.get("/oauth/check", headers=bearer)
    after = await scrape(client)
    assert {result: value(after, "consentry_gateway_checks_total", result=result)
            - value(before, "consentry_gateway_checks_total", result=result)
            for result in ("allowed", "insufficient_scope", "invalid_token", "no_token", "refused_caller")} == {
        "allowed": 1, "insufficient_scope": 1, "invalid_token": 1, "no_token": 1, "refused_caller": 1}


async def test_pool_connections_in_use_and_waiting(app: Starlette, client: httpx.AsyncClient) -> None:
    """Connections taken from the app's pool show as in use until they return; once the pool has none left, a
    request for one shows as waiting until a connection comes back."""
    engine = app.state.consentry.database.async_engine
    base = value(await scrape(client), "consentry_db_pool_connections_in_use", pool="async")
    held: list[AsyncConnection] = []
    try:
        while True:  # take every connection the pool will give
            try:
                held.append(await asyncio.wait_for(engine.connect().start(), timeout=1))
            except TimeoutError:
                break
        samples = await scrape(client)
        assert value(samples, "consentry_db_pool_connections_in_use", pool="async") == base + len(held)
        assert value(samples, "consentry_db_pool_waiting", pool="async") == 0
        waiting = asyncio.create_task(engine.connect().start())
        await asyncio.sleep(0.1)
        assert value(await scrape(client), "consentry_db_pool_waiting", pool="async") == 1
        await held.pop().close()
        held.append(await waiting)
        assert value(await scrape(client), "consentry_db_pool_waiting", pool="async") == 0
    finally:
        for connection in held:
            await connection.close()
    assert value(await scrape(client), "consentry_db_pool_connections_in_use", pool="async") == base


async def _many_at_once(url: str, count: int) -> None:
    """``count`` requests on as many connections at once, so that both workers take some."""
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=count)) as http:
        responses = await asyncio.gather(*(http.get(url) for _ in range(count)))
    assert [response.status_code for response in responses] == [200] * count


def test_several_workers_add_up(tmp_path: Path) -> None:
    """`serve --workers 2` with PROMETHEUS_MULTIPROC_DIR: whichever worker answers /metrics reports the requests
    of both (each worker writes its own file); `serve` starts from an empty directory."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left over from an earlier run")
    port = _free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "CONSENTRY_GATEWAY_SECRET": SECRET,
           "CONSENTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'consentry.db'}", "CONSENTRY_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "2"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert not (metrics_dir / "counter_1.db").exists()
        # The second worker may still be starting when the first answers: send bursts until both have answered.
        sent, busy_until = 0, time.monotonic() + 30
        while True:
            asyncio.run(_many_at_once(f"{base}/readyz", 60))
            sent += 60
            workers = {path.name for path in metrics_dir.glob("histogram_*.db")}
            if len(workers) >= 2 or time.monotonic() > busy_until:
                break
        assert len(workers) >= 2, workers  # both workers answered requests
        for _ in range(4):  # whichever worker answers, the sum is the same
            text = httpx.get(f"{base}/metrics", headers=GATEWAY, timeout=5).text
            counts = {tuple(sorted(sample.labels.items())): sample.value
                      for family in text_string_to_metric_families(text) for sample in family.samples
                      if sample.name == "consentry_http_request_duration_seconds_count"}
            assert counts[(("method", "GET"), ("route", "/readyz"), ("status", "200"))] == sent
    finally:
        server.terminate()
        server.wait(timeout=20)
