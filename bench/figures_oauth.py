"""G3: introspection throughput vs a hand-written introspection; ``/api/v1/me`` with vs without the bearer check."""

from __future__ import annotations

import base64
import json
import statistics
from urllib.parse import quote, urlencode

from bench.common import Bench, Row, in_turn, ratio, spread
from bench.load import Request, checked, wrk


def _introspection(bench: Bench, path: str) -> Request:
    fixture = bench.fixture
    basic = base64.b64encode(f"{quote(fixture.oauth_client_id)}:{quote(fixture.oauth_client_secret)}".encode())
    body = urlencode({"token": fixture.oauth_access_token, "token_type_hint": "access_token"}).encode()
    return Request("POST", path, body, {"Authorization": f"Basic {basic.decode()}",
                                        "Content-Type": "application/x-www-form-urlencoded"})


def _same_answers(bench: Bench, first: Request, second: Request, must_contain: bytes) -> None:
    client = bench.client()
    try:
        a_status, a_body, _ = client.send(first)
        b_status, b_body, _ = client.send(second)
    finally:
        client.close()
    if a_status != 200 or a_body != b_body or must_contain not in a_body:
        raise RuntimeError(f"{first.path} and {second.path} differ:\n{a_status} {a_body!r}\n{b_status} {b_body!r}")


def _rounds(bench: Bench, first: Request, second: Request, connections: int) -> tuple[list[float], list[float]]:
    """Interleaved runs of both requests: (throughput or p50 of first, of second) per round."""
    for request in (first, second):
        wrk(bench.base_url, request, connections=8, seconds=bench.seconds(3, 1))
    a: list[float] = []
    b: list[float] = []
    for round_ in range(1 if bench.quick else 3):
        for request, out in in_turn(round_, [(first, a), (second, b)]):
            result = checked(wrk(bench.base_url, request, connections=connections, seconds=bench.seconds(5, 2)))
            out.append(result.rps if connections > 1 else result.p50_ms)
    return a, b


def g3_oauth(bench: Bench) -> list[Row]:
    introspect, floor = _introspection(bench, "/oauth/introspect"), _introspection(bench, "/bench/floor/introspect")
    _same_answers(bench, introspect, floor, b'"active":true')
    rps, rps_floor = _rounds(bench, introspect, floor, connections=32)
    auth = {"Authorization": f"Bearer {bench.fixture.oauth_access_token}"}
    me, bare = Request("GET", "/api/v1/me", headers=auth), Request("GET", "/bench/me-unguarded")
    _same_answers(bench, me, bare, json.dumps(bench.fixture.oauth_account_id).encode())
    p50, p50_bare = _rounds(bench, me, bare, connections=1)
    value, reference = statistics.median(rps), statistics.median(rps_floor)
    me_value, me_reference = statistics.median(p50), statistics.median(p50_bare)
    return [
        Row("G3", "POST /oauth/introspect throughput @ c=32 vs hand-written", value, reference, "req/s",
            ratio(value, reference), "≥ 0.7×", value / reference >= 0.7,
            spread([x / y for x, y in zip(rps, rps_floor, strict=True)])),
        Row("G3", "GET /api/v1/me p50 @ c=1, bearer check vs none", me_value, me_reference, "ms",
            ratio(me_value, me_reference), "≤ 1.1×", me_value / me_reference <= 1.1,
            spread([x / y for x, y in zip(p50, p50_bare, strict=True)])),
    ]
