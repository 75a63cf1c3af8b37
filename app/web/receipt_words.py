"""A revocation receipt in words, for the pages' answers ("2 other sessions were logged out; 3 access tokens and
1 refresh token stopped working"). ``static/receipt.js`` says the same in the browser: keep the two in step."""

from __future__ import annotations

from app.services.receipts import Receipt


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def receipt_sentence(receipt: Receipt, *, apps: int = 0) -> str:
    parts = []
    if receipt.sessions:
        parts.append(_count(receipt.sessions, "other session was", "other sessions were") + " logged out")
    if apps:
        parts.append(_count(apps, "app was", "apps were") + " disconnected")
    tokens = [text for number, text in (
        (receipt.access_tokens, _count(receipt.access_tokens, "access token", "access tokens")),
        (receipt.refresh_tokens, _count(receipt.refresh_tokens, "refresh token", "refresh tokens"))) if number]
    if tokens:
        parts.append(" and ".join(tokens) + " stopped working")
    return "; ".join(parts) + "." if parts else "Nothing else was ended."
