"""authgate.testing: test your protected API with real signed tokens.

A ``TestIssuer`` serves discovery and a JWKS on 127.0.0.1 and mints tokens
with the claims and permissions a test asks for, including expired,
not-yet-valid, wrong-audience and forged ones, and rotates its keys. Needs
only the guard's dependencies and pytest; the pytest fixtures
(``authgate_issuer``, ``authgate_issuer_factory``, ``authgate_clock``) load
by themselves once authgate is installed.

    def test_baristas_read_recipes(authgate_issuer, client):
        headers = authgate_issuer.auth_headers("get:drinks-detail")
        assert client.get("/drinks-detail", headers=headers).status_code == 200

TEST KEYS ONLY: nothing here is fit to issue real tokens.
"""

from authgate.testing.clock import FakeClock
from authgate.testing.issuer import DEFAULT_AUDIENCE, TestIssuer
from authgate.testing.keys import TestKey, new_key

__all__ = ["DEFAULT_AUDIENCE", "FakeClock", "TestIssuer", "TestKey", "new_key"]
