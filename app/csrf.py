"""Cross-site request checks for cookie-authenticated writes (OWASP CSRF cheat sheet: Fetch Metadata + Origin)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from app.state import app_state


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_cross_site(conn: HTTPConnection) -> bool:
    """True when a browser tells us the request came from another site or origin."""
    if conn.headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
        return True
    origin = conn.headers.get("origin")
    if origin is None:
        return False  # not sent by old browsers on same-origin POSTs; Sec-Fetch-Site covers modern ones
    own = {_origin_of(app_state(conn).settings.base_url), _origin_of(str(conn.base_url))}
    return origin.lower() == "null" or origin.lower().rstrip("/") not in own
