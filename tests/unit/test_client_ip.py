"""web/client_ip.py: only an address that fits its columns comes out of X-Forwarded-For."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from authgate.http.client_ip import UNKNOWN, client_ip

TRUSTED = ("127.0.0.1/32", "10.0.0.0/8")


def request(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode("latin-1"))] if forwarded is not None else []
    return Request(
        {"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 1234)}
    )


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
        (
            "127.0.0.1",
            "198.51.100.1, 203.0.113.9, 10.0.0.2",
            "203.0.113.9",
        ),  # nearest untrusted hop
        ("127.0.0.1", "2001:DB8:0:0::1", "2001:db8::1"),  # canonical text
        ("127.0.0.1", "not-an-address", "127.0.0.1"),  # the proxy is all that is known
        ("127.0.0.1", "x" * 5000, "127.0.0.1"),
        ("127.0.0.1", "1.2.3.4\xff", "127.0.0.1"),
        ("127.0.0.1", "fe80::1%" + "x" * 100, "127.0.0.1"),  # a zone id longer than the ip columns
        ("127.0.0.1", ", ".join(["10.0.0.1"] * 300), "127.0.0.1"),  # all trusted
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # an untrusted peer's header is ignored
        (
            "x" * 100,
            None,
            UNKNOWN,
        ),  # a peer a server in front rewrote into something that does not fit
    ],
)
def test_forwarded_addresses(peer: str, forwarded: str | None, expected: str) -> None:
    assert client_ip(request(peer, forwarded), TRUSTED) == expected
