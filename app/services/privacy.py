"""IP addresses as people are shown them: masked to the network by default.

An address names a household or a phone; the network (an IPv4 /24, an IPv6 /48) is enough to tell "that was me at
home" from "that was somewhere else", and it is what every page and API field shows unless the full address is asked
for explicitly (GraphQL ``ipAddress(full: true)``). Addresses are stored in full: a person who asks for them, and
the operator investigating abuse, still get them.
"""

from __future__ import annotations

import ipaddress

IPV4_PREFIX = 24
IPV6_PREFIX = 48


def mask_ip(address: str | None) -> str | None:
    """``203.0.113.7`` → ``203.0.113.x``; ``2001:db8:85a3:8d3:1319:8a2e:370:7348`` → ``2001:db8:85a3::/48``.

    An IPv4 address inside IPv6 (``::ffff:203.0.113.7``) is masked as the IPv4 address it is. Anything that is not
    an address (a proxy's header can say anything) is not shown at all: it might be an address in a form we do not
    recognise."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if isinstance(parsed, ipaddress.IPv4Address):
        network = ipaddress.ip_network(f"{parsed}/{IPV4_PREFIX}", strict=False)
        return ".".join(str(network.network_address).split(".")[:3]) + ".x"
    network = ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False)
    return f"{network.network_address}/{IPV6_PREFIX}"
