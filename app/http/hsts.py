"""Production answers tell browsers to use HTTPS only: ``Strict-Transport-Security`` on every response.

Two years and every subdomain, as the HSTS preload list asks; ``preload`` itself is left out, since entering a
domain into the browsers' built-in list is a decision about the whole domain, the operator's to make. Development
serves plain http on 127.0.0.1 and sends nothing (a browser would refuse plain http there for two years).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS_HEADER = "Strict-Transport-Security"
HSTS_VALUE = "max-age=63072000; includeSubDomains"


class StrictTransportSecurityMiddleware:
    """Add ``Strict-Transport-Security`` to every HTTP response (app.main adds this middleware in production)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HSTS_HEADER] = HSTS_VALUE
            await send(message)

        await self.app(scope, receive, send_with_hsts)
