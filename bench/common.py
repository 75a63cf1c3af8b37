"""What every figure shares: the running server, the fixture, request builders and the result row."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bench.dataset import Fixture
from bench.load import Client, Request

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE = os.environ.get("BENCH_SERVER_CORE", "0")
PAGE_QUERY = (
    "query SettingsPage { viewer { connectedApps { nodes { id app { id name description iconUrl developerName } "
    "permissions { scope title } canView { title } canDo { title } authorizedAt lastUsedAt } totalCount } "
    "sessions { nodes { id isCurrent device browser os location signedInAt lastActiveAt } totalCount } } }"
)
SIGNED_IN_ONLY = "query SignedIn { viewer { id } }"


T = TypeVar("T")


def in_turn(round_: int, sides: Sequence[T]) -> list[T]:
    """The two sides of a figure in this round's order: each round swaps which goes first, so the first window
    after a loaded one is not always the same side's."""
    return list(sides) if round_ % 2 == 0 else list(reversed(sides))


@dataclass
class Row:
    """One line of the table: a figure's measurement against its reference and goal."""

    figure: str
    metric: str
    value: float | None
    reference: float | None
    unit: str
    ratio: float | None
    goal: str
    passed: bool | None
    note: str = ""


@dataclass
class Bench:
    host: str
    port: int
    fixture: Fixture
    database_url: str
    dialect: str
    quick: bool
    server_pid: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def seconds(self, full: float, quick: float) -> float:
        return quick if self.quick else full

    def client(self) -> Client:
        return Client(self.host, self.port)

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base_url + "/bench/stats", timeout=10) as response:  # noqa: S310 - our http URL
            data: dict[str, Any] = json.loads(response.read())
        return data

    def quiet_statement_count(self) -> int:
        """The statement count once the server has finished what it was doing: requests a load generator left in
        flight when it stopped can still be running, and their statements must not count for the next request."""
        count = self.stats()["statements"]
        while True:
            time.sleep(0.05)
            latest = self.stats()["statements"]
            if latest == count:
                return count
            count = latest

    def statements(self, client: Client, request: Request) -> tuple[int, bytes]:
        """Statements the server sent to the database while answering ``request`` alone."""
        before = self.quiet_statement_count()
        status, body, _ = client.send(request)
        if status != 200:
            raise RuntimeError(f"{request.path} answered {status}: {body[:300]!r}")
        return self.stats()["statements"] - before, body


def graphql(query: str, token: str | None, variables: dict[str, Any] | None = None,
            path: str = "/graphql") -> Request:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    return Request("POST", path, body, headers)


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return value / reference


def spread(values: list[float]) -> str:
    """How far repeated runs of one measurement disagreed, for the noise note."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    return f"runs {low:.3g}–{high:.3g}"
