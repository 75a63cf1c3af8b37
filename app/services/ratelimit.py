"""Limits on failed sign-ins, per account and per client IP (OWASP Authentication cheat sheet, Keycloak's
brute-force detection).

Counts live in memory by default and in Redis when ``CONSENTRY_REDIS_URL`` is set, so several workers share them.
Every attempt *reserves* one unit of both budgets before the password is checked: a burst of parallel attempts
cannot slip past the limit while the first ones are still hashing. A successful sign-in hands its units back, so
only failures count. If Redis is unreachable the limiter falls back to an in-process count rather than letting
every attempt through or locking everybody out, and keeps to it for ``SHARED_RETRY_SECONDS`` before asking Redis
again.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.storage import storage_from_string

from app.services.errors import RateLimited

log = logging.getLogger(__name__)

TOO_MANY_ATTEMPTS = "Too many failed sign-in attempts. Try again later."
_NO_IP = "unknown"


def _async_storage_url(redis_url: str) -> str:
    # limits picks its async Redis client by scheme; redis-py (a dependency of ours) is selected below.
    if redis_url.startswith(("redis://", "rediss://", "redis+unix://")):
        return f"async+{redis_url}"
    return redis_url


class LocalWindows:
    """Fixed-window counts kept in this process, with the two calls of limits' storages that the limiter uses.

    A window starts at a key's first count and lasts the limit's period, as in limits' own storages. Not limits'
    ``MemoryStorage``: that one starts an expiry task and walks every key it holds on each count, so a sign-in
    cost more the more usernames and addresses had been seen. Here expired windows are dropped in one sweep once
    the number of keys has doubled since the last one, which keeps each count O(1) on average.
    """

    _FIRST_SWEEP_AT = 1024

    def __init__(self) -> None:
        self._windows: dict[str, list[float]] = {}  # key → [ends at (epoch seconds), count]
        self._sweep_at = self._FIRST_SWEEP_AT

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        window = self._windows.get(key)
        if window is None or window[0] <= now:
            if amount < 0:  # a refund for a window that has already ended: nothing is left to hand back
                return 0
            self._sweep(now)
            window = self._windows[key] = [now + expiry, 0]
        window[1] += amount
        return int(window[1])

    async def get_expiry(self, key: str) -> float:
        window = self._windows.get(key)
        return window[0] if window is not None else time.time()

    def _sweep(self, now: float) -> None:
        if len(self._windows) < self._sweep_at:
            return
        self._windows = {key: window for key, window in self._windows.items() if window[0] > now}
        self._sweep_at = max(self._FIRST_SWEEP_AT, 2 * len(self._windows))


Counts = Storage | LocalWindows


@dataclass(frozen=True)
class Attempt:
    """One reserved sign-in attempt: keys it was counted under, so a success can hand the units back."""

    keys: tuple[tuple[RateLimitItem, str], ...]
    storage: Counts


# After the shared storage fails, sign-ins count in this process for this long before Redis is tried again.
SHARED_RETRY_SECONDS = 30


class LoginLimiter:
    """Budgets of failed sign-ins for each account (by username, known or not) and each client IP."""

    def __init__(self, *, per_account: str, per_ip: str, redis_url: str | None = None,
                 key_prefix: str = "consentry") -> None:
        self.per_account = parse(per_account)
        self.per_ip = parse(per_ip)
        self.key_prefix = key_prefix
        self._fallback = LocalWindows()
        self._storage: Counts = self._fallback
        self._shared_failed_at: float | None = None  # monotonic time of the last failure of the shared storage
        if redis_url:
            self._storage = storage_from_string(  # type: ignore[assignment]
                _async_storage_url(redis_url), implementation="redispy", key_prefix=key_prefix,
                socket_connect_timeout=2, socket_timeout=2)

    @property
    def shared(self) -> bool:
        """True when counts are shared through Redis rather than kept in this process."""
        return self._storage is not self._fallback

    def _keys(self, username_key: str, ip_address: str | None) -> tuple[tuple[RateLimitItem, str], ...]:
        return ((self.per_account, f"login:account:{username_key}"),
                (self.per_ip, f"login:ip:{ip_address or _NO_IP}"))

    async def reserve(self, *, username_key: str, ip_address: str | None) -> Attempt:
        """Count one attempt against both budgets, or raise ``RateLimited`` (nothing counted) when one is spent."""
        keys = self._keys(username_key, ip_address)
        failed_at = self._shared_failed_at
        if failed_at is not None and time.monotonic() - failed_at < SHARED_RETRY_SECONDS:
            # Redis failed a moment ago: a Redis that accepts connections but never answers would otherwise cost
            # every sign-in its 2-second timeout (and a document of ten aliased logins twenty seconds).
            return await self._reserve(self._fallback, keys)
        try:
            attempt = await self._reserve(self._storage, keys)
        except RateLimited:
            raise
        except Exception as exc:  # Redis down or timing out: keep limiting, per process, instead of failing open
            self._shared_failed_at = time.monotonic()
            log.warning("shared rate-limit storage unavailable (%s); counting in this process for %d s",
                        type(exc).__name__, SHARED_RETRY_SECONDS)
            return await self._reserve(self._fallback, keys)
        self._shared_failed_at = None
        return attempt

    async def _reserve(self, storage: Counts, keys: tuple[tuple[RateLimitItem, str], ...]) -> Attempt:
        taken: list[tuple[RateLimitItem, str]] = []
        for item, key in keys:  # a fixed window, as limits' FixedWindowRateLimiter.hit counts it
            if await storage.incr(item.key_for(key), item.get_expiry(), amount=1) <= item.amount:
                taken.append((item, key))
                continue
            # Over budget: this attempt never reaches the password check, so it leaves no count behind.
            await storage.incr(item.key_for(key), item.get_expiry(), amount=-1)
            for done_item, done_key in taken:
                await storage.incr(done_item.key_for(done_key), done_item.get_expiry(), amount=-1)
            reset_at = await storage.get_expiry(item.key_for(key))
            raise RateLimited(TOO_MANY_ATTEMPTS, retry_after=max(1, math.ceil(reset_at - time.time())),
                              field="username")
        return Attempt(keys=tuple(taken), storage=storage)

    async def succeeded(self, attempt: Attempt) -> None:
        """The credentials were right: the attempt was not a failure, so its units go back."""
        try:
            for item, key in attempt.keys:
                await attempt.storage.incr(item.key_for(key), item.get_expiry(), amount=-1)
        except Exception as exc:  # a refund that cannot be written only makes the limit slightly stricter
            log.warning("could not refund a successful sign-in attempt (%s)", type(exc).__name__)
