"""The token endpoint while the database is unreachable: 503 temporarily_unavailable, never 500, and back by itself.

The shared PostgreSQL is never stopped: the server reaches it through a TCP
forwarder on a port of its own, and "the database goes down" is the
forwarder closing (nothing listening there any more).
"""

from __future__ import annotations

import httpx
import pytest
from test_token_world import HTTP, PASSWORD, REPORT_SECRET, basic, load_world

from authgate import bootstrap
from authgate.services import Services
from authgate.settings import Settings
from authgate.web.app import create_app
from testkit import TEST_MASTER_KEY, Forwarder, LiveServer, empty_postgres, free_port

PG_PORT = 5432


@pytest.fixture
def outage_server(pg_database, tmp_path):
    empty_postgres(pg_database)
    forwarder = Forwarder(free_port())
    port = free_port()
    common = {
        "data_dir": tmp_path, "master_key": TEST_MASTER_KEY, "issuer": f"http://127.0.0.1:{port}",
        "client_cache_seconds": 0,
    }
    direct = Services(Settings(database_url=pg_database, **common))
    bootstrap.prepare(direct)
    load_world(direct)
    direct.database.dispose()
    via_forwarder = pg_database.replace(f"127.0.0.1:{PG_PORT}", f"127.0.0.1:{forwarder.port}")
    assert via_forwarder != pg_database
    services = Services(Settings(database_url=via_forwarder, **common))
    server = LiveServer(create_app(services=services), port).start()
    yield server, forwarder
    server.stop()
    forwarder.cut()
    services.database.dispose()


def ask(server, grant: str) -> httpx.Response:
    if grant == "client_credentials":
        return HTTP.post(
            server.url + "/oauth/token", data={"grant_type": grant}, headers=basic("nightly-report", REPORT_SECRET)
        )
    return HTTP.post(server.url + "/oauth/token", data={"grant_type": "password", "client_id": "coffee-app",
                                                         "username": "barista", "password": PASSWORD})


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.headers["retry-after"] and response.headers["cache-control"] == "no-store"


def test_token_endpoint_is_503_while_the_database_is_down_and_recovers(outage_server):
    server, forwarder = outage_server
    for grant in ("client_credentials", "password"):
        assert_unavailable(ask(server, grant))  # nothing listening: down from the start

    forwarder.open()
    for grant in ("client_credentials", "password"):
        assert ask(server, grant).status_code == 200, "back by itself, no restart"

    forwarder.cut()
    for grant in ("client_credentials", "password"):
        assert_unavailable(ask(server, grant))  # pooled connections died mid-flight

    forwarder.open()
    for grant in ("client_credentials", "password"):
        assert ask(server, grant).status_code == 200
