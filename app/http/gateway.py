"""Endpoints only the gateway may call: the gateway check (``/oauth/check``) and ``/metrics``.

The gateway proves itself with a shared secret in ``X-Consentry-Gateway-Secret`` (``CONSENTRY_GATEWAY_SECRET``,
compared in constant time), by calling from an allowed network (``CONSENTRY_GATEWAY_NETWORKS``, CIDRs), or both:
every rule that is configured must hold, and with none configured nobody may call. A refusal is a bare 403 that
says nothing about which rule failed. ``/metrics`` also takes the secret as ``Authorization: Bearer``, the one way
Prometheus sends a credential.

The network is matched against the address the app sees the request come from (as ``app.http.auth.client_ip``): with
``serve --proxy-headers``, a caller listed in ``--forwarded-allow-ips`` that sends ``X-Forwarded-For`` is taken at
its word about the client. So a gateway that is also a trusted proxy must not send ``X-Forwarded-For`` on its check
requests (deploy/nginx does not), or it is judged by its client's address; use the secret where that cannot be
arranged (Traefik's ForwardAuth always sends it).
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.responses import Response

from app.settings import Settings

SECRET_HEADER = "x-consentry-gateway-secret"  # noqa: S105 - a header's name, not a secret
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class GatewayPolicy:
    """The configured rules, parsed once."""

    secret: bytes | None
    networks: tuple[Network, ...]

    @classmethod
    def of(cls, settings: Settings) -> GatewayPolicy:
        return cls(secret=settings.gateway_secret.encode() if settings.gateway_secret else None,
                   networks=tuple(ipaddress.ip_network(net, strict=False) for net in settings.gateway_networks))

    def allows(self, conn: HTTPConnection, *, secret_as_bearer: bool = False) -> bool:
        """True when every configured rule holds for this request (False when none is configured).

        ``secret_as_bearer``: the secret may come as ``Authorization: Bearer <secret>`` instead, which is what
        Prometheus' scrape configuration sends (``authorization: {credentials_file: ...}``). Not for the gateway
        check, whose Authorization header is the API request's own.
        """
        if self.secret is None and not self.networks:
            return False
        if self.secret is not None and not _secret_sent(conn, self.secret, secret_as_bearer=secret_as_bearer):
            return False
        return not self.networks or _in_networks(conn.client.host if conn.client else None, self.networks)


def _secret_sent(conn: HTTPConnection, secret: bytes, *, secret_as_bearer: bool) -> bool:
    sent = conn.headers.get(SECRET_HEADER)
    if sent is None and secret_as_bearer:
        scheme, _, credentials = conn.headers.get("authorization", "").partition(" ")
        sent = credentials.strip() if scheme.lower() == "bearer" else None
    # Header values arrive as latin-1 text; their raw bytes are compared, in time independent of the match.
    return hmac.compare_digest((sent or "").encode("latin-1"), secret)


def _in_networks(address: str | None, networks: tuple[Network, ...]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # a unix socket path or a proxy's odd value: no network holds it
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 from a dual-stack socket is 10.0.0.1
    return any(ip in network for network in networks)


def refused() -> Response:
    """The answer to anyone but the gateway: 403 and nothing else."""
    return Response(status_code=403, headers={"Cache-Control": "no-store"})
