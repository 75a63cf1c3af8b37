"""app.services.ratelimit: budgets of failed sign-ins kept in this process, with the clock moved, not waited for."""

from __future__ import annotations

import pytest

from app.services import ratelimit
from app.services.errors import Invalid, RateLimited
from app.services.known_devices import KnownDevice
from app.services.ratelimit import TOO_MANY_ATTEMPTS, LoginLimiter, counted_attempt


class Clock:
    """The limiter's clock, in epoch seconds, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(ratelimit, "clock", moved)
    return moved


def _limiter(per_account: str = "3/15 minutes", per_ip: str = "100/15 minutes",
             per_device: str | None = None) -> LoginLimiter:
    limiter = LoginLimiter(per_account=per_account, per_ip=per_ip, per_device=per_device, slowdown_seconds=60)
    assert not limiter.shared  # no Redis URL: counts stay in this process
    return limiter


async def _fail(limiter: LoginLimiter | None, username: str = "alice", ip: str = "203.0.113.9",
                device: KnownDevice | None = None) -> int | None:
    """One wrong password: None when it was taken (and counts), else the refusal's ``retry_after``."""
    try:
        async with counted_attempt(limiter, username_key=username, ip_address=ip, device=device):
            raise Invalid("Incorrect username or password.", field="password")
    except RateLimited as refused:
        assert (refused.message, refused.field) == (TOO_MANY_ATTEMPTS, "username")
        return refused.retry_after
    except Invalid:
        return None


async def test_an_account_budget_is_spent_then_slowed_to_one_attempt_per_interval(clock: Clock) -> None:
    """With 3 per 15 minutes: three failures are taken, the fourth is refused with Retry-After 60 (the interval
    holding the third); at exactly that time one more is taken, then the next is refused again."""
    limiter = _limiter()
    assert [await _fail(limiter) for _ in range(4)] == [None, None, None, 60]
    clock.now += 30
    assert await _fail(limiter) == 30  # Retry-After counts down to when the next attempt is taken
    clock.now += 30
    assert [await _fail(limiter), await _fail(limiter)] == [None, 60]


async def test_a_new_window_brings_back_the_whole_budget(clock: Clock) -> None:
    """Once the 15-minute window that started at the first failure ends, three more failures are taken."""
    limiter = _limiter()
    assert [await _fail(limiter) for _ in range(4)] == [None, None, None, 60]
    clock.now += 15 * 60
    assert [await _fail(limiter) for _ in range(4)] == [None, None, None, 60]


async def test_accounts_have_budgets_of_their_own(clock: Clock) -> None:
    """Spending one account's budget leaves another account's whole, even from the same address."""
    limiter = _limiter()
    assert [await _fail(limiter, "alice") for _ in range(4)] == [None, None, None, 60]
    assert [await _fail(limiter, "bob") for _ in range(3)] == [None, None, None]


async def test_an_address_budget_refuses_outright_until_its_window_ends(clock: Clock) -> None:
    """One address guessing many accounts is refused once its budget is spent (no slowed attempts), with
    Retry-After the rest of its window; another address is unaffected."""
    limiter = _limiter(per_ip="4/15 minutes")
    assert [await _fail(limiter, f"user{n}") for n in range(5)] == [None, None, None, None, 900]
    clock.now += 600
    assert await _fail(limiter, "someone-else") == 300
    assert await _fail(limiter, "someone-else", ip="198.51.100.1") is None
    clock.now += 300
    assert await _fail(limiter, "someone-else") is None


async def test_a_refused_attempt_leaves_nothing_counted(clock: Clock) -> None:
    """Attempts refused by the account's budget take nothing from the address's budget: with 5 per address, two
    failures on a spent account and its refusals still leave three for other accounts."""
    limiter = _limiter(per_account="2/15 minutes", per_ip="5/15 minutes")
    assert [await _fail(limiter, "alice") for _ in range(6)] == [None, None, 60, 60, 60, 60]
    assert [await _fail(limiter, f"user{n}") for n in range(4)] == [None, None, None, 900]


async def test_a_known_device_keeps_its_own_budget_while_a_stranger_spends_the_account(clock: Clock) -> None:
    """A device that signed in to the account before has a budget of its own: a stranger spending the account's
    budget does not touch it. A device vouched for on another account counts as a stranger here."""
    limiter = _limiter(per_device="2/15 minutes")
    phone = KnownDevice(username_key="alice", device_id="phone")
    assert [await _fail(limiter, ip="203.0.113.66") for _ in range(4)] == [None, None, None, 60]
    assert [await _fail(limiter, device=phone) for _ in range(3)] == [None, None, 60]
    elsewhere = KnownDevice(username_key="bob", device_id="laptop")
    assert await _fail(limiter, device=elsewhere) == 60  # bob's cookie vouches for nothing on alice


async def test_a_success_hands_its_attempt_back(clock: Clock) -> None:
    """Only failures count: any number of successful sign-ins leave the whole budget for later failures."""
    limiter = _limiter()
    for _ in range(10):
        async with counted_attempt(limiter, username_key="alice", ip_address="203.0.113.9"):
            pass
    assert [await _fail(limiter) for _ in range(4)] == [None, None, None, 60]


async def test_a_failure_on_our_side_hands_its_attempt_back(clock: Clock) -> None:
    """An attempt that fails for a reason other than the credentials (the database unavailable) re-raises its
    error and costs the person nothing."""
    limiter = _limiter()
    for _ in range(5):
        with pytest.raises(ConnectionError):
            async with counted_attempt(limiter, username_key="alice", ip_address="203.0.113.9"):
                raise ConnectionError("database unavailable")
    assert [await _fail(limiter) for _ in range(4)] == [None, None, None, 60]


async def test_without_a_limiter_nothing_is_counted_or_refused(clock: Clock) -> None:
    """``counted_attempt`` with no limiter lets every attempt through and passes its error on."""
    for _ in range(20):
        assert await _fail(None) is None
