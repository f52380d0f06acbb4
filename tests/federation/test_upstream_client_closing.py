"""The upstream HTTP clients are closed: each code exchange's Authlib client when it is done, the shared one at
shutdown (the app's lifespan). No connection is left to the garbage collector (which would warn: ResourceWarning).

The provider is a small HTTP server on loopback (real sockets, kept alive between requests).
"""

from __future__ import annotations

import gc
import json
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from starlette.testclient import TestClient

from authgate import bootstrap
from authgate.federation.providers import ProviderSpec
from authgate.federation.upstream import Upstream, UpstreamUnavailable
from authgate.services import Services
from authgate.web.app import create_app
from testkit import free_port


class Provider(BaseHTTPRequestHandler):
    """Its discovery document, and a token endpoint that answers every code."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.answer({"issuer": issuer, "authorization_endpoint": issuer + "/auth", "token_endpoint": issuer + "/token",
                     "jwks_uri": issuer + "/jwks"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer({"access_token": "upstream-access-token", "token_type": "Bearer"})

    def answer(self, document: dict[str, str]) -> None:
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def issuer() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def unclosed_connections(recorded: list[warnings.WarningMessage], issuer: str) -> list[str]:
    """The connections to `issuer` left to the garbage collector. Only those: an earlier test's garbage, collected
    now, would warn here too (its sockets name another peer)."""
    gc.collect()
    peer = f"raddr=('127.0.0.1', {issuer.rsplit(':', 1)[1]})"
    return [str(warning.message) for warning in recorded
            if issubclass(warning.category, ResourceWarning) and peer in str(warning.message)]


def test_the_shared_client_is_closed_when_the_app_stops(make_settings: Any, tmp_path: Any, issuer: str) -> None:
    services = Services(make_settings(database_url=f"sqlite:///{tmp_path}/closing.db"))
    bootstrap.prepare(services)
    gc.collect()  # what earlier tests left is collected before the recording starts
    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always")
        with TestClient(create_app(services=services)) as client:
            assert client.get("/healthz").status_code == 200
            upstream = services.federation.upstream
            # A connection to the provider is opened and kept alive in the shared client's pool.
            assert upstream.metadata(ProviderSpec(alias="corp", client_id="x", issuer=issuer)).issuer == issuer
            assert not upstream.is_closed
        assert upstream.is_closed
        del client, upstream, services
        assert unclosed_connections(recorded, issuer) == []


def test_each_code_exchange_closes_its_own_client(issuer: str) -> None:
    upstream = Upstream(timeout=5, discovery_ttl=60, jwks_refetch_interval=60, clock_skew=0)
    spec = ProviderSpec(alias="hub", client_id="c", type="oauth2", authorization_endpoint=issuer + "/auth",
                        token_endpoint=issuer + "/token")
    metadata = upstream.metadata(spec)
    gc.collect()  # what earlier tests left is collected before the recording starts
    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always")
        for _ in range(3):
            token = upstream.exchange(spec, "secret", metadata, redirect_uri="https://authgate.example/cb", code="x",
                                      code_verifier="v" * 43)
            assert token["access_token"] == "upstream-access-token"
        assert unclosed_connections(recorded, issuer) == []
    upstream.close()
    assert upstream.is_closed


def test_an_unreachable_token_endpoint_is_the_providers_outage_not_an_error_trace() -> None:
    upstream = Upstream(timeout=5, discovery_ttl=60, jwks_refetch_interval=60, clock_skew=0)
    dead = f"http://127.0.0.1:{free_port()}"
    spec = ProviderSpec(alias="hub", client_id="c", type="oauth2", authorization_endpoint=dead + "/auth",
                        token_endpoint=dead + "/token")
    with pytest.raises(UpstreamUnavailable):
        upstream.exchange(spec, "secret", upstream.metadata(spec), redirect_uri="https://authgate.example/cb",
                          code="x", code_verifier="v" * 43)
    upstream.close()
