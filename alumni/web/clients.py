"""What the app knows of the client: its address, as the trusted proxies (TRUSTED_PROXIES,
werkzeug's ProxyFix in ``create_app``) pass it on."""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback"]


def is_loopback(address: str | None) -> bool:
    """127.0.0.0/8 or ::1, also written as an IPv4-mapped IPv6 address (dual-stack servers)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
