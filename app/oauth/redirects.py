"""Redirects back to an app: the consent decisions of ``app.services.grants`` and the authorization endpoint's
refusals, turned into the app's redirect URI with RFC 6749 §4.1.2 parameters and RFC 9207's ``iss``."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from app.services.grants import ConsentAnswer

DECLINED = "The person declined to authorize the app."


def redirect_with(uri: str, params: dict[str, str | None]) -> str:
    """``uri`` with ``params`` appended to its query (values that are None are left out)."""
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def answer_uri(answer: ConsentAnswer, *, issuer: str) -> str:
    """The app's redirect URI carrying the person's answer: ``code`` when they approved, ``access_denied`` when not;
    ``state`` and ``iss`` either way."""
    if answer.code is not None:
        return redirect_with(answer.redirect_uri, {"code": answer.code, "state": answer.state, "iss": issuer})
    return redirect_with(answer.redirect_uri, {"error": "access_denied", "error_description": DECLINED,
                                               "state": answer.state, "iss": issuer})
