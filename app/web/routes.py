"""Browser pages and their static files."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from app.web import account_pages, app_page, consent, password_page, security_page, settings_page, signin

STATIC_DIR = Path(__file__).parent / "static"

routes: list[BaseRoute] = [
    Route("/", account_pages.home, methods=["GET"]),
    Route("/login", signin.login_page, methods=["GET"]),
    Route("/login", signin.login_submit, methods=["POST"]),
    Route("/logout", signin.logout_submit, methods=["POST"]),
    Route("/settings", settings_page.settings_page, methods=["GET"]),
    Route("/settings/security", security_page.security_page, methods=["GET"]),
    Route("/settings/apps/{id}", app_page.app_page, methods=["GET"]),
    Route("/settings/password", password_page.password_page, methods=["GET"]),
    Route("/settings/password", password_page.password_submit, methods=["POST"]),
    Route("/oauth/consent", consent.consent_form, methods=["GET"]),
    Route("/oauth/consent", consent.consent_decision, methods=["POST"]),
    Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
]
