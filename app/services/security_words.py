"""A security event in plain words, the same on the page and in the API: "Signed in on a new device: Firefox on
Windows, Germany".

Words name the browser and system without versions (an update is not news) and the country; never the IP address,
which is shown masked beside them and in full only when asked for.
"""

from __future__ import annotations

from typing import Any

from app.services.security_events import EventRow, Kind, family


def software(*, device: str | None, browser: str | None, os: str | None) -> str:
    """"Firefox on Windows", "Mobile Safari on iOS", "iPhone", or "an unknown device"."""
    browser_name, os_name = family(browser), family(os)
    if browser_name and os_name:
        return f"{browser_name} on {os_name}"
    return browser_name or os_name or (device if device and device != "Computer" else None) or "an unknown device"


def place(*, device: str | None, browser: str | None, os: str | None, location: str | None) -> str:
    """Software and country: "Firefox on Windows, Germany"."""
    described = software(device=device, browser=browser, os=os)
    return f"{described}, {location}" if location else described


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _ended(details: dict[str, Any]) -> str:
    """What a receipt in ``details`` ended, in words ("2 access tokens and 1 refresh token"), or ""."""
    parts = [_plural(int(details.get("sessions") or 0), "session"),
             _plural(int(details.get("access_tokens") or 0), "access token"),
             _plural(int(details.get("refresh_tokens") or 0), "refresh token")]
    shown = [part for part in parts if not part.startswith("0 ")]
    if not shown:
        return ""
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def describe(event: EventRow) -> str:
    """The event as one sentence."""
    details: dict[str, Any] = event.details or {}
    where = place(device=event.device, browser=event.browser, os=event.os, location=event.location)
    app = str(details.get("app_name") or "an app")
    kind = event.kind
    if kind == Kind.SIGNED_IN:
        if event.is_new_device and event.is_new_country:
            return f"Signed in on a new device, from a new country: {where}"
        if event.is_new_device:
            return f"Signed in on a new device: {where}"
        if event.is_new_country:
            return f"Signed in from a new country: {where}"
        return f"Signed in: {where}"
    if kind == Kind.SIGN_IN_LIMITED:
        return f"Sign-in paused after too many wrong passwords: {where}"
    if kind == Kind.SIGNED_OUT:
        return f"Signed out: {where}"
    if kind == Kind.SESSION_LOGGED_OUT:
        ended = details.get("session") or {}
        target = place(device=ended.get("device"), browser=ended.get("browser"), os=ended.get("os"),
                       location=ended.get("location"))
        return f"Logged out the session on {target}, from {where}"
    if kind == Kind.OTHER_SESSIONS_LOGGED_OUT:
        return f"Logged out {_plural(int(details.get('count') or 0), 'other session')}, from {where}"
    if kind == Kind.APP_AUTHORIZED:
        return f"Authorized {app} ({_plural(len(details.get('scopes') or []), 'permission')}), from {where}"
    if kind == Kind.APP_PERMISSIONS_CHANGED:
        return f"Changed what {app} may do, from {where}"
    if kind == Kind.APP_REVOKED:
        ended_words = _ended(details)
        return f"Revoked access for {app}" + (f" ({ended_words} ended)" if ended_words else "") + f", from {where}"
    if kind == Kind.APP_EXPIRY_WARNING:
        return f"{app}'s access will expire soon"
    if kind == Kind.PASSWORD_CHANGED:
        ended_words = _ended(details)
        return "Changed the password" + (f" ({ended_words} ended)" if ended_words else "") + f", from {where}"
    if kind == Kind.ACCOUNT_SECURED:
        ended_words = _ended(details)
        apps = int(details.get("apps") or 0)
        revoked = f", {_plural(apps, 'app')} revoked" if apps else ""
        return (f"Secured the account (\u201cThis wasn\u2019t me\u201d): {ended_words or 'nothing'} ended{revoked}, "
                f"from {where}")
    return f"{kind.replace('_', ' ').capitalize()}, from {where}"
