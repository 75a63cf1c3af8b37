"""``python -m bench``: build the dataset, start one pinned production worker, measure G1–G8, print and save.

The worker runs on core ``BENCH_SERVER_CORE`` (0) and everything that drives it on ``BENCH_DRIVER_CORE`` (1). G8 runs
on a worker of its own whose OAuth 1.0a nonces go to Redis; the others on one without Redis, as they always have.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import databases, dataset, figures_auth, figures_oauth1, figures_page, figures_scale, report
from bench.common import ROOT, SERVER_CORE, Bench, Row

SECRET_KEY = "bench-only-secret-key-0123456789abcdef"  # production refuses < 32 characters
BASE_URL = "https://consentry.bench.invalid"  # production refuses a non-https issuer; never contacted
FIGURES: dict[str, Callable[[Bench], list[Row]]] = {
    "G2": figures_page.g2_statements,
    "G1": figures_page.g1_page,
    "G3": figures_auth.g3_oauth,
    "G8": figures_oauth1.g8_oauth1,
    "G4": figures_auth.g4_login,
    "G5": figures_auth.g5_revocation,
    "G7": figures_page.g7_memory,
    "G6": figures_scale.g6_scale,
}
# Measured on a worker with CONSENTRY_REDIS_URL set (G8: the nonce store). Redis would also move the sign-in limiter
# out of the process, which would change what G4 measures, so the other figures run on a worker without it.
NEEDS_REDIS = {"G8"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(database_url: str, fixture: dataset.Fixture, redis_url: str | None) -> dict[str, str]:
    env = dict(os.environ, CONSENTRY_ENVIRONMENT="production", CONSENTRY_SECRET_KEY=SECRET_KEY,
               CONSENTRY_BASE_URL=BASE_URL, CONSENTRY_DATABASE_URL=database_url, PYTHONPATH=str(ROOT),
               BENCH_OAUTH_ACCOUNT_ID=fixture.oauth_account_id,
               # G4 signs in at full capacity on purpose: the limiter still runs, but must not refuse.
               CONSENTRY_LOGIN_ATTEMPTS_PER_ACCOUNT="1000000/minute", CONSENTRY_LOGIN_ATTEMPTS_PER_IP="1000000/minute")
    env.pop("CONSENTRY_REDIS_URL", None)  # one from the caller's shell must not decide what is measured
    if redis_url:
        env["CONSENTRY_REDIS_URL"] = redis_url
    return env


def _start_server(database_url: str, port: int, fixture: dataset.Fixture, log: Path,
                  redis_url: str | None = None) -> subprocess.Popen[bytes]:
    command = ["taskset", "-c", SERVER_CORE, sys.executable, "-m", "uvicorn", "bench.server:create_bench_app",
               "--factory", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--loop", "uvloop",
               "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    with log.open("wb") as output:  # the production access log: one JSON line per request
        server = subprocess.Popen(command, cwd=ROOT, env=_server_env(database_url, fixture, redis_url), stdout=output,
                                  stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not answer /healthz within 30 s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _serve(args: argparse.Namespace, urls: tuple[str, str], fixture: dataset.Fixture,
           redis_url: str | None) -> tuple[subprocess.Popen[bytes], Bench]:
    """A fresh worker (on a new port) and the Bench that drives it; with ``redis_url``, its nonces go to Redis."""
    database_url, sync_url = urls
    port = _free_port()
    log = databases.workdir() / f"server-{args.db}{'-redis' if redis_url else ''}.log"
    server = _start_server(database_url, port, fixture, log, redis_url)
    return server, Bench(host="127.0.0.1", port=port, fixture=fixture, database_url=database_url, dialect=args.db,
                         quick=args.quick, server_pid=server.pid, extra={"sync_url": sync_url, "redis_url": redis_url})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true",
                        help="short runs, one round each, 5,000 pages for G7 and a 10× smaller G6")
    parser.add_argument("--only", default="", help="comma-separated figures, e.g. G1,G2 (default: all)")
    args = parser.parse_args(argv)
    wanted = [name for name in FIGURES if not args.only or name in args.only.upper().split(",")]

    database_url, sync_url = databases.prepare(args.db)
    print(f"building the dataset in {database_url} ...", flush=True)
    fixture = asyncio.run(dataset.build(database_url, base_url=BASE_URL, secret_key=SECRET_KEY))
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows: list[Row] = []
    current: tuple[subprocess.Popen[bytes], Bench] | None = None
    try:
        for name in wanted:
            print(f"measuring {name} ...", flush=True)
            try:
                redis_wanted = name in NEEDS_REDIS
                if current is not None and (current[1].extra["redis_url"] is not None) != redis_wanted:
                    _stop(current[0])
                    current = None
                if current is None:
                    redis_url = databases.fresh_redis() if redis_wanted else None
                    current = _serve(args, (database_url, sync_url), fixture, redis_url)
                rows.extend(FIGURES[name](current[1]))
            except Exception as error:  # noqa: BLE001 - one broken figure must not hide the others
                rows.append(Row(name, "could not be measured", None, None, "", None, "", False,
                                f"{type(error).__name__}: {error}"[:300]))
    finally:
        if current is not None:
            _stop(current[0])
    meta = {
        "db": args.db, "started": started, "mode": "quick" if args.quick else "full",
        "versions": report.versions(sync_url, args.db),
        "server": f"1 uvicorn worker (uvloop, httptools), production profile, taskset core {SERVER_CORE}"
                  + (f"; G8's with CONSENTRY_REDIS_URL={databases.REDIS_URL}" if NEEDS_REDIS & set(wanted) else ""),
        "driver": f"wrk -t1 and the harness on core {os.environ.get('BENCH_DRIVER_CORE', '1')}",
    }
    print()
    print(report.render(rows, meta))
    path = report.write(rows, meta)
    print(f"\nwritten: {path.relative_to(ROOT)}")
    print(json.dumps({"failed": [f"{r.figure} {r.metric}" for r in rows if r.passed is False]}))
    return 0
