"""Load drivers: ``wrk`` for throughput and latency distributions, a raw keep-alive socket client for sequences.

wrk is the real load generator (C, pinned to the other core). The socket client is only used where every request
needs work between requests that wrk cannot do (resetting revoked rows, pacing logins); it adds tens of
microseconds, the same on both sides of a ratio.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
LUA_SCRIPT = LUA_DIR / "request.lua"
PRESIGNED_SCRIPT = LUA_DIR / "presigned.lua"
DRIVER_CORE = os.environ.get("BENCH_DRIVER_CORE", "1")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int
    error_kinds: dict[str, int]  # wrk's own counts: connect, read, write, status (non-2xx/3xx), timeout
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(base_url: str, request: Request, *, connections: int, seconds: float,
        presigned: Sequence[str] = ()) -> WrkResult:
    """Drive ``request`` with wrk (one thread, pinned to the driver core) and return its summary.

    With ``presigned``, every request carries the next of these ``Authorization`` values instead, each used once
    (an OAuth 1.0a nonce is taken once: wrk's one fixed request would be a replay from the second on). Running out
    raises: sign at least as many as the run can send."""
    with tempfile.NamedTemporaryFile(suffix=".body") as body, \
            tempfile.NamedTemporaryFile("w", suffix=".auth", encoding="ascii") as authorizations:
        body.write(request.body)
        body.flush()
        authorizations.write("".join(value + "\n" for value in presigned))
        authorizations.flush()
        env = dict(os.environ, BENCH_METHOD=request.method, BENCH_BODY_FILE=body.name if request.body else "",
                   BENCH_HEADERS="\n".join(f"{k}: {v}" for k, v in request.headers.items()),
                   BENCH_LUA_DIR=str(LUA_DIR), BENCH_PRESIGNED_FILE=authorizations.name)
        script = PRESIGNED_SCRIPT if presigned else LUA_SCRIPT
        command = ["taskset", "-c", DRIVER_CORE, "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                   "--timeout", "10s", "-s", str(script), base_url + request.path]
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    if presigned:
        used = json.loads(next(line for line in output.splitlines()
                               if line.startswith("BENCH_PRESIGNED ")).removeprefix("BENCH_PRESIGNED "))
        if used["taken"] > used["available"]:
            raise RuntimeError(f"wrk wanted {used['taken']} requests but only {used['available']} were pre-signed")
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    latency = raw["latency_us"]
    return WrkResult(requests=int(raw["requests"]), seconds=raw["duration_us"] / 1e6,
                     errors=int(sum(raw["errors"].values())),
                     error_kinds={kind: int(count) for kind, count in raw["errors"].items() if count},
                     p50_ms=latency["p50"] / 1000,
                     p90_ms=latency["p90"] / 1000, p99_ms=latency["p99"] / 1000, mean_ms=latency["mean"] / 1000)


def checked(result: WrkResult) -> WrkResult:
    """A run with failed or non-2xx requests measured something else; refuse it."""
    if result.errors:
        kinds = ", ".join(f"{kind} {count}" for kind, count in result.error_kinds.items())
        raise RuntimeError(f"wrk saw {result.errors} failed requests of {result.requests} ({kinds})")
    return result


class Client:
    """HTTP/1.1 over one keep-alive socket: send, read exactly one Content-Length response, time it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, request: Request) -> tuple[int, bytes, float]:
        """Status, body and seconds from the first byte sent to the last byte read."""
        head = [f"{request.method} {request.path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                f"Content-Length: {len(request.body)}", *(f"{k}: {v}" for k, v in request.headers.items())]
        payload = ("\r\n".join(head) + "\r\n\r\n").encode() + request.body
        started = time.perf_counter()
        self.sock.sendall(payload)
        status, body = self._read_response()
        return status, body, time.perf_counter() - started

    def _read_response(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                       if line.lower().startswith("content-length:")), None)
        if length is None:
            raise RuntimeError(f"response without Content-Length: {lines}")
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, body

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def percentile_ms(seconds: list[float], q: float) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000
