"""deploy/ run for real (issue 21, SECURITY.md K56): nginx balances three Consentry processes on one PostgreSQL behind
PgBouncer in transaction mode, with Redis, and guards a platform API with ``auth_request`` to ``/oauth/check``."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from alembic.script import ScriptDirectory
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from app.db.migrate import MIGRATIONS_DIR, head_revision
from app.main import create_app
from app.services.apps import RegisteredApp
from app.settings import Settings
from tests.deploy.conftest import ATTEMPTS_PER_ACCOUNT
from tests.deploy.stack import Deployment, Instance
from tests.factories import LOGIN, PASSWORD, graphql_data, login, make_account
from tests.oauth.helpers import Person, register, tokens_for

pytestmark = pytest.mark.deploy

# Revoke-then-call trials: the issue asks for 1,000 of 1,000. A trial is seven requests through nginx and takes
# 74–107 ms on the shared two-core machine it was written on (100 trials: 7–11 s; 1,000: 74 s), so CI runs what
# fits in about a minute; CONSENTRY_DEPLOY_TRIALS=1000 runs the full count.
TRIALS = int(os.environ.get("CONSENTRY_DEPLOY_TRIALS", "600"))
API = "/platform-api/timeline"
REVOKE = "mutation($id: ID!) { revokeAccess(input: {appId: $id}) { userErrors { code } } }"


@dataclass(frozen=True)
class World:
    """What the tests act with: an account signed in through nginx, and a registered app."""

    http: httpx.AsyncClient
    person: Person
    reg: RegisteredApp


@pytest.fixture(scope="module")
async def setup_app(stack: Deployment) -> AsyncIterator[Starlette]:
    """An app object on the same database, only to create accounts and register apps as the test's setup."""
    application = create_app(Settings(database_url=stack.database_url, base_url=stack.nginx_url))
    yield application
    await application.state.consentry.database.dispose()


@pytest.fixture
async def world(stack: Deployment, setup_app: Starlette) -> AsyncIterator[World]:
    username = f"alice-{uuid.uuid4().hex[:8]}"  # Redis' counts outlive a run: a name of this run's own
    account = await make_account(setup_app, username)
    reg = await register(setup_app, scopes=["tweet.read", "users.read", "offline.access"])
    async with httpx.AsyncClient(base_url=stack.nginx_url, timeout=30) as http:
        token = await login(http, username)
        yield World(http=http, person=Person(account=account, token=token), reg=reg)


def _bearer(token: str, request_id: str | None = None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **({"x-request-id": request_id} if request_id else {})}


def _served_by(instances: list[Instance], path: str, request_ids: list[str]) -> list[int]:
    """The port of the Consentry process whose access line for ``path`` carries each request ID. A process writes
    the line just after its answer has gone out, so the last ones may take a moment to appear."""
    deadline = time.monotonic() + 10
    while True:
        found = {line["request_id"]: instance.port for instance in instances for line in instance.log_lines()
                 if line.get("logger") == "consentry.access" and line.get("path") == path and "request_id" in line}
        if all(request_id in found for request_id in request_ids) or time.monotonic() > deadline:
            return [found[request_id] for request_id in request_ids]
        time.sleep(0.1)


def test_migrations_ran_once_when_three_processes_started_together(stack: Deployment) -> None:
    """Three `serve` processes started at once on an empty database: each migration ran in exactly one of them, and
    all three are ready at the newest revision."""
    ran = [line["message"] for instance in stack.instances for line in instance.log_lines()
           if line.get("logger") == "alembic.runtime.migration" and line["message"].startswith("Running upgrade")]
    every = sorted(revision.revision for revision in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions())
    assert sorted(message.split("->")[1].split(",")[0].strip() for message in ran) == every
    for instance in stack.instances:
        ready = httpx.get(f"{instance.url}/readyz", timeout=10)
        assert (ready.status_code, ready.json()["revision"]) == (200, head_revision())


async def test_a_real_client_through_nginx(world: World, stack: Deployment) -> None:
    """A client authorizes through nginx and calls the guarded API, which learns who the token acts for from the
    gateway (never from the client); a token without the API's scope is 403 insufficient_scope with its challenge;
    no token is 401 with the Bearer challenge; the check and the metrics are not reachable from outside."""
    http = world.http
    tokens = await tokens_for(http, world.person, world.reg, scope="tweet.read users.read")
    spoofed = {"x-consentry-account": "someone-else", "x-consentry-scopes": "dm.write",
               "x-consentry-gateway-secret": "guess"}
    answer = await http.get(API, headers={**_bearer(tokens.access_token), **spoofed})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"path": "/timeline", "headers": {
        "x-consentry-account": str(world.person.account.id), "x-consentry-username": world.person.account.username,
        "x-consentry-client": world.reg.app.client_id, "x-consentry-scopes": "tweet.read users.read",
        "authorization": None}}

    narrow = await tokens_for(http, world.person, world.reg, scope="users.read")
    refused = await http.get(API, headers=_bearer(narrow.access_token))
    assert refused.status_code == 403
    assert refused.headers["www-authenticate"] == \
        'Bearer realm="consentry", error="insufficient_scope", scope="tweet.read"'
    missing = await http.get(API)
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, 'Bearer realm="consentry"')
    for path in ("/oauth/check", "/metrics", "/_consentry/check"):
        outside = await http.get(path, headers={**_bearer(tokens.access_token),
                                                "x-consentry-gateway-secret": stack.gateway_secret})
        assert outside.status_code == 404, path


async def test_revoked_then_refused_by_another_process_every_time(world: World, stack: Deployment) -> None:
    """Each trial: authorize, call the API (200), revoke the app through GraphQL via nginx, and call again at once,
    with no sleep: the very next call is 401, and its check was answered by another Consentry process than the
    revocation. Every trial, none missed."""
    http, person, reg = world.http, world.person, world.reg
    first = await tokens_for(http, person, reg, scope="tweet.read")
    apps = await graphql_data(http, "{ viewer { connectedApps { nodes { app { id } } } } }", token=person.token)
    app_id = apps["viewer"]["connectedApps"]["nodes"][0]["app"]["id"]
    outcomes: list[tuple[int, int]] = []
    tokens = first
    started = time.monotonic()
    for trial in range(TRIALS):
        if trial:
            tokens = await tokens_for(http, person, reg, scope="tweet.read")
        before = (await http.get(API, headers=_bearer(tokens.access_token))).status_code
        # Seven requests a trial (not a multiple of three) turn nginx's round robin on by one process each time,
        # so that every process revokes, and checks, in its turn.
        assert (await http.get("/healthz")).status_code == 200
        revoked = await http.post("/graphql", json={"query": REVOKE, "variables": {"id": app_id}},
                                  headers={**person.headers, "x-request-id": f"trial-{trial:05d}-revoke"})
        assert revoked.json() == {"data": {"revokeAccess": {"userErrors": []}}}, revoked.text
        after = await http.get(API, headers=_bearer(tokens.access_token, f"trial-{trial:05d}-check"))
        outcomes.append((before, after.status_code))
    elapsed = time.monotonic() - started
    stack.timings[f"{TRIALS} revoke-then-call trials (s)"] = elapsed
    print(f"\n{TRIALS} revoke-then-call trials through nginx: {elapsed:.1f} s ({elapsed / TRIALS * 1000:.0f} ms each)")
    assert outcomes == [(200, 401)] * TRIALS

    pairs = list(zip(_served_by(stack.instances, "/graphql", [f"trial-{n:05d}-revoke" for n in range(TRIALS)]),
                     _served_by(stack.instances, "/oauth/check", [f"trial-{n:05d}-check" for n in range(TRIALS)]),
                     strict=True))
    assert [n for n, (revoker, checker) in enumerate(pairs) if revoker == checker] == []
    assert len({revoker for revoker, _ in pairs}) == len({checker for _, checker in pairs}) == 3  # all took turns


async def test_sign_in_limits_hold_across_the_three_processes(stack: Deployment, setup_app: Starlette) -> None:
    """Wrong passwords answered by three different processes spend one budget (shared through Redis): the next
    attempt is refused (429 with Retry-After) through nginx and by each process directly, the right password too."""
    username = f"bob-{uuid.uuid4().hex[:8]}"
    await make_account(setup_app, username)

    async def attempt(http: httpx.AsyncClient, password: str, request_id: str | None = None) -> httpx.Response:
        return await http.post("/graphql", json={"query": LOGIN, "variables": {"username": username,
                                                                              "password": password}},
                               headers={"x-request-id": request_id} if request_id else {})

    async with httpx.AsyncClient(base_url=stack.nginx_url, timeout=30) as http:
        ids = [f"{username}-guess-{n}" for n in range(ATTEMPTS_PER_ACCOUNT)]
        for request_id in ids:
            failed = await attempt(http, "wrong password", request_id)
            assert failed.json()["data"]["login"]["userErrors"][0]["code"] == "INVALID"
        assert len(set(_served_by(stack.instances, "/graphql", ids))) == 3  # nginx spread them over the three
        refused = await attempt(http, PASSWORD)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    for instance in stack.instances:
        async with httpx.AsyncClient(base_url=instance.url, timeout=30) as direct:
            assert (await attempt(direct, PASSWORD)).status_code == 429


async def test_each_process_reports_its_metrics_to_the_gateway_only(world: World, stack: Deployment) -> None:
    """Every process serves /metrics to a caller from the gateway's network with the secret, and only then; the
    gateway checks the trials made are counted across the three."""
    tokens = await tokens_for(world.http, world.person, world.reg, scope="tweet.read")
    assert (await world.http.get(API, headers=_bearer(tokens.access_token))).status_code == 200
    allowed = 0.0
    for instance in stack.instances:
        async with httpx.AsyncClient(base_url=instance.url, timeout=10) as direct:
            assert (await direct.get("/metrics")).status_code == 403
            response = await direct.get("/metrics", headers={"x-consentry-gateway-secret": stack.gateway_secret})
        assert response.status_code == 200
        samples: dict[str, Any] = {
            sample.name + str(sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}
        allowed += samples.get("consentry_gateway_checks_total[('result', 'allowed')]", 0.0)
    assert allowed >= 1
