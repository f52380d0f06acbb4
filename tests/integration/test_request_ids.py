"""X-Request-ID: a trusted proxy's sane id is kept, anything else is replaced; every answer carries one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from authgate import bootstrap
from authgate.services import Services
from authgate.web.app import create_app
from testkit import LiveServer, free_port


@pytest.fixture
def start(make_settings: Any, database_url: str) -> Iterator[Any]:
    servers: list[LiveServer] = []

    def serve(**overrides: Any) -> LiveServer:
        port = free_port()
        services = Services(make_settings(database_url=database_url, issuer=f"http://127.0.0.1:{port}", **overrides))
        bootstrap.prepare(services)
        server = LiveServer(create_app(services=services), port).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


HTTP = httpx.Client(timeout=60)  # the admin API's first request imports it: slow on a busy machine
PATHS = ["/healthz", "/oauth/token", "/no/such/page", "/login", "/admin/api/users"]


def test_every_answer_carries_a_fresh_id(start):
    server = start()
    seen = set()
    for path in PATHS:
        response = HTTP.get(server.url + path, headers={"X-Request-ID": "picked-by-the-caller"})
        assert response.headers["x-request-id"] != "picked-by-the-caller", f"{path}: an untrusted peer's id is replaced"
        assert len(response.headers["x-request-id"]) == 32
        seen.add(response.headers["x-request-id"])
    assert len(seen) == len(PATHS)


@pytest.mark.parametrize(("description", "sent", "kept"), [
    ("a UUID", "0f8fad5b-d9cb-469f-a165-70867728950e", True),
    ("a load balancer's trace id", "Root=1-67891233-abcdef012345678912345678", True),
    ("128 characters", "a" * 128, True),
    ("129 characters", "a" * 129, False),
    ("a space", "two words", False),
    ("a quote", 'x"y', False),
    ("a Latin-1 byte", "caf\u00e9", False),
    ("empty", "", False),
])
def test_a_trusted_proxy_id_is_kept_when_sane(start, description, sent, kept):
    server = start(trusted_proxies=["127.0.0.1/32"])
    response = HTTP.get(server.url + "/healthz", headers={"X-Request-ID": sent.encode("latin-1")})
    assert response.status_code == 200
    assert (response.headers["x-request-id"] == sent) is kept, description
    assert len(response.headers.get_list("x-request-id")) == 1
