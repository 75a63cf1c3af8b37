"""Cross-site request checks for cookie-authenticated writes (OWASP CSRF cheat sheet: Fetch Metadata + Origin), and
the sign-in form's token for the browsers that send neither header.

``POST /login`` needs no session, so it is open to *login CSRF*: another site signs a victim's browser in to the
attacker's account, and whatever the victim then does (authorizing an app, say) happens there. Modern browsers
say where a POST came from (``Sec-Fetch-Site``, ``Origin``), and ``is_cross_site`` refuses other sites. A request
with neither header is an old browser or not a browser at all, and for it the form's token has to vouch instead
(``login_post_vouched``). The token is a signed double-submit one: a random value in a short-lived cookie
(``HttpOnly``, ``SameSite=Lax``, ``__Host-``-prefixed on https, so a sibling subdomain cannot plant one) and, in
a hidden field of the form, an HMAC of that value with the secret key, compared in constant time. Another site can
read neither. The token is not required when the headers are present: they are the stronger evidence, and a sign-in
page left open past the cookie's lifetime still signs in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import Response

from app.http.state import app_state
from app.settings import Settings

LOGIN_FORM_FIELD = "csrf_token"
LOGIN_FORM_LIFETIME = timedelta(hours=2)
_NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_PURPOSE = b"consentry login form v1|"


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


def _form_cookie_name(settings: Settings) -> str:
    return "__Host-consentry_login_form" if settings.cookie_secure else "consentry_login_form"


def _form_token(settings: Settings, nonce: str) -> str:
    mac = hmac.new(settings.secret_key.encode(), _PURPOSE + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _form_nonce(conn: HTTPConnection) -> str | None:
    nonce = conn.cookies.get(_form_cookie_name(app_state(conn).settings))
    return nonce if nonce and _NONCE.match(nonce) else None


@dataclass(frozen=True)
class LoginFormToken:
    """The token of one rendered sign-in form: the hidden field's value, and the form cookie's value to set when
    the browser had none (a browser's cookie is kept, so two open sign-in tabs both keep working)."""

    field: str
    new_cookie: str | None


def login_form_token(conn: HTTPConnection) -> LoginFormToken:
    settings = app_state(conn).settings
    nonce = _form_nonce(conn)
    if nonce is not None:
        return LoginFormToken(field=_form_token(settings, nonce), new_cookie=None)
    nonce = secrets.token_urlsafe(32)
    return LoginFormToken(field=_form_token(settings, nonce), new_cookie=nonce)


def set_login_form_cookie(conn: HTTPConnection, response: Response, token: LoginFormToken) -> None:
    """Set the form cookie ``token`` needs, if the browser does not hold it yet."""
    if token.new_cookie is None:
        return
    settings = app_state(conn).settings
    response.set_cookie(_form_cookie_name(settings), token.new_cookie, path="/", secure=settings.cookie_secure,
                        max_age=int(LOGIN_FORM_LIFETIME.total_seconds()), httponly=True, samesite="lax")


def login_post_vouched(conn: HTTPConnection, *, form_token: str) -> bool:
    """Whether a sign-in POST (already past ``is_cross_site``) may go on: a browser's ``Origin`` or
    ``Sec-Fetch-Site`` says it came from our own page, or else the form's token matches the form cookie."""
    if "origin" in conn.headers or "sec-fetch-site" in conn.headers:
        return True
    nonce = _form_nonce(conn)
    if nonce is None or not form_token:
        return False
    return hmac.compare_digest(_form_token(app_state(conn).settings, nonce).encode(), form_token.encode())
