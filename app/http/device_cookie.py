"""The device cookie on the wire, for both ways of signing in (``/login`` and the GraphQL ``login`` mutation).

What the cookie proves and how is ``app.services.known_devices``; this module only reads it from a request and sets
it on a response. It is ``HttpOnly`` and ``SameSite=Lax`` like the session cookie, and on https ``Secure`` with the
``__Host-`` prefix (pinned to this host and path ``/``). It outlives sessions and sign-outs: that is its point.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import Response

from app.http.state import app_state
from app.models import Account
from app.services import known_devices
from app.services.accounts import username_key
from app.services.known_devices import KnownDevice
from app.settings import Settings


def device_cookie_name(settings: Settings) -> str:
    return "__Host-consentry_device" if settings.cookie_secure else "consentry_device"


def known_device(conn: HTTPConnection, *, username: str) -> KnownDevice | None:
    """The verdict on the request's device cookie for the account ``username`` names (None: an unknown device)."""
    settings = app_state(conn).settings
    return known_devices.recognise(conn.cookies.get(device_cookie_name(settings)),
                                   username_key=username_key(username), secret_key=settings.secret_key)


def remember_device(conn: HTTPConnection, response: Response, *, account: Account) -> None:
    """After a successful sign-in: set the cookie that makes this device known to ``account`` from now on."""
    settings = app_state(conn).settings
    name = device_cookie_name(settings)
    value = known_devices.remembered(conn.cookies.get(name), account_id=account.id,
                                     username_key=account.username_key, secret_key=settings.secret_key)
    response.set_cookie(name, value, max_age=int(known_devices.LIFETIME.total_seconds()), path="/",
                        secure=settings.cookie_secure, httponly=True, samesite="lax")
