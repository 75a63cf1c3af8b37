"""SECURITY.md H35: failed sign-ins are limited per account (for devices the account does not know) and per client
IP; over the limit → 429 + Retry-After. What the owner's known devices get instead: test_owner_lockout.py."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette

from tests.factories import LOGIN, PASSWORD, make_account

LIMITS = {"login_attempts_per_account": "3/15 minutes", "login_attempts_per_ip": "5/15 minutes"}
SAME_ORIGIN = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
Clients = Callable[..., httpx.AsyncClient]


async def _login(http: httpx.AsyncClient, username: str, password: str) -> tuple[httpx.Response, dict[str, Any]]:
    response = await http.post("/graphql", json={"query": LOGIN, "variables": {"username": username,
                                                                              "password": password}})
    return response, response.json()["data"]["login"]


def _codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


def _assert_retry_after(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 15 * 60


async def test_h35_failures_per_account_end_in_429_even_for_the_right_password(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """From a device that never signed in to the account, the right password is slowed like a guess (429) once the
    account's budget is spent, whatever the username's case; other accounts are not affected."""
    app = make_apps(**LIMITS)
    await make_account(app, "alice")
    await make_account(app, "bob")
    http = clients(app, ip="203.0.113.1")
    for _ in range(3):
        response, payload = await _login(http, "alice", "wrong password")
        assert (response.status_code, _codes(payload)) == (200, ["INVALID"])
    response, payload = await _login(clients(app, ip="203.0.113.2"), "ALICE", PASSWORD)
    _assert_retry_after(response)
    assert payload == {"token": None, "session": None, "userErrors": [
        {"message": "Too many failed sign-in attempts. Try again later.", "field": "username", "code": "RATE_LIMITED"}]}
    # Another account is not affected.
    response, payload = await _login(http, "bob", PASSWORD)
    assert response.status_code == 200 and payload["token"]


async def test_h35_unknown_usernames_are_limited_the_same_way(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """Guesses at a username that does not exist are limited like a real account's: three failures, then 429, even
    from different addresses."""
    app = make_apps(**LIMITS)
    answers = []
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"):
        response, payload = await _login(clients(app, ip=ip), "nobody", "guess")
        answers.append((response.status_code, _codes(payload)))
    assert answers == [(200, ["INVALID"])] * 3 + [(429, ["RATE_LIMITED"])]


async def test_h35_successful_sign_ins_do_not_use_up_the_budget(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """Successful sign-ins cost nothing: after several, the account still has its failures left and still signs in."""
    app = make_apps(**LIMITS)
    await make_account(app, "alice")
    http = clients(app)
    for _ in range(6):
        response, payload = await _login(http, "alice", PASSWORD)
        assert response.status_code == 200 and payload["token"]
    for _ in range(2):
        assert _codes((await _login(http, "alice", "wrong"))[1]) == ["INVALID"]
    assert (await _login(http, "alice", PASSWORD))[1]["token"]


async def test_h35_failures_per_ip_across_many_usernames(make_apps: Callable[..., Starlette], clients: Clients) -> None:
    """One address trying many usernames is refused with 429 and Retry-After once its budget is spent, even for a
    right password; another address signs in normally."""
    app = make_apps(**LIMITS)
    await make_account(app, "alice")
    sprayer = clients(app, ip="192.0.2.66")
    for name in ("ann", "ben", "cid", "dan", "eve"):
        assert _codes((await _login(sprayer, name, "Winter2024!"))[1]) == ["INVALID"]
    response, payload = await _login(sprayer, "alice", PASSWORD)
    _assert_retry_after(response)
    assert _codes(payload) == ["RATE_LIMITED"]
    response, payload = await _login(clients(app, ip="192.0.2.67"), "alice", PASSWORD)
    assert response.status_code == 200 and payload["token"]


async def test_h35_one_document_of_aliased_logins_is_refused_without_guessing(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """Ten aliased guesses in one document are refused before any is checked, so none uses up the budget."""
    app = make_apps(**LIMITS)
    await make_account(app, "alice")
    http = clients(app)
    fields = " ".join(f'a{i}: login(input: {{username: "alice", password: "guess-{i}"}}) {{ userErrors {{ code }} }}'
                      for i in range(10))
    response = await http.post("/graphql", json={"query": f"mutation {{ {fields} }}"})
    assert response.status_code == 200 and response.json()["data"] is None
    assert "login" in response.json()["errors"][0]["message"]
    answers = [_codes((await _login(http, "alice", "wrong"))[1]) for _ in range(4)]
    assert answers == [["INVALID"]] * 3 + [["RATE_LIMITED"]]


async def test_h35_sign_in_page_answers_429_with_retry_after(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """The sign-in page slows an unknown device's guesses with 429 + Retry-After, and signs nobody in then."""
    app = make_apps(**LIMITS)
    await make_account(app, "alice")
    http = clients(app)
    for _ in range(3):
        page = await http.post("/login", data={"username": "alice", "password": "nope", "next": "/settings"},
                               headers=SAME_ORIGIN)
        assert page.status_code == 401
    page = await http.post("/login", data={"username": "alice", "password": PASSWORD, "next": "/settings"},
                           headers=SAME_ORIGIN)
    _assert_retry_after(page)
    assert "Too many failed sign-in attempts" in page.text
    assert "consentry_session" not in page.headers.get("set-cookie", "")


async def test_h35_workers_share_counts_through_redis(
    make_apps: Callable[..., Starlette], clients: Clients, redis_url: str,
) -> None:
    """With Redis configured, two workers share one account's failure count: failures spread over both still hit the
    limit at the fourth attempt."""
    first, second = make_apps(**LIMITS, redis_url=redis_url), make_apps(**LIMITS, redis_url=redis_url)
    assert first.state.consentry.login_limiter.shared
    # Redis outlives the test: fresh names and addresses keep earlier runs' counts out of this one.
    run = uuid.uuid4()
    username = f"r{run.hex[:12]}"
    await make_account(first, username)
    answers = []
    for index, app in enumerate((first, second, first, second)):
        ip = f"10.{run.bytes[0]}.{run.bytes[1]}.{index + 1}"
        response, payload = await _login(clients(app, ip=ip), username, "wrong")
        answers.append((response.status_code, _codes(payload)))
    assert answers == [(200, ["INVALID"])] * 3 + [(429, ["RATE_LIMITED"])]


async def test_h35_parallel_guesses_cannot_slip_past_the_budget(
    make_apps: Callable[..., Starlette], clients: Clients, redis_url: str,
) -> None:
    """Twenty guesses sent at once, from twenty addresses, to two workers sharing Redis: each takes its unit before
    its password is checked, so only the budget's 3 are checked, plus at most the one attempt of the current
    slowed interval; the rest are 429."""
    first, second = make_apps(**LIMITS, redis_url=redis_url), make_apps(**LIMITS, redis_url=redis_url)
    run = uuid.uuid4()
    username = f"p{run.hex[:12]}"
    await make_account(first, username)
    guesses = [_login(clients(app, ip=f"10.{run.bytes[0]}.{run.bytes[1]}.{index + 1}"), username, "wrong")
               for index, app in enumerate([first, second] * 10)]
    answers = [(response.status_code, _codes(payload)) for response, payload in await asyncio.gather(*guesses)]
    checked = answers.count((200, ["INVALID"]))
    assert 3 <= checked <= 4 and answers.count((429, ["RATE_LIMITED"])) == 20 - checked, answers


async def _four_wrong_guesses(app: Starlette, clients: Clients) -> list[tuple[int, list[str]]]:
    """Alice's account, then four wrong passwords from one address: (status, userError codes) of each."""
    await make_account(app, "alice")
    http = clients(app, ip="203.0.113.9")
    answers = []
    for _ in range(4):
        response, payload = await _login(http, "alice", "wrong")
        answers.append((response.status_code, _codes(payload)))
    return answers


async def test_h35_limits_still_hold_when_redis_is_unreachable(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """With Redis unreachable, sign-ins are counted in the process instead: guessing is still limited and other
    accounts can still be tried normally."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_apps(**LIMITS, redis_url=f"redis://127.0.0.1:{port}/0")
    # Counted in this process instead: neither every attempt let through nor everybody locked out.
    assert await _four_wrong_guesses(app, clients) == [(200, ["INVALID"])] * 3 + [(429, ["RATE_LIMITED"])]
    response, payload = await _login(clients(app, ip="203.0.113.10"), "bob", PASSWORD)
    assert response.status_code == 200 and _codes(payload) == ["INVALID"]


async def test_h35_a_redis_that_never_answers_is_waited_for_once_not_at_every_sign_in(
    make_apps: Callable[..., Starlette], clients: Clients,
) -> None:
    """A Redis that accepts connections but never answers is tried once; the next sign-ins count in the process
    without waiting for its timeout again, and limiting still works."""
    # Accepts connections and never answers: each sign-in waited out the 2-second timeout before counting locally.
    connections: list[socket.socket] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def accept() -> None:
        while True:
            try:
                connections.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        app = make_apps(**LIMITS, redis_url=f"redis://127.0.0.1:{server.getsockname()[1]}/0")
        answers = await _four_wrong_guesses(app, clients)
    finally:
        server.close()
        for connection in connections:
            connection.close()
    assert answers == [(200, ["INVALID"])] * 3 + [(429, ["RATE_LIMITED"])]
    assert len(connections) == 1  # the first sign-in tried Redis; the next ones counted here straight away
