"""The caller's address: the socket peer, or X-Forwarded-For when the peer is a trusted proxy.

The result is stored (audit events, brute-force counters, sessions), so it
is always text that fits: a forwarded address only when it is one (in its
canonical text), since X-Forwarded-For carries whatever the client put in
front of what the proxy appended; the peer as the server reports it, or
"unknown" if that would not fit (a server in front may have rewritten it).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import HTTPConnection

from authgate import text
from authgate.storage import limits

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"


@lru_cache(maxsize=16)
def _networks(
    trusted: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in trusted)


def client_ip(request: HTTPConnection, trusted_proxies: tuple[str, ...] = ()) -> str:
    host = request.client.host if request.client else ""
    fits = text.is_acceptable(host) and limits.is_storable(host, limits.IP_ADDRESS)
    peer = host if host and fits else UNKNOWN
    if not trusted_proxies or not _is_trusted(_address(peer), trusted_proxies):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    # Walk from the nearest hop back; the first untrusted address is the client.
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        address = _address(hop)
        if address is None:
            return peer  # not an address: the nearest proxy we trust is all that is known
        if not _is_trusted(address, trusted_proxies):
            return str(address)
    return peer


def is_trusted_peer(host: str, trusted_proxies: tuple[str, ...]) -> bool:
    """Whether the socket peer `host` is one of the trusted proxies (whose forwarded headers are believed)."""
    return bool(trusted_proxies) and _is_trusted(_address(host), trusted_proxies)


def _address(value: str) -> Address | None:
    """The IP address `value` names, if its canonical text fits (a zone id may be long)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return address if len(str(address)) <= limits.IP_ADDRESS else None


def _is_trusted(address: Address | None, trusted: tuple[str, ...]) -> bool:
    return address is not None and any(address in network for network in _networks(trusted))
