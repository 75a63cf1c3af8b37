"""Jinja2 templates for the server-rendered pages, and the security headers every page carries."""

from __future__ import annotations

from pathlib import Path

from starlette.templating import Jinja2Templates

from app.web import display

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


templates.env.filters["ago"] = display.relative_time
templates.env.filters["exact"] = display.exact_time
templates.env.filters["isotime"] = display.iso_time
