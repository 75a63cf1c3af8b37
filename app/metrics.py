"""The numbers an operator watches, as Prometheus metrics (prometheus-client), exposed at ``/metrics``
(``app.http.metrics``).

Every metric is a module-level object: updating one is an increment on a value that prometheus-client guards with
its own per-process lock, so nothing here is shared between workers or waits on another process. Children of
labelled metrics that the hot paths use are looked up once, here, rather than on every call (``labels()`` takes the
metric's lock and builds a tuple).

Several workers (``serve --workers N``, or several ``serve`` processes on one host): set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory of each ``serve``'s own before it starts (``serve`` empties it,
deploy/systemd gives each instance one). prometheus-client then keeps each worker's values in a memory-mapped file
there, and ``/metrics`` adds up every worker's; the gauges count only workers that are alive (``livesum``).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import Engine, event

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ

# Seconds: the gateway check and the token endpoint answer in milliseconds, a sign-in hashes for about 50 ms.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "consentry_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template (not the raw path), method and status.",
    ["route", "method", "status"], buckets=LATENCY_BUCKETS)

SIGN_INS = Counter(
    "consentry_sign_ins", "Sign-in attempts (form and GraphQL login) by result: success, wrong_credentials "
    "(or a disabled account), rate_limited, error (ours: the database unavailable).", ["result"])
SIGN_IN_SUCCESS, SIGN_IN_WRONG, SIGN_IN_LIMITED, SIGN_IN_ERROR = (
    SIGN_INS.labels(result) for result in ("success", "wrong_credentials", "rate_limited", "error"))

RATE_LIMIT_REFUSALS = Counter(
    "consentry_rate_limit_refusals", "Sign-in or password-change attempts refused (429) because a budget of "
    "failures was spent, by the budget: account (unknown devices), device (a known device) or ip.", ["limit"])

TOKENS_ISSUED = Counter("consentry_oauth_tokens_issued", "Token sets issued for an authorization code.")
TOKENS_REFRESHED = Counter("consentry_oauth_tokens_refreshed", "Token sets issued by rotating a refresh token.")
TOKENS_REVOKED = Counter(
    "consentry_oauth_tokens_revoked", "Token sets (an access token with its refresh token) ended before their "
    "time, by reason: access_revoked (the person revoked the app, or changed the password), revocation_endpoint "
    "(RFC 7009), reuse_detected (a rotated refresh token presented again), code_replay (a code redeemed twice).",
    ["reason"])
REUSE_DETECTED = Counter(
    "consentry_oauth_reuse_detected", "Credentials presented again after use: a rotated refresh token (its "
    "family is revoked) or a redeemed authorization code (what it issued is revoked).", ["credential"])
REFRESH_TOKEN_REUSE, CODE_REUSE = (REUSE_DETECTED.labels(kind) for kind in ("refresh_token", "authorization_code"))

GATEWAY_CHECKS = Counter(
    "consentry_gateway_checks", "Gateway checks (/oauth/check) by result: allowed, no_token, invalid_token, "
    "insufficient_scope, refused_caller (not the gateway).", ["result"])
CHECK_ALLOWED, CHECK_NO_TOKEN, CHECK_INVALID, CHECK_SCOPE, CHECK_REFUSED = (
    GATEWAY_CHECKS.labels(result)
    for result in ("allowed", "no_token", "invalid_token", "insufficient_scope", "refused_caller"))

POOL_IN_USE = Gauge(
    "consentry_db_pool_connections_in_use", "Database connections checked out of the app's pools: async (requests) "
    "and sync (Authlib's and the password threads).", ["pool"], multiprocess_mode="livesum")
POOL_WAITING = Gauge(
    "consentry_db_pool_waiting", "Requests waiting for a connection of the async pool (the sync pool has a "
    "connection for each of its threads, so nothing waits there).", ["pool"], multiprocess_mode="livesum")
ASYNC_POOL_WAITING = POOL_WAITING.labels("async")

for _series in (TOKENS_ISSUED, TOKENS_REFRESHED):
    _series.inc(0)  # every series exists from the start, so a rate() over it never starts from nothing
for _reason in ("access_revoked", "revocation_endpoint", "reuse_detected", "code_replay"):
    TOKENS_REVOKED.labels(_reason)
for _limit in ("account", "device", "ip"):
    RATE_LIMIT_REFUSALS.labels(_limit)


def watch_pool(engine: Engine, pool: str) -> None:
    """Count ``engine``'s connections in use under the label ``pool``.

    A checkout that fails after the pool took the connection (a ping refusing it, the server gone) is checked in
    without a checkout event having counted it, so only connections counted at checkout are uncounted at checkin:
    the gauge cannot drift through an outage. Register after any checkout listener that may refuse a connection
    (``app.db.engines``' ping after idle): listeners run in order, so a refused attempt is never counted.
    """
    in_use = POOL_IN_USE.labels(pool)
    counted: set[int] = set()  # ids of the connection records checked out and counted; add/discard are atomic

    def checked_out(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        counted.add(id(record))
        in_use.inc()

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        if id(record) in counted:
            counted.discard(id(record))
            in_use.dec()

    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "checkin", checked_in)


def process_exiting() -> None:
    """Drop this worker's live gauges from the multi-process directory as it stops (its counters stay summed)."""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())
