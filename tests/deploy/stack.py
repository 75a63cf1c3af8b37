"""The deployment of deploy/, run for real: Debian's PgBouncer and nginx on free ports in a temporary directory (not
as system services), three Consentry processes started from the systemd unit's own lines, and a small platform API
behind nginx's auth_request.

The files in deploy/ are rendered exactly as docs/operations.md tells an operator to (envsubst with the placeholders
named), so what is tested is what is shipped.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")


def find_binary(name: str) -> str | None:
    """``CONSENTRY_NGINX`` / ``CONSENTRY_PGBOUNCER`` when set, else the PATH, else /usr/sbin (where Debian puts both,
    and which a non-root PATH may lack)."""
    chosen = os.environ.get(f"CONSENTRY_{name.upper()}")
    if chosen is not None:
        return chosen if os.access(chosen, os.X_OK) else None
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def render(template: Path, values: dict[str, str]) -> str:
    """envsubst with the named placeholders: every ``${NAME}`` of the template must be given, and nothing else of
    the text changes (nginx's own ``$variables`` stay)."""
    text = template.read_text()
    missing = set(_PLACEHOLDER.findall(text)) - set(values)
    assert not missing, f"{template.name}: no value for {sorted(missing)}"
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 30,
                  log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {process.returncode}\n{tail}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class SystemdUnit:
    """What systemd would run for one instance of a template unit: its [Service] lines, with %i and %t filled."""

    working_directory: Path
    environment: dict[str, str]
    runtime_directory: Path
    command: list[str]

    @classmethod
    def of(cls, text: str, *, instance: str, runtime_root: Path) -> SystemdUnit:
        settings: dict[str, list[str]] = {}
        section = None
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]":
                key, _, value = line.partition("=")
                filled = value.replace("%i", instance).replace("%t", str(runtime_root))
                settings.setdefault(key.strip(), []).append(filled.strip())
        environment: dict[str, str] = {}
        for env_file in settings.get("EnvironmentFile", []):
            for entry in Path(env_file).read_text().splitlines():
                if entry.strip() and not entry.startswith("#"):
                    key, _, value = entry.partition("=")
                    environment[key.strip()] = value.strip()
        for assignment in settings.get("Environment", []):
            for pair in shlex.split(assignment):
                key, _, value = pair.partition("=")
                environment[key] = value
        (runtime,) = settings["RuntimeDirectory"]
        (command,) = settings["ExecStart"]
        (workdir,) = settings["WorkingDirectory"]
        return cls(working_directory=Path(workdir), environment=environment,
                   runtime_directory=runtime_root / runtime, command=shlex.split(command))


@dataclass
class Instance:
    """One Consentry process, started as the unit says, its JSON log lines kept in a file."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict):
                lines.append(entry)
        return lines


def platform_api() -> Starlette:
    """The platform's own API behind nginx: it answers with what the gateway told it about the caller."""

    async def echo(request: Request) -> JSONResponse:
        names = ("x-consentry-account", "x-consentry-username", "x-consentry-client", "x-consentry-scopes",
                 "authorization")
        return JSONResponse({"path": request.url.path,
                             "headers": {name: request.headers.get(name) for name in names}})

    return Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])


@contextmanager
def serve_in_thread(app: Starlette, port: int) -> Iterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the platform API did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@dataclass
class Deployment:
    """Everything started, and where to reach it."""

    directory: Path
    nginx_url: str
    instances: list[Instance]
    gateway_secret: str
    database_url: str  # PostgreSQL itself, for the test's own setup
    timings: dict[str, float] = field(default_factory=dict)


NGINX_MAIN = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/nginx-temp/body;
    proxy_temp_path {dir}/nginx-temp/proxy;
    fastcgi_temp_path {dir}/nginx-temp/fastcgi;
    uwsgi_temp_path {dir}/nginx-temp/uwsgi;
    scgi_temp_path {dir}/nginx-temp/scgi;
    include {dir}/consentry.conf;
}}
"""


@contextmanager
def deployment(*, postgres_url: str, database: str, redis_url: str, env: dict[str, str]) -> Iterator[Deployment]:
    """Start PgBouncer, three Consentry processes (together, on an empty database), the platform API and nginx."""
    nginx, pgbouncer = find_binary("nginx"), find_binary("pgbouncer")
    assert nginx and pgbouncer
    directory = Path(tempfile.mkdtemp(prefix="consentry-deploy-"))
    # PgBouncer refuses to run as root and nginx's workers drop to nobody: both must read (and nginx write) here.
    directory.chmod(0o755)
    gateway_secret = "gateway-secret-of-the-deploy-test-0123456789"
    password = "pgbouncer-password-of-the-deploy-test"
    postgres = make_url(postgres_url)
    user = postgres.username or "postgres"
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, directory, ignore_errors=True)

        # PgBouncer, transaction mode, in front of the test's PostgreSQL.
        pgbouncer_port = _free_port()
        auth_file = directory / "userlist.txt"
        auth_file.write_text(f'"{user}" "{password}"\n')
        hba_file = directory / "pgbouncer_hba.conf"
        hba_file.write_text(render(DEPLOY / "pgbouncer" / "pgbouncer_hba.conf", {}))
        ini = directory / "pgbouncer.ini"
        ini.write_text(render(DEPLOY / "pgbouncer" / "pgbouncer.ini", {
            "PGBOUNCER_LISTEN_PORT": str(pgbouncer_port), "POSTGRES_HOST": postgres.host or "127.0.0.1",
            "POSTGRES_PORT": str(postgres.port or 5432), "CONSENTRY_DATABASE": database,
            "PGBOUNCER_AUTH_FILE": str(auth_file), "PGBOUNCER_HBA_FILE": str(hba_file)}))
        for path in (auth_file, hba_file, ini):
            path.chmod(0o644)
        as_user = ["-u", "nobody"] if os.geteuid() == 0 else []
        bouncer = subprocess.Popen([pgbouncer, *as_user, str(ini)], stdout=subprocess.DEVNULL,
                                   stderr=(directory / "pgbouncer.log").open("wb"))
        stack.callback(stop, bouncer)
        wait_for_port(pgbouncer_port, bouncer, "pgbouncer", log=directory / "pgbouncer.log")

        # Three Consentry processes from the systemd unit, all started at once on the empty database.
        nginx_port, api_port = _free_port(), _free_port()
        env_file = directory / "consentry.env"
        env_file.write_text("".join(f"{key}={value}\n" for key, value in {
            "CONSENTRY_DATABASE_URL": f"postgresql://{user}@127.0.0.1:{pgbouncer_port}/consentry",
            "CONSENTRY_DATABASE_POOLING": "off",
            "CONSENTRY_REDIS_URL": redis_url,
            "CONSENTRY_BASE_URL": f"http://127.0.0.1:{nginx_port}",
            "CONSENTRY_GATEWAY_SECRET": gateway_secret,
            "CONSENTRY_GATEWAY_NETWORKS": "127.0.0.0/8",
            "CONSENTRY_FORWARDED_ALLOW_IPS": "127.0.0.1",
            "CONSENTRY_LOG_LEVEL": "INFO",
            **env,
        }.items()))
        unit_text = render(DEPLOY / "systemd" / "consentry@.service", {
            "CONSENTRY_HOME": str(ROOT), "CONSENTRY_ENV_FILE": str(env_file), "CONSENTRY_BIND": "127.0.0.1"})
        instances = []
        started = time.monotonic()
        for port in (_free_port(), _free_port(), _free_port()):
            unit = SystemdUnit.of(unit_text, instance=str(port), runtime_root=directory / "run")
            unit.runtime_directory.mkdir(parents=True)
            log_path = directory / f"consentry-{port}.log"
            # The unit's interpreter is the checkout's .venv (scripts/install makes it, and runs the tests with it);
            # a checkout without one (a git worktree sharing another's venv) runs it with the tests' interpreter.
            python = unit.command[0] if Path(unit.command[0]).exists() else sys.executable
            command = [python, *unit.command[1:]]
            process = subprocess.Popen(command, cwd=unit.working_directory, env={**os.environ, **unit.environment},
                                       stdout=subprocess.DEVNULL, stderr=log_path.open("wb"))
            stack.callback(stop, process)
            instances.append(Instance(port=port, process=process, log_path=log_path))
        for instance in instances:
            wait_for_port(instance.port, instance.process, f"consentry on {instance.port}", timeout=90,
                          log=instance.log_path)
        timings = {"three processes migrated and listening (s)": time.monotonic() - started}

        stack.enter_context(serve_in_thread(platform_api(), api_port))

        # nginx, with the site from deploy/ and a main configuration of the test's own (paths in the temp dir).
        secret_file = directory / "gateway-secret.conf"
        secret_file.write_text(f'proxy_set_header X-Consentry-Gateway-Secret "{gateway_secret}";\n')
        (directory / "consentry.conf").write_text(render(DEPLOY / "nginx" / "consentry.conf", {
            "CONSENTRY_LISTEN": f"127.0.0.1:{nginx_port}",
            **{f"CONSENTRY_SERVER_{n}": f"127.0.0.1:{instance.port}" for n, instance in enumerate(instances, 1)},
            "PLATFORM_API_SERVER": f"127.0.0.1:{api_port}", "CONSENTRY_GATEWAY_SECRET_FILE": str(secret_file)}))
        (directory / "nginx.conf").write_text(NGINX_MAIN.format(dir=directory))
        temp = directory / "nginx-temp"
        temp.mkdir()
        if os.geteuid() == 0:
            os.chown(temp, 65534, 65534)  # nobody: nginx's workers run as that user when the master is root
        server = subprocess.Popen([nginx, "-p", str(directory), "-c", str(directory / "nginx.conf"),
                                   "-e", str(directory / "nginx-error.log")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(stop, server)
        wait_for_port(nginx_port, server, "nginx", log=directory / "nginx-error.log")

        yield Deployment(directory=directory, nginx_url=f"http://127.0.0.1:{nginx_port}", instances=instances,
                         gateway_secret=gateway_secret,
                         database_url=postgres.set(database=database).render_as_string(hide_password=False),
                         timings=timings)
