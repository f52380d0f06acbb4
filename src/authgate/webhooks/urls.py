"""Which URLs a webhook may have, and which addresses a delivery may reach (SSRF).

A webhook URL is http(s), carries no credentials and no fragment, and fits
the column; plain http only to a loopback host. At delivery, the host's
addresses are resolved and each is checked: loopback, private, link-local,
multicast, reserved and unspecified addresses are refused unless allowed
(`AUTHGATE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES`; loopback is allowed by default
only when the issuer itself is on loopback, i.e. in development). The check
runs before the request, so a DNS answer that changes in between (rebinding)
is not caught: put a proxy in front if the receivers are untrusted.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from authgate import text
from authgate.errors import InvalidInput
from authgate.storage import limits

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def validate_webhook_url(url: str) -> str:
    text.checked(url, limits.WEBHOOK_URL, field="url", what="The URL")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port out of range
    except ValueError:
        raise InvalidInput("url is not a valid URL", field="url") from None
    if parts.scheme not in {"http", "https"}:
        raise InvalidInput("url must be http or https", field="url")
    if not parts.hostname or any(character.isspace() for character in url):
        raise InvalidInput("url must have a host and no spaces", field="url")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url must not carry credentials (sign with the webhook secret instead)", field="url")
    if parts.fragment or "#" in url:
        raise InvalidInput("url must not have a fragment", field="url")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise InvalidInput("url must be https (plain http only for a loopback host)", field="url")
    del port
    return url


def is_loopback_host(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AddressRefused(Exception):
    """The destination resolves to an address deliveries may not reach."""


def check_destination(url: str, *, allow_loopback: bool, allow_private: bool) -> None:
    """Resolve the URL's host; raise AddressRefused for an address the settings do not allow, OSError when
    unresolvable."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(sockaddr[0])
        if address.is_loopback:
            if not (allow_loopback or allow_private):
                raise AddressRefused(f"{host} resolves to a loopback address")
        elif not address.is_global and not allow_private:
            raise AddressRefused(f"{host} resolves to a non-public address")
