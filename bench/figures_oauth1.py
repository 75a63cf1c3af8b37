"""G8: ``GET /api/v1/me`` signed with OAuth 1.0a (HMAC-SHA1, a fresh nonce per request) against the same request
with G3's bearer token, on the same worker, whose nonce store is Redis.

wrk sends one fixed request, and a signed request can be sent only once (its nonce is claimed), so the harness signs
a batch with oauthlib (a client library independent of the server's Authlib) just before each run, and
``bench/lua/presigned.lua`` hands them out one by one. Timestamps stay well inside the server's ±5 minutes: a batch
is signed in seconds and sent within the next few.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable

import redis
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, Client

from app.services.oauth1.nonces import KEY_PREFIX
from bench.common import Bench, Row, in_turn, ratio, spread
from bench.load import Request, WrkResult, checked, wrk

ME = "/api/v1/me"
# Requests signed per second of a run: twice the fastest bearer run seen so far in this figure (a signed request
# is not expected to be faster), and never fewer than FLOOR_RATE. Running out is an error, never a silent reuse.
HEADROOM = 2.0
FLOOR_RATE = 1000.0


class _Sides:
    """The two requests of G8, and what the runs of the signed one consumed."""

    def __init__(self, bench: Bench) -> None:
        fixture = bench.fixture
        self.bench = bench
        self.url = bench.base_url + ME  # the URL the server rebuilds from wrk's Host header, as it verifies it
        self.client = Client(fixture.oauth1_consumer_key, client_secret=fixture.oauth1_consumer_secret,
                             resource_owner_key=fixture.oauth1_token,
                             resource_owner_secret=fixture.oauth1_token_secret, signature_method=SIGNATURE_HMAC_SHA1)
        self.bearer_request = Request("GET", ME, headers={"Authorization": f"Bearer {fixture.oauth_access_token}"})
        self.pace = FLOOR_RATE / HEADROOM
        self.signed_answered = 0

    def authorization(self) -> str:
        """A fresh signature: oauthlib draws a new nonce and reads the clock on every call."""
        return str(self.client.sign(self.url, http_method="GET")[1]["Authorization"])

    def bearer(self, connections: int, seconds: float) -> WrkResult:
        result = checked(wrk(self.bench.base_url, self.bearer_request, connections=connections, seconds=seconds))
        self.pace = max(self.pace, result.rps)
        return result

    def signed(self, connections: int, seconds: float) -> WrkResult:
        # + 1 s: wrk rounds the duration, and requests still in flight when it stops were handed out too.
        count = math.ceil(HEADROOM * self.pace * (round(seconds) + 1))
        batch = [self.authorization() for _ in range(count)]
        result = checked(wrk(self.bench.base_url, Request("GET", ME), connections=connections, seconds=seconds,
                             presigned=batch))
        self.signed_answered += result.requests
        return result


def _check_answers(bench: Bench, sides: _Sides) -> None:
    """Both requests answer the same body; the same signed request sent twice is refused the second time (so every
    answered request of the runs below claimed a nonce)."""
    signed = Request("GET", ME, headers={"Authorization": sides.authorization()})
    client = bench.client()
    try:
        b_status, b_body, _ = client.send(sides.bearer_request)
        s_status, s_body, _ = client.send(signed)
        replay_status, replay_body, _ = client.send(signed)
    finally:
        client.close()
    expected = json.dumps(bench.fixture.oauth_account_id).encode()
    if b_status != 200 or s_status != 200 or s_body != b_body or expected not in s_body:
        raise RuntimeError(f"signed and bearer answers differ:\n{s_status} {s_body!r}\n{b_status} {b_body!r}")
    if replay_status != 401 or b"invalid_nonce" not in replay_body:
        raise RuntimeError(f"a replayed signed request was not refused: {replay_status} {replay_body!r}")
    sides.signed_answered += 1


def _nonces_in_redis(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    try:
        return sum(1 for _ in client.scan_iter(match=KEY_PREFIX + "*", count=10_000))
    finally:
        client.close()


def _rounds(bench: Bench, sides: _Sides, connections: int,
            measure: Callable[[WrkResult], float]) -> tuple[list[float], list[float]]:
    """Interleaved runs of both sides: (signed, bearer) figures per round, each round swapping which goes first."""
    signed: list[float] = []
    bearer: list[float] = []
    seconds = bench.seconds(5, 2)
    runs: list[tuple[Callable[[int, float], WrkResult], list[float]]] = [(sides.signed, signed),
                                                                         (sides.bearer, bearer)]
    for round_ in range(1 if bench.quick else 3):
        for run, out in in_turn(round_, runs):
            out.append(measure(run(connections, seconds)))
    return signed, bearer


def g8_oauth1(bench: Bench) -> list[Row]:
    redis_url = bench.extra.get("redis_url")
    if not redis_url:
        raise RuntimeError("G8 needs a worker whose nonce store is Redis (CONSENTRY_REDIS_URL)")
    sides = _Sides(bench)
    _check_answers(bench, sides)
    warm = bench.seconds(3, 1)
    sides.bearer(8, warm)  # first: it sets the pace the signed batches are sized by
    sides.signed(8, warm)
    rps, rps_bearer = _rounds(bench, sides, 32, lambda result: result.rps)
    p50, p50_bearer = _rounds(bench, sides, 1, lambda result: result.p50_ms)
    # Every answered signed request claimed its nonce in Redis (none fell back to the database): at least as many
    # keys as answers (requests cut off when a run ended may have claimed one too). They expire 5 minutes on.
    stored = _nonces_in_redis(redis_url)
    if stored < sides.signed_answered:
        raise RuntimeError(f"{sides.signed_answered} signed requests were answered but Redis holds {stored} nonces")
    value, reference = statistics.median(p50), statistics.median(p50_bearer)
    rate, rate_reference = statistics.median(rps), statistics.median(rps_bearer)
    nonces = f"{sides.signed_answered:,} signed requests, {stored:,} nonces in Redis"
    return [
        Row("G8", "GET /api/v1/me p50 @ c=1, OAuth 1.0a HMAC-SHA1 vs bearer", value, reference, "ms",
            ratio(value, reference), "≤ 1.25×", value / reference <= 1.25,
            "; ".join(filter(None, [spread([x / y for x, y in zip(p50, p50_bearer, strict=True)]), nonces]))),
        Row("G8", "GET /api/v1/me throughput @ c=32, OAuth 1.0a vs bearer", rate, rate_reference, "req/s",
            ratio(rate, rate_reference), "≥ 0.8×", rate / rate_reference >= 0.8,
            spread([x / y for x, y in zip(rps, rps_bearer, strict=True)])),
    ]
