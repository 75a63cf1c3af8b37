"""Limits on failed sign-ins that stop guessers without locking an account's owner out (OWASP Authentication
cheat sheet: "Account Lockout" and "Device Cookies"; Keycloak's brute-force detection).

Every attempt must fit two budgets of failures, both fixed windows that start at their first count:

- **its subject**: a *known device* (one whose device cookie, ``known_devices``, says it signed in to this account
  before; for a password change, the signed-in session) has a budget of its own, ``per_device`` (by default the
  same size as ``per_account``). Every other device shares the account's budget, ``per_account``, counted by
  username key (so ``ALICE``, `` alice `` and ``alice\\t`` count as one account, and unknown usernames are limited
  the same way). A stranger's guesses therefore never touch the budget of the owner's devices.
- **the client IP**: ``per_ip``, against one address trying many accounts. It refuses outright while spent. A
  known device is not held by it: its own budget already bounds it, and the address may be shared.

A subject's spent budget *slows* attempts rather than refusing them for the rest of the window: every attempt
also counts in the subject's current interval of ``slowdown_seconds`` (a fixed window of its own, starting at the
first attempt after the previous interval ended), and an attempt over budget is let through only as the first
attempt of its interval. So, for the defaults (``10/15 minutes``, 60 seconds): ten attempts; the next is taken
once the interval that holds the tenth has ended (at most 60 seconds later), then at most one a minute, until the
15-minute window ends and a new one allows ten more. That is at most 10 + 15 = 25 guesses in each 15-minute window,
per account from all unknown devices together, and per known device. Parallel attempts cannot slip past: each
takes its units before its password is checked, and only the first attempt of an interval passes over budget. A
refused attempt answers ``RateLimited`` with the seconds until an attempt would be taken again (the
``Retry-After``), and leaves nothing counted.

Only failures count: a successful sign-in hands its units back (``hand_back``), and so does an attempt that failed
on our side (the database unavailable): a 503 costs the person nothing.

Counts live in memory by default and in Redis when ``CONSENTRY_REDIS_URL`` is set, so several workers share them.
If Redis is unreachable the limiter falls back to an in-process count rather than letting every attempt through or
locking everybody out, and keeps to it for ``SHARED_RETRY_SECONDS`` before asking Redis again.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.storage import storage_from_string

from app.services.errors import DomainError, RateLimited
from app.services.known_devices import KnownDevice

log = logging.getLogger(__name__)

TOO_MANY_ATTEMPTS = "Too many failed sign-in attempts. Try again later."
_NO_IP = "unknown"


def clock() -> float:
    """Epoch seconds for the in-process windows and for ``Retry-After`` (tests move it forward)."""
    return time.time()


def _async_storage_url(redis_url: str) -> str:
    # limits picks its async Redis client by scheme; redis-py (a dependency of ours) is selected below.
    if redis_url.startswith(("redis://", "rediss://", "redis+unix://")):
        return f"async+{redis_url}"
    return redis_url


class LocalWindows:
    """Fixed-window counts kept in this process, with the calls of limits' storages that the limiter uses.

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
        now = clock()
        window = self._windows.get(key)
        if window is None or window[0] <= now:
            if amount < 0:  # a refund for a window that has already ended: nothing is left to hand back
                return 0
            self._sweep(now)
            window = self._windows[key] = [now + expiry, 0]
        window[1] += amount
        return int(window[1])

    async def get(self, key: str) -> int:
        window = self._windows.get(key)
        return int(window[1]) if window is not None and window[0] > clock() else 0

    async def get_expiry(self, key: str) -> float:
        window = self._windows.get(key)
        return window[0] if window is not None else clock()

    def _sweep(self, now: float) -> None:
        if len(self._windows) < self._sweep_at:
            return
        self._windows = {key: window for key, window in self._windows.items() if window[0] > now}
        self._sweep_at = max(self._FIRST_SWEEP_AT, 2 * len(self._windows))


Counts = Storage | LocalWindows
Unit = tuple[RateLimitItem, str]  # one count: the limit and the key it is counted under


@dataclass(frozen=True)
class _Budget:
    """``item`` attempts per window under ``key``; with ``slowed``, one more per slowed interval once spent."""

    item: RateLimitItem
    key: str
    slowed: RateLimitItem | None = None

    @property
    def slowed_key(self) -> str:
        return f"{self.key}:slowed"


@dataclass(frozen=True)
class Attempt:
    """One reserved sign-in attempt: the units it counted, so a success (or our failure) can hand them back."""

    keys: tuple[Unit, ...]
    storage: Counts


# After the shared storage fails, sign-ins count in this process for this long before Redis is tried again.
SHARED_RETRY_SECONDS = 30


async def _incr(storage: Counts, unit: Unit, amount: int) -> int:
    item, key = unit
    return await storage.incr(item.key_for(key), item.get_expiry(), amount=amount)


async def _give_back(storage: Counts, units: list[Unit]) -> None:
    for unit in units:
        await _incr(storage, unit, -1)


class LoginLimiter:
    """Budgets of failed sign-ins for each account's unknown devices, each known device, and each client IP."""

    def __init__(self, *, per_account: str, per_ip: str, per_device: str | None = None, slowdown_seconds: int = 60,
                 redis_url: str | None = None, key_prefix: str = "consentry") -> None:
        self.per_account = parse(per_account)
        self.per_device = parse(per_device) if per_device else self.per_account
        self.per_ip = parse(per_ip)
        self.slowed = parse(f"1/{slowdown_seconds} seconds")
        self.key_prefix = key_prefix
        self._fallback = LocalWindows()
        self._storage: Counts = self._fallback
        self._shared_failed_at: float | None = None  # monotonic time of the last failure of the shared storage
        if redis_url:
            # Typed as "a sync or an async storage"; the async+ scheme above picks an async one.
            self._storage = cast(Storage, storage_from_string(
                _async_storage_url(redis_url), implementation="redispy", key_prefix=key_prefix,
                socket_connect_timeout=2, socket_timeout=2))

    @property
    def shared(self) -> bool:
        """True when counts are shared through Redis rather than kept in this process."""
        return self._storage is not self._fallback

    def _budgets(self, username_key: str, ip_address: str | None,
                 device: KnownDevice | None) -> tuple[_Budget, ...]:
        if device is not None and device.username_key == username_key:  # a verdict for this account only
            # A known device answers to its own budget alone: a stranger who spent the address's budget (a shared
            # NAT, a campus network) must not lock the owner out of a device they already use.
            return (_Budget(self.per_device, f"login:device:{username_key}:{device.device_id}", self.slowed),)
        subject = _Budget(self.per_account, f"login:account:{username_key}", self.slowed)
        return subject, _Budget(self.per_ip, f"login:ip:{ip_address or _NO_IP}")

    async def reserve(self, *, username_key: str, ip_address: str | None,
                      device: KnownDevice | None = None) -> Attempt:
        """Count one attempt against its subject's and its IP's budgets, or raise ``RateLimited`` (nothing
        counted). ``device``: the request's device, when it signed in to this account before."""
        budgets = self._budgets(username_key, ip_address, device)
        failed_at = self._shared_failed_at
        if failed_at is not None and time.monotonic() - failed_at < SHARED_RETRY_SECONDS:
            # Redis failed a moment ago: a Redis that accepts connections but never answers would otherwise cost
            # every sign-in its 2-second timeout.
            return await self._reserve(self._fallback, budgets)
        try:
            attempt = await self._reserve(self._storage, budgets)
        except RateLimited:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis down or timing out: keep limiting per process, not open
            self._shared_failed_at = time.monotonic()
            log.warning("shared rate-limit storage unavailable (%s); counting in this process for %d s",
                        type(exc).__name__, SHARED_RETRY_SECONDS)
            return await self._reserve(self._fallback, budgets)
        self._shared_failed_at = None
        return attempt

    async def _reserve(self, storage: Counts, budgets: tuple[_Budget, ...]) -> Attempt:
        taken: list[Unit] = []
        for budget in budgets:
            units = await self._take(storage, budget)
            if units is None:
                # Refused: this attempt never reaches the password check, so it leaves no count behind.
                await _give_back(storage, taken)
                raise RateLimited(TOO_MANY_ATTEMPTS, retry_after=await self._wait(storage, budgets),
                                  field="username")
            taken.extend(units)
        return Attempt(keys=tuple(taken), storage=storage)

    async def _take(self, storage: Counts, budget: _Budget) -> list[Unit] | None:
        """The units one attempt takes from ``budget``, or None (none taken) when it does not fit."""
        units: list[Unit] = []
        first_of_interval = False
        if budget.slowed is not None:
            # Every attempt counts in the current slowed interval, before the budget: an attempt right after the
            # budget's last one finds the interval used, and of parallel attempts over budget only one is first.
            slowed: Unit = (budget.slowed, budget.slowed_key)
            first_of_interval = await _incr(storage, slowed, 1) <= budget.slowed.amount
            units.append(slowed)
        main: Unit = (budget.item, budget.key)
        if await _incr(storage, main, 1) <= budget.item.amount:
            return [*units, main]
        await _incr(storage, main, -1)
        if first_of_interval:
            return units  # over budget, slowed: the one attempt of this interval
        await _give_back(storage, units)
        return None

    async def _wait(self, storage: Counts, budgets: tuple[_Budget, ...]) -> int:
        """Whole seconds until every budget would take an attempt again (at least 1)."""
        now, longest = clock(), 0.0
        for budget in budgets:
            wait = await self._spent_for(storage, budget.item, budget.key, now)
            if wait and budget.slowed is not None:
                wait = min(wait, await self._spent_for(storage, budget.slowed, budget.slowed_key, now))
            longest = max(longest, wait)
        return max(1, math.ceil(longest))

    @staticmethod
    async def _spent_for(storage: Counts, item: RateLimitItem, key: str, now: float) -> float:
        """Seconds until ``item``'s window under ``key`` has room again; 0 when it has room now."""
        if await storage.get(item.key_for(key)) < item.amount:
            return 0.0
        return max(0.0, await storage.get_expiry(item.key_for(key)) - now)

    async def hand_back(self, attempt: Attempt) -> None:
        """The attempt is not a failure to count: the credentials were right, or checking them failed on our side
        (the database unavailable). Its units go back."""
        try:
            await _give_back(attempt.storage, list(attempt.keys))
        except Exception as exc:  # noqa: BLE001 - a refund that cannot be written only makes the limit stricter
            log.warning("could not hand back a sign-in attempt (%s)", type(exc).__name__)


@asynccontextmanager
async def counted_attempt(limiter: LoginLimiter | None, *, username_key: str, ip_address: str | None,
                          device: KnownDevice | None = None) -> AsyncIterator[None]:
    """``async with counted_attempt(...):`` around one check of credentials. The attempt is reserved first
    (``RateLimited`` when it does not fit); it stays counted only when the block raises a domain error (wrong
    credentials): a success, and a failure of ours (any other exception, such as the database being unavailable),
    hand its units back. Without a limiter, nothing is counted."""
    if limiter is None:
        yield
        return
    attempt = await limiter.reserve(username_key=username_key, ip_address=ip_address, device=device)
    try:
        yield
    except DomainError:
        raise  # the credentials were wrong (or the account disabled): a failure, and it counts
    except Exception:
        await limiter.hand_back(attempt)  # our fault, not the person's: a 503 costs them nothing
        raise
    await limiter.hand_back(attempt)
