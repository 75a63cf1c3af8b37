"""Turn a user agent and an IP address into words a person recognises ("iPhone", "Safari 17", "Germany").

Both lookups are offline: ua-parser's bundled rules and geoip2fast's bundled country database.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from geoip2fast import GeoIP2Fast
from ua_parser import parse

_DESKTOP_SYSTEMS = {"Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Fedora", "Chrome OS", "FreeBSD", "Debian"}


@dataclass(frozen=True)
class DeviceInfo:
    device: str | None
    browser: str | None
    os: str | None


def _version(family: str, major: str | None, minor: str | None) -> str:
    if not major:
        return family
    return f"{family} {major}" + (f".{minor}" if minor and minor != "0" else "")


@lru_cache(maxsize=2048)
def describe_user_agent(user_agent: str | None) -> DeviceInfo:
    if not user_agent:
        return DeviceInfo(device=None, browser=None, os=None)
    parsed = parse(user_agent[:512])
    agent, system, hardware = parsed.user_agent, parsed.os, parsed.device
    browser = _version(agent.family, agent.major, agent.minor) if agent and agent.family != "Other" else None
    os_name = _version(system.family, system.major, system.minor) if system and system.family != "Other" else None
    if hardware and hardware.family not in ("Other", "Generic Smartphone", "Spider"):
        device = hardware.family
    elif system and system.family in _DESKTOP_SYSTEMS:
        device = "Computer"
    else:
        device = None
    return DeviceInfo(device=device, browser=browser, os=os_name)


@lru_cache(maxsize=1)
def _geo() -> GeoIP2Fast:
    return GeoIP2Fast()


@lru_cache(maxsize=4096)
def describe_location(ip_address: str | None) -> str | None:
    if not ip_address:
        return None
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return None
    if address.is_loopback or address.is_private or address.is_link_local:
        return "Local network"
    result = _geo().lookup(str(address))
    if not result.country_code or result.country_code == "--":
        return None
    return str(result.country_name)
