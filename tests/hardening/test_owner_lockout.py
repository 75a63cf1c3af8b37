"""Issue #15 finding 5: a stranger's wrong guesses must not lock an account's owner out.

A device that signed in to the account before carries a device cookie and guesses on a budget of its own; every
other device shares the account's budget, and once it is spent they are slowed (one attempt a minute by default),
not refused for the rest of the window; an attempt that failed on our side (503) costs nothing.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette

from app.services import ratelimit
from tests.factories import LOGIN, PASSWORD, make_account
from tests.hardening.conftest import PRODUCTION_SECRET

Clients = Callable[..., httpx.AsyncClient]
SAME_ORIGIN = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
INVALID = (200, ["INVALID"])
LIMITED = (429, ["RATE_LIMITED"])


async def _gql_login(http: httpx.AsyncClient, username: str, password: str) -> tuple[int, list[str], Any]:
    """(status, userError codes, token) of one GraphQL ``login``."""
    response = await http.post("/graphql", json={"query": LOGIN, "variables": {"username": username,
                                                                              "password": password}})
    if response.status_code == 503:
        return 503, [], None
    payload = response.json()["data"]["login"]
    return response.status_code, [error["code"] for error in payload["userErrors"]], payload["token"]


async def _guess(http: httpx.AsyncClient, username: str = "alice", password: str = "wrong") -> tuple[int, list[str]]:
    status, codes, _ = await _gql_login(http, username, password)
    return status, codes


async def _form_login(http: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD) -> httpx.Response:
    return await http.post("/login", data={"username": username, "password": password, "next": "/settings"},
                           headers=SAME_ORIGIN)


async def _known_devices(app: Starlette, clients: Clients) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    """Alice's laptop (signed in through the form) and phone (through GraphQL ``login``), each now holding a
    device cookie."""
    await make_account(app, "alice")
    laptop, phone = clients(app, ip="198.51.100.7"), clients(app, ip="198.51.100.8")
    assert (await _form_login(laptop)).status_code == 303
    status, codes, token = await _gql_login(phone, "alice", PASSWORD)
    assert (status, codes) == (200, []) and token
    return laptop, phone


async def _owner_signs_in(laptop: httpx.AsyncClient, phone: httpx.AsyncClient, username: str = "alice") -> None:
    page = await _form_login(laptop, username)
    assert (page.status_code, page.headers["location"]) == (303, "/settings"), page.text
    status, codes, token = await _gql_login(phone, username, PASSWORD)
    assert (status, codes) == (200, []) and token


async def test_the_owner_on_a_known_device_signs_in_at_once_after_a_strangers_guesses(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """After a stranger spent the account's budget (10 wrong guesses, then refusals, even for the right password),
    the owner signs in at once on the laptop and the phone they signed in from before: 303 and 200. The stranger's
    own device cookie, from signing in to an account of their own, vouches for nothing on Alice's account."""
    app = make_apps()  # the default limits: 10 per account, 50 per IP, per 15 minutes
    laptop, phone = await _known_devices(app, clients)
    await make_account(app, "mallory")
    stranger = clients(app, ip="203.0.113.66")
    assert (await _gql_login(stranger, "mallory", PASSWORD))[:2] == (200, [])
    assert any(cookie.name == "consentry_device" for cookie in stranger.cookies.jar)
    assert [await _guess(stranger) for _ in range(12)] == [INVALID] * 10 + [LIMITED] * 2
    assert (await _gql_login(stranger, "alice", PASSWORD))[:2] == LIMITED
    assert await _guess(clients(app, ip="203.0.113.67")) == LIMITED
    await _owner_signs_in(laptop, phone)


async def test_username_variants_share_one_budget_and_do_not_lock_the_owner_out(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """``ALICE``, `` alice `` and ``alice<TAB>`` are one account to the limit (a stranger gets no more guesses by
    spelling it differently), and none of them keeps the owner's known devices out, whichever way the owner types
    the username."""
    app = make_apps()
    laptop, phone = await _known_devices(app, clients)
    stranger = clients(app, ip="203.0.113.66")
    answers = [await _guess(stranger, name) for name in ("ALICE", " alice ", "alice\t") for _ in range(4)]
    assert answers == [INVALID] * 10 + [LIMITED] * 2
    await _owner_signs_in(laptop, phone)
    await _owner_signs_in(laptop, phone, "ALICE")


async def test_a_known_device_guesses_on_a_budget_of_its_own(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """A device cookie is no licence to guess: its device gets its own 10 guesses and is then slowed too; the
    owner's other device and the account's budget for unknown devices are untouched by it."""
    app = make_apps()
    laptop, phone = await _known_devices(app, clients)
    assert [await _guess(laptop) for _ in range(11)] == [INVALID] * 10 + [LIMITED]
    status, codes, token = await _gql_login(phone, "alice", PASSWORD)
    assert (status, codes) == (200, []) and token
    assert await _guess(clients(app, ip="203.0.113.66")) == INVALID


async def test_a_signed_in_owner_can_change_the_password_while_a_stranger_is_slowed(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """The session that changes the password is a device of the account: a stranger who spent the account's budget
    does not keep the owner from changing the password (today's remedy for a guessed one)."""
    app = make_apps()
    _, phone = await _known_devices(app, clients)
    status, _, token = await _gql_login(phone, "alice", PASSWORD)
    assert status == 200
    stranger = clients(app, ip="203.0.113.66")
    assert [await _guess(stranger) for _ in range(11)] == [INVALID] * 10 + [LIMITED]
    response = await phone.post("/graphql", headers={"authorization": f"Bearer {token}"}, json={
        "query": "mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n})"
                 " { userErrors { code } } }",
        "variables": {"c": PASSWORD, "n": "a new and longer passphrase"}})
    assert response.status_code == 200
    assert response.json() == {"data": {"changePassword": {"userErrors": []}}}


async def test_a_stranger_is_slowed_to_the_documented_rate_with_an_accurate_retry_after(
    make_apps: Callable[..., Starlette], clients: Clients, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once the budget is spent an unknown device is slowed, not shut out for the window: every refusal is a 429
    whose Retry-After (at most the 60-second interval) is exactly when the next guess is taken, and the stranger
    makes at most the documented 10 + 15 guesses in the 15-minute window (the clock is moved, not waited for)."""
    now = [1_900_000_000.0]
    monkeypatch.setattr(ratelimit, "clock", lambda: now[0])
    app = make_apps()
    await make_account(app, "alice")
    stranger = clients(app, ip="203.0.113.66")
    window_ends = now[0] + 15 * 60
    taken = 0
    for _ in range(80):  # bounded: 25 taken guesses and about as many refusals fill the window
        if now[0] >= window_ends:
            break
        response = await stranger.post("/graphql", json={"query": LOGIN, "variables": {"username": "alice",
                                                                                      "password": "wrong"}})
        if response.status_code == 200:
            taken += 1
            continue
        assert response.status_code == 429
        retry_after = int(response.headers["retry-after"])
        assert 1 <= retry_after <= 60
        now[0] += retry_after
        status, codes = await _guess(stranger)  # exactly when Retry-After said: taken
        assert (status, codes) == INVALID
        if now[0] < window_ends:
            taken += 1
    assert now[0] >= window_ends
    assert 20 <= taken <= 10 + 15


async def test_a_database_outage_costs_no_budget(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """Sign-ins that answer 503 because the database is unavailable (GraphQL and the form) do not count: once it
    is back, the account and the address still have their whole budgets (3 and 5 here)."""
    app = make_apps(login_attempts_per_account="3/15 minutes", login_attempts_per_ip="5/15 minutes")
    await make_account(app, "alice")
    database = app.state.consentry.database
    with socket.socket() as sock:  # a port nothing listens on: connecting is refused at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/consentry", poolclass=NullPool)
    working, database.sync_autocommit_engine = database.sync_autocommit_engine, down
    http = clients(app, ip="203.0.113.5")
    try:
        assert [await _guess(http) for _ in range(5)] == [(503, [])] * 5
        page = await _form_login(http, password="wrong")
        assert page.status_code == 503 and "retry-after" in page.headers
    finally:
        database.sync_autocommit_engine = working
        down.dispose()
    assert [await _guess(http) for _ in range(4)] == [INVALID] * 3 + [LIMITED]


@pytest.mark.parametrize("https", [False, True])
async def test_the_device_cookie_is_long_lived_httponly_and_lax(
    make_apps: Callable[..., Starlette], https: bool,
) -> None:
    """Both ways of signing in set the device cookie: HttpOnly, SameSite=Lax, path /, a year long; on https
    (production) Secure and ``__Host-`` prefixed, like the session cookie."""
    production = {"environment": "production", "secret_key": PRODUCTION_SECRET, "base_url": "https://testserver"}
    app = make_apps(**(production if https else {}))
    await make_account(app, "alice")
    base = "https://testserver" if https else "http://testserver"
    name = "__Host-consentry_device" if https else "consentry_device"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.7", 50000)),
                                 base_url=base) as http:
        form = await http.post("/login", data={"username": "alice", "password": PASSWORD},
                               headers={"origin": base, "sec-fetch-site": "same-origin"})
        graphql = await http.post("/graphql", json={"query": LOGIN, "variables": {"username": "alice",
                                                                                 "password": PASSWORD}})
    for response in (form, graphql):
        cookies = [line for line in response.headers.get_list("set-cookie") if line.startswith(f"{name}=")]
        assert len(cookies) == 1, response.headers
        cookie = cookies[0]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert f"Max-Age={365 * 24 * 3600}" in cookie
        assert ("Secure" in cookie) is https


async def test_a_stranger_who_spends_the_shared_address_budget_does_not_lock_out_a_known_device(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """Behind one address (a NAT, a campus network), a stranger spends the per-address budget on other accounts;
    the owner's known laptop and phone on that same address still sign in, while a new device there is refused."""
    app = make_apps(login_attempts_per_ip="5/15 minutes")
    await make_account(app, "alice")
    shared = "198.51.100.7"
    laptop, phone = clients(app, ip=shared), clients(app, ip=shared)
    assert (await _form_login(laptop)).status_code == 303
    assert (await _gql_login(phone, "alice", PASSWORD))[:2] == (200, [])
    stranger = clients(app, ip=shared)
    guesses = [await _guess(stranger, f"someone{number}") for number in range(7)]
    assert guesses[-1] == LIMITED, guesses
    assert await _guess(clients(app, ip=shared), "alice", PASSWORD) == LIMITED  # a new device on that address
    await _owner_signs_in(laptop, phone)
