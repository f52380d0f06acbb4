"""The world the token-service tests share: a coffee shop realm with users and clients, and helpers.

Built from the same realm-file format `authgate apply` reads. No tests here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt
import pytest

from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import parse_realm
from authgate.services import Services
from testkit import TEST_MASTER_KEY, LiveServer, empty_postgres, free_port

COFFEE = "https://coffee.example/api"
INVENTORY = "https://inventory.example/api"
# TEST FIXTURE ONLY: secrets and passwords of the test realm. Never use outside tests.
PASSWORD = "Correct-Horse-Battery-Staple-42"
REPORT_SECRET = "report-secret-0123456789abcdefghijklmnop"
BACKOFFICE_SECRET = "backoffice:secret with spaces & symbols/0123456789"
THIRD_PARTY_SECRET = "third-party-secret-0123456789abcdefghij"
DISABLED_SECRET = "disabled-secret-0123456789abcdefghijklmn"
SPA_ORIGIN = "http://127.0.0.1:5000"
# One client for all requests: building an httpx.Client per call costs more than a throttled request.
HTTP = httpx.Client(timeout=30)

REALM = f"""
apis:
  - identifier: {COFFEE}
    name: Coffee Shop
    permissions: [get:drinks, get:drinks-detail, post:drinks, patch:drinks, delete:drinks]
  - identifier: {INVENTORY}
    name: Inventory
    permissions: [read:stock, write:stock]
roles:
  - name: barista
    permissions: {{{COFFEE}: [get:drinks, get:drinks-detail]}}
  - name: manager
    permissions: {{{COFFEE}: [get:drinks, get:drinks-detail, post:drinks, patch:drinks, delete:drinks]}}
  - name: stock-keeper
    permissions: {{{INVENTORY}: [read:stock]}}
users:
  - username: barista
    password: "{PASSWORD}"
    roles: [barista]
  - username: manager
    password: "{PASSWORD}"
    roles: [manager, stock-keeper]
  - username: idle
    password: "{PASSWORD}"
  - username: suspended
    password: "{PASSWORD}"
    roles: [manager]
    disabled: true
clients:
  - client_id: coffee-app
    type: public
    grant_types: [password, refresh_token]
    default_audience: {COFFEE}
    web_origins: ["{SPA_ORIGIN}"]
  - client_id: coffee-lite
    type: public
    grant_types: [password]
    default_audience: {COFFEE}
  - client_id: backoffice
    type: confidential
    client_secret: "{BACKOFFICE_SECRET}"
    grant_types: [password, refresh_token, client_credentials]
    default_audience: {COFFEE}
    permissions: {{{COFFEE}: [get:drinks]}}
  - client_id: nightly-report
    type: confidential
    client_secret: "{REPORT_SECRET}"
    grant_types: [client_credentials]
    default_audience: {COFFEE}
    permissions: {{{COFFEE}: [get:drinks, get:drinks-detail], {INVENTORY}: [read:stock]}}
  - client_id: partner
    type: confidential
    first_party: false
    client_secret: "{THIRD_PARTY_SECRET}"
    grant_types: [password, client_credentials]
    default_audience: {COFFEE}
  - client_id: retired
    type: confidential
    client_secret: "{DISABLED_SECRET}"
    grant_types: [client_credentials]
    default_audience: {COFFEE}
    disabled: true
"""


def load_world(services: Services, text: str = REALM) -> None:
    with services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(text))


def basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1: form-urlencode each half, then Basic."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def token(url: str, data: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return HTTP.post(url + "/oauth/token", data=data, headers=headers or {})


def password_login(url: str, username: str = "barista", client_id: str = "coffee-app", **extra: str) -> httpx.Response:
    form = {"grant_type": "password", "client_id": client_id, "username": username, "password": PASSWORD}
    return token(url, {**form, **extra})


def claims_of(access_token: str) -> dict[str, Any]:
    """Unverified claims (tests that check signatures use PyJWKClient)."""
    return jwt.decode(access_token, options={"verify_signature": False})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def token_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server with the world loaded, shared by a module's tests that leave the world as they found it.

    Brute-force counters are set out of reach here; the brute-force tests use servers of their own.
    """
    from authgate import bootstrap
    from authgate.settings import Settings
    from authgate.web.app import create_app

    data = tmp_path_factory.mktemp("token-server")
    if request.param == "sqlite":
        url = f"sqlite:///{data / 'authgate.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        empty_postgres(url)
    port = free_port()
    settings = Settings(
        data_dir=data, master_key=TEST_MASTER_KEY, issuer=f"http://127.0.0.1:{port}", database_url=url,
        lockout_pair_threshold=10_000, lockout_account_threshold=10_000, lockout_ip_threshold=10_000,
    )
    services = Services(settings)
    bootstrap.prepare(services)
    load_world(services)
    server = LiveServer(create_app(services=services), port).start()
    server.services = services  # type: ignore[attr-defined]
    yield server
    server.stop()
    services.database.dispose()


@pytest.fixture
def start_server(make_settings: Any, database_url: str) -> Iterator[Any]:
    """Start live servers on this test's database (call it twice for two processes' worth of servers)."""
    from authgate import bootstrap
    from authgate.web.app import create_app

    servers: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        port = free_port()
        issuer = overrides.pop("issuer", f"http://127.0.0.1:{port}")
        settings = make_settings(database_url=database_url, issuer=issuer, **overrides)
        services = Services(settings)
        bootstrap.prepare(services)
        server = LiveServer(create_app(services=services), port).start()
        server.services = services  # type: ignore[attr-defined]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        server.services.database.dispose()  # type: ignore[attr-defined]
