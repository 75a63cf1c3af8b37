"""Jinja2 templates for the server-rendered pages, and the security headers every page carries."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from starlette.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

# No inline script or style anywhere, so the policy can forbid both; frame-ancestors stops clickjacking.
PAGE_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
        "connect-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    # Not "no-referrer": under it browsers send `Origin: null` on the pages' own form posts, which the cross-site
    # check must refuse. "same-origin" still sends nothing to other sites.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _human(value: datetime | None) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC") if value else ""


templates.env.filters["iso"] = _iso
templates.env.filters["human"] = _human
