"""Device cookies: a device that signed in to an account before proves it with a value only this server can make
(OWASP Authentication cheat sheet, "Device Cookies").

The sign-in limits (``ratelimit``) give such a device a budget of its own instead of the account-wide one, so a
stranger guessing an account's password cannot lock its owner out of the devices they already use.

A cookie holds up to ``MAX_ACCOUNTS`` entries (a shared computer remembers several people), newest first, joined by
``~``. An entry is ``<account id hex>.<issued, epoch seconds>.<nonce>.<signature>``: the signature is an
HMAC-SHA256 with the secret key over the account id, the account's username key, the issue time and a random
nonce. The username key is signed but not written in the cookie: an entry only verifies for the username being
typed, so a cookie a guesser earned on an account of their own vouches for nothing else. Nothing is stored on the
server: an entry dies with its ``LIFETIME`` or a new secret key, and each successful sign-in replaces the account's
entry with a fresh nonce. The nonce names the device for its budget.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

LIFETIME = timedelta(days=365)
MAX_ACCOUNTS = 5
MAX_COOKIE_LENGTH = 1024  # five entries take about 560 characters; anything longer is not ours
_ENTRY = re.compile(r"^([0-9a-f]{32})\.([0-9]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$")
_PURPOSE = b"consentry device cookie v1"


@dataclass(frozen=True)
class KnownDevice:
    """The verdict on a request's device cookie: this device signed in to the account of ``username_key`` before.
    ``device_id`` names the device's own budget of failed sign-ins."""

    username_key: str
    device_id: str


def _signature(secret_key: str, *, account_hex: str, username_key: str, issued: str, nonce: str) -> str:
    message = f"{account_hex}|{username_key}|{issued}|{nonce}".encode("utf-8", "surrogatepass")
    mac = hmac.new(secret_key.encode(), _PURPOSE + b"|" + message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _entries(cookie: str | None) -> list[re.Match[str]]:
    if not cookie or len(cookie) > MAX_COOKIE_LENGTH:
        return []
    found = (_ENTRY.match(entry) for entry in cookie.split("~")[:MAX_ACCOUNTS])
    return [match for match in found if match is not None]


def recognise(cookie: str | None, *, username_key: str, secret_key: str) -> KnownDevice | None:
    """The device the cookie vouches for on the account of ``username_key``, or None (no cookie, forged, expired,
    or issued for other accounts)."""
    oldest = time.time() - LIFETIME.total_seconds()
    for entry in _entries(cookie):
        account_hex, issued, nonce, signature = entry.groups()
        if int(issued) < oldest:
            continue
        expected = _signature(secret_key, account_hex=account_hex, username_key=username_key, issued=issued,
                              nonce=nonce)
        if hmac.compare_digest(expected, signature):
            return KnownDevice(username_key=username_key, device_id=nonce)
    return None


def remembered(cookie: str | None, *, account_id: uuid.UUID, username_key: str, secret_key: str) -> str:
    """The cookie's new value after a successful sign-in to ``account_id``: a fresh entry for it first, then the
    other accounts' entries the cookie held (at most ``MAX_ACCOUNTS`` in all)."""
    account_hex, issued, nonce = account_id.hex, str(int(time.time())), secrets.token_urlsafe(16)
    entry = ".".join((account_hex, issued, nonce, _signature(
        secret_key, account_hex=account_hex, username_key=username_key, issued=issued, nonce=nonce)))
    others = [match.group(0) for match in _entries(cookie) if match.group(1) != account_hex]
    return "~".join([entry, *others[:MAX_ACCOUNTS - 1]])
