"""Driving Debian's Chromium with Playwright: launch, skip rules, demo data, and a signed-in page.

Playwright's own browser download does not work offline, so the tests use the system Chromium. Without it they
skip with a reason, except in CI (``CI=true``), where a missing browser fails the run: ``scripts/test`` installs it.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engines import with_session
from app.services import apps
from app.services.apps import RegisteredApp
from app.services.demo_data import DEMO_PASSWORD, DEMO_USERNAME, seed_demo
from app.services.permissions import load_catalog
from app.settings import Settings
from tests.conftest import LiveServer

CHROMIUM = Path(os.environ.get("CONSENTRY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

T = TypeVar("T")


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if IN_CI:
        pytest.fail(f"Chromium is required in CI and missing at {CHROMIUM} (scripts/test installs it with apt-get)")
    pytest.skip(f"browser tests need Chromium at {CHROMIUM}: apt-get install chromium (or set CONSENTRY_CHROMIUM)")


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


# Module scope, not session: while the sync driver runs, its event loop counts as running in this thread, and
# pytest-asyncio cannot start the async tests of other modules until it stops.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def demo(request: pytest.FixtureRequest, backend: str) -> LiveServer:
    """A live server holding the demo data. Browser tests run on SQLite only: the pages read and write through
    the same services and GraphQL mutations the PostgreSQL runs of the other tests cover."""
    if backend != "sqlite":
        pytest.skip("browser tests run on one engine (SQLite)")
    require_chromium()
    live_server: LiveServer = request.getfixturevalue("live_server")  # only now: no server for a skipped run
    seed(live_server.settings)
    return live_server


def run_async(work: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a loop of its own, in a thread of its own.

    The live server's engine belongs to the server's loop and pytest-asyncio owns this thread's loop, so test
    data is written through a separate engine on a separate loop.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work()).result()  # type: ignore[arg-type]


def with_db(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    return run_async(lambda: with_session(settings.database_url, work))


def seed(settings: Settings) -> None:
    """The demo account (4 sessions elsewhere, 3 connected apps), as ``scripts/serve`` creates it."""
    with_db(settings, lambda db: seed_demo(db, settings=settings))


class PageErrors:
    """Console errors and uncaught exceptions of a page: a CSP violation or a broken module shows up here."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.messages.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(message.text)


def new_context(browser: Browser, *, viewport: dict[str, int] | None = None, **options: Any) -> BrowserContext:
    return browser.new_context(viewport=viewport or DESKTOP, **options)  # type: ignore[arg-type]


def sign_in(page: Page, base_url: str, *, next_path: str = "/settings", username: str = DEMO_USERNAME,
            password: str = DEMO_PASSWORD, lands_on: str | re.Pattern[str] | None = None) -> None:
    """Open ``next_path``, get sent to the sign-in page, sign in with the form, and land on ``lands_on``
    (by default ``next_path`` itself)."""
    page.goto(f"{base_url}{next_path}")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lands_on or f"{base_url}{next_path}")


class AppCallback:
    """A third-party app's redirect URI on a loopback port: records what the browser brings back to it."""

    def __init__(self) -> None:
        received: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/callback":  # not the browser's own /favicon.ico
                    query = parse_qs(parts.query, keep_blank_values=True)
                    received.append({key: values[0] for key, values in query.items()})
                body = b"<!doctype html><title>Example app</title><p>Back in the app.</p>"
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_address[1]}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AppCallback:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def register_app(settings: Settings, *, redirect_uri: str, scopes: str, name: str = "Pixelfeed",
                 description: str = "Share photo posts and see how they do.",
                 developer_name: str = "Pixelfeed Studio", icon_url: str | None = None) -> RegisteredApp:
    """A confidential third-party app, registered as the operator would with ``python -m app register-app``."""
    return with_db(settings, lambda db: apps.register_app(
        db, owner=None, name=name, description=description, website_url="https://pixelfeed.example", icon_url=icon_url,
        redirect_uris=[redirect_uri], scopes=scopes.split(), confidential=True, developer_name=developer_name,
        catalog=load_catalog(settings.permission_catalog_path)))


def authorize_url(base_url: str, reg: RegisteredApp, *, redirect_uri: str, scope: str, challenge: str,
                  state: str = "state-from-the-app") -> str:
    return f"{base_url}/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": reg.app.client_id, "redirect_uri": redirect_uri, "scope": scope,
        "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
    })


def token_request(base_url: str, reg: RegisteredApp, data: dict[str, str]) -> httpx.Response:
    """A call the app's own server makes to the token endpoint, authenticated with its client secret."""
    assert reg.client_secret is not None
    return httpx.post(f"{base_url}/oauth/token", auth=(reg.app.client_id, reg.client_secret), data=data)


def exchange_code(base_url: str, reg: RegisteredApp, *, code: str, verifier: str, redirect_uri: str) -> httpx.Response:
    return token_request(base_url, reg, {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                                         "redirect_uri": redirect_uri})


def call_me(base_url: str, access_token: str) -> httpx.Response:
    return httpx.get(f"{base_url}/api/v1/me", headers={"authorization": f"Bearer {access_token}"})


@pytest.fixture
def callback() -> Iterator[AppCallback]:
    """An app's redirect URI, listening on loopback for the browser to land on."""
    with AppCallback() as app_callback:
        yield app_callback
