"""G4 (sign-in cost and its effect on the page) and G5 (bulk revocations vs a hand-written bulk floor)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy import Uuid, bindparam, create_engine, text

from bench.common import ROOT, SERVER_CORE, SIGNED_IN_ONLY, Bench, Row, graphql, ratio
from bench.dataset import G5_SIZES
from bench.figures_oauth import g3_oauth
from bench.figures_page import page_requests
from bench.load import Request, checked, median_ms, wrk

MUTATION_STATEMENT_LIMIT = 4
REVOKE = "mutation Revoke($id: ID!) { revokeAccess(input: {appId: $id}) { app { id name } userErrors { code } } }"
LOGOUT_OTHERS = "mutation LogOutOthers { logoutOtherSessions { loggedOutCount userErrors { code } } }"
LOGIN = ("mutation LogIn($username: String!, $password: String!) { login(input: {username: $username, "
         "password: $password}) { token userErrors { code message } } }")
_ACCOUNT = bindparam("account_id", type_=Uuid())
_RESET_REVOKE = [text(sql).bindparams(_ACCOUNT) for sql in (
    "UPDATE grants SET revoked_at = NULL WHERE account_id = :account_id",
    "UPDATE oauth_tokens SET revoked_at = NULL WHERE account_id = :account_id",
)]
_RESET_LOGOUT = [text("UPDATE login_sessions SET revoked_at = NULL, revoked_reason = NULL "
                      "WHERE account_id = :account_id").bindparams(_ACCOUNT)]

__all__ = ["g3_oauth", "g4_login", "g5_revocation"]


def g5_revocation(bench: Bench) -> list[Row]:
    engine = create_engine(bench.extra["sync_url"], connect_args={"timeout": 10} if bench.dialect == "sqlite" else {})
    fixture = bench.fixture

    def resetter(statements: list[object], account_id: str) -> Callable[[], None]:
        def reset() -> None:
            with engine.begin() as conn:
                for statement in statements:
                    conn.execute(statement, {"account_id": uuid.UUID(account_id)})  # type: ignore[arg-type]
        return reset

    cases = []
    for size in G5_SIZES:
        cases.append((f"revokeAccess, app with {size:,} token(s)", fixture.revoke_token,
                      graphql(REVOKE, fixture.revoke_token, {"id": fixture.revoke_apps[size]}),
                      graphql(REVOKE, fixture.revoke_token, {"id": fixture.revoke_apps[size]},
                              path="/bench/floor/revoke"),
                      resetter(_RESET_REVOKE, fixture.revoke_account_id)))
    for size in G5_SIZES:
        token = fixture.logout_tokens[size]
        cases.append((f"logoutOtherSessions, {size:,} other session(s)", token, graphql(LOGOUT_OTHERS, token),
                      graphql(LOGOUT_OTHERS, token, path="/bench/floor/logout-others"),
                      resetter(_RESET_LOGOUT, fixture.logout_account_ids[size])))
    rows: list[Row] = []
    counts: dict[str, list[int]] = {"revokeAccess": [], "logoutOtherSessions": []}
    client = bench.client()
    try:
        for label, token, gql, floor, reset in cases:
            # Twice: the first request after a minute also writes last_active_at, which no figure is about.
            bench.statements(client, graphql(SIGNED_IN_ONLY, token))
            signed_in_cost, _ = bench.statements(client, graphql(SIGNED_IN_ONLY, token))
            reset()
            statements, gql_body = bench.statements(client, gql)
            reset()
            _, floor_body = bench.statements(client, floor)
            if gql_body != floor_body or b'"userErrors":[]' not in gql_body:
                raise RuntimeError(f"{label}: floor differs from GraphQL:\n{gql_body!r}\n{floor_body!r}")
            counts[label.split(",")[0]].append(statements - signed_in_cost)
            times: dict[str, list[float]] = {"gql": [], "floor": []}
            for _ in range(10 if bench.quick else 40):
                for name, request in (("gql", gql), ("floor", floor)):
                    reset()
                    status, _, seconds = client.send(request)
                    if status != 200:
                        raise RuntimeError(f"{label}: {request.path} answered {status}")
                    times[name].append(seconds)
            p50_gql, p50_floor = median_ms(times["gql"]), median_ms(times["floor"])
            rows.append(Row("G5", f"{label}: p50", p50_gql, p50_floor, "ms", ratio(p50_gql, p50_floor),
                            "≤ 1.5× floor", p50_gql / p50_floor <= 1.5,
                            f"{statements - signed_in_cost} stmts + {signed_in_cost} sign-in"))
    finally:
        client.close()
        engine.dispose()
    for operation, found in counts.items():
        equal = len(set(found)) == 1
        rows.append(Row("G5", f"{operation}: statements, 1 vs 1,000", max(found), None, "stmts", None,
                        f"equal, ≤ {MUTATION_STATEMENT_LIMIT}", equal and max(found) <= MUTATION_STATEMENT_LIMIT,
                        " / ".join(map(str, found)) + " (beyond the 1 sign-in lookup every request makes)"))
    return rows


_BARE_VERIFY = """
import sys, time
from app.services.passwords import _hasher as hasher  # the configured parameters, exactly
stored = hasher.hash("bench-password")
for line in sys.stdin:
    started = time.perf_counter()
    hasher.verify(stored, "bench-password")
    print(time.perf_counter() - started, flush=True)
"""


class BareVerifier:
    """argon2 verify alone, in a process of its own on the server's core, one timing per call; calls are
    interleaved with sign-ins so both see the same machine."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(["taskset", "-c", SERVER_CORE, sys.executable, "-c", _BARE_VERIFY], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def seconds(self) -> float:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("verify\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def _login(bench: Bench, index: int) -> Request:
    usernames = bench.fixture.login_usernames
    return graphql(LOGIN, None, {"username": usernames[index % len(usernames)], "password": bench.fixture.password})


def _signed_in(status: int, body: bytes) -> bool:
    return status == 200 and bool(json.loads(body)["data"]["login"]["token"])


def _paced_logins(bench: Bench, rate: float, stop: threading.Event, done: list[float]) -> None:
    """Sign in ``rate`` times a second until ``stop`` (one connection; each start is scheduled, not chained)."""
    client = bench.client()
    interval, next_start, index = 1 / rate, time.perf_counter(), 0
    try:
        while not stop.is_set():
            status, body, seconds = client.send(_login(bench, index))
            if not _signed_in(status, body):
                raise RuntimeError(f"login under load failed: {status} {body[:200]!r}")
            done.append(seconds)
            index += 1
            next_start += interval
            time.sleep(max(0.0, next_start - time.perf_counter()))
    finally:
        client.close()


def g4_login(bench: Bench) -> list[Row]:
    samples = 10 if bench.quick else 30
    client, verifier = bench.client(), BareVerifier()
    logins, verifies = [], []
    try:
        for index in range(samples + 2):  # the first two of each warm up
            status, body, seconds = client.send(_login(bench, index))
            if not _signed_in(status, body):
                raise RuntimeError(f"login failed: {status} {body[:300]!r}")
            logins.append(seconds)
            verifies.append(verifier.seconds())
    finally:
        client.close()
        verifier.close()
    login_ms, verify_ms = median_ms(logins[2:]), median_ms(verifies[2:])
    capacity = checked(wrk(bench.base_url, _login(bench, 0), connections=2, seconds=bench.seconds(6, 3))).rps

    page, _ = page_requests(bench)
    duration = bench.seconds(10, 4)
    idle = checked(wrk(bench.base_url, page, connections=1, seconds=duration))
    stop, done = threading.Event(), []
    driver = threading.Thread(target=_paced_logins, args=(bench, capacity / 2, stop, done))
    driver.start()
    try:
        loaded = checked(wrk(bench.base_url, page, connections=1, seconds=duration))
    finally:
        stop.set()
        driver.join()
    achieved = len(done) / duration
    return [
        Row("G4", "login p50 vs bare argon2 verify", login_ms, verify_ms, "ms", ratio(login_ms, verify_ms),
            "≤ 1.15×", login_ms / verify_ms <= 1.15, f"login capacity {capacity:.1f}/s"),
        Row("G4", "page p99 @ c=1 with logins at ½ capacity vs idle", loaded.p99_ms, idle.p99_ms, "ms",
            ratio(loaded.p99_ms, idle.p99_ms), "≤ 2×", loaded.p99_ms / idle.p99_ms <= 2,
            f"{achieved:.1f} logins/s; p50 {loaded.p50_ms:.2f} vs {idle.p50_ms:.2f} ms"),
    ]
