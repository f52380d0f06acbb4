"""Dynamic client registration (RFC 7591) and management (RFC 7592) over HTTP, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from authgate import bootstrap
from authgate.clock import utcnow
from authgate.registration import initial_tokens, registrations
from authgate.services import Services
from authgate.settings import Settings
from authgate.storage.models import Client
from authgate.web.app import create_app

SDK_REQUEST = {
    "redirect_uris": ["http://127.0.0.1:54321/callback"],
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": "read:books offline_access",
    "client_name": "An MCP client",
    "application_type": "native",
}


@pytest.fixture
def make_client(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Callable[..., TestClient]]:
    made: list[tuple[TestClient, Services]] = []

    def make(**overrides: Any) -> TestClient:
        services = Services(make_settings(database_url=database_url, **overrides))
        bootstrap.prepare(services)
        client = TestClient(create_app(services=services), base_url="http://127.0.0.1:8000")
        client.__enter__()
        client.app_services = services  # type: ignore[attr-defined]
        made.append((client, services))
        return client

    yield make
    for client, services in made:
        client.__exit__(None, None, None)
        services.database.dispose()


def register(client: TestClient, body: Any = None, **headers: str) -> Any:
    return client.post("/oauth/register", json=SDK_REQUEST if body is None else body, headers=headers)


def test_registration_is_off_by_default(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    assert "registration_endpoint" not in client.get("/.well-known/oauth-authorization-server").json()
    assert "registration_endpoint" not in client.get("/.well-known/openid-configuration").json()
    assert register(client).status_code == 404
    with client.app_services.reader() as realm:  # type: ignore[attr-defined]
        assert not [c for c in realm.clients.list() if c.dynamic]


def test_open_registration_creates_a_public_third_party_client(make_client: Callable[..., TestClient]) -> None:
    client = make_client(client_registration="open")
    for document in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        assert client.get(document).json()["registration_endpoint"] == "http://127.0.0.1:8000/oauth/register"
    response = register(client)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["client_id"].startswith("dyn-") and "client_secret" not in body
    assert body["token_endpoint_auth_method"] == "none"
    assert body["redirect_uris"] == SDK_REQUEST["redirect_uris"]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["scope"] == "offline_access read:books"
    assert body["registration_client_uri"] == f"http://127.0.0.1:8000/oauth/register/{body['client_id']}"
    assert body["registration_access_token"]
    with client.app_services.reader() as realm:  # type: ignore[attr-defined]
        stored = realm.clients.get(body["client_id"])
        assert stored.dynamic and stored.type == "public" and not stored.first_party
        assert stored.secret_hash is None and stored.registration_token_hash != body["registration_access_token"]


REFUSALS = [
    ("http redirect off loopback", {"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
    ("localhost is not an IP literal", {"redirect_uris": ["http://localhost:8080/cb"]}, "invalid_redirect_uri"),
    ("javascript: scheme", {"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
    ("fragment", {"redirect_uris": ["https://app.example/cb#x"]}, "invalid_redirect_uri"),
    ("user info", {"redirect_uris": ["https://user@app.example/cb"]}, "invalid_redirect_uri"),
    ("relative", {"redirect_uris": ["/cb"]}, "invalid_redirect_uri"),
    ("no redirect uris", {"redirect_uris": []}, "invalid_redirect_uri"),
    ("redirect uris not a list", {"redirect_uris": "https://app.example/cb"}, "invalid_redirect_uri"),
    ("bad port", {"redirect_uris": ["http://127.0.0.1:99999/cb"]}, "invalid_redirect_uri"),
    ("unknown grant type", {"grant_types": ["authorization_code", "urn:x:custom"]}, "invalid_client_metadata"),
    ("client credentials", {"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
    ("implicit response type", {"response_types": ["token"]}, "invalid_client_metadata"),
    ("confidential under open", {"token_endpoint_auth_method": "client_secret_basic"}, "invalid_client_metadata"),
    ("unknown auth method", {"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
    ("client name too long", {"client_name": "x" * 201}, "invalid_client_metadata"),
    ("client name not a string", {"client_name": 7}, "invalid_client_metadata"),
    ("malformed scope", {"scope": "read:books \"quoted\""}, "invalid_client_metadata"),
    ("unsupported OIDC scope", {"scope": "address"}, "invalid_client_metadata"),
    ("application type", {"application_type": "toaster"}, "invalid_client_metadata"),
]


@pytest.mark.parametrize(("change", "error"), [(c, e) for _, c, e in REFUSALS], ids=[d for d, _, _ in REFUSALS])
def test_bad_metadata_is_refused_with_its_rfc_7591_error(
    make_client: Callable[..., TestClient], change: dict[str, Any], error: str
) -> None:
    client = make_client(client_registration="open", client_registration_rate=100)
    response = register(client, {**SDK_REQUEST, **change})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    with client.app_services.reader() as realm:  # type: ignore[attr-defined]
        assert not [c for c in realm.clients.list() if c.dynamic]  # nothing half-written


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"{" * 5000, b"{\"a\": " + b"[" * 100_000, b"x" * 20_000],
                         ids=["not json", "array", "deep", "very deep", "oversized"])
def test_malformed_or_oversized_bodies_are_invalid_client_metadata(make_client: Callable[..., TestClient],
                                                                   body: bytes) -> None:
    client = make_client(client_registration="open", client_registration_rate=100)
    response = client.post("/oauth/register", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"


def test_wrong_content_type_is_refused(make_client: Callable[..., TestClient]) -> None:
    client = make_client(client_registration="open")
    response = client.post("/oauth/register", data={"redirect_uris": "https://app.example/cb"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"
    assert client.get("/oauth/register").status_code == 405


def test_open_registration_is_rate_limited_per_address(make_client: Callable[..., TestClient]) -> None:
    client = make_client(client_registration="open", client_registration_rate=3)
    assert [register(client).status_code for _ in range(3)] == [201, 201, 201]
    refused = register(client)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    with client.app_services.reader() as realm:  # type: ignore[attr-defined]
        assert len([c for c in realm.clients.list() if c.dynamic]) == 3


def test_the_rate_limit_holds_with_redis_counters(make_client: Callable[..., TestClient]) -> None:
    prefix = f"authgate-test:{uuid.uuid4().hex}:"
    client = make_client(client_registration="open", client_registration_rate=2,
                         redis_url="redis://127.0.0.1:6379/0", redis_key_prefix=prefix)
    assert [register(client).status_code for _ in range(3)] == [201, 201, 429]
    services: Services = client.app_services  # type: ignore[attr-defined]
    assert services.throttle.counters.state(["register:testclient"]).locked_for > 0  # TestClient's address
    assert services.throttle.counters.state(["register:198.51.100.7"]).locked_for == 0  # another address


def test_token_policy_needs_a_valid_initial_access_token(make_client: Callable[..., TestClient]) -> None:
    client = make_client(client_registration="token")
    settings = client.app_services.settings  # type: ignore[attr-defined]
    assert register(client).status_code == 401
    assert register(client, Authorization="Bearer iat1.99999999999.x.y").status_code == 401
    expired = initial_tokens.issue(settings, utcnow() - timedelta(hours=2), timedelta(hours=1))
    assert register(client, Authorization=f"Bearer {expired}").status_code == 401
    token = initial_tokens.issue(settings, utcnow(), timedelta(hours=1))
    response = register(client, {**SDK_REQUEST, "token_endpoint_auth_method": "client_secret_basic"},
                        Authorization=f"Bearer {token}")
    assert response.status_code == 201, response.text
    assert response.json()["client_secret"] and response.json()["token_endpoint_auth_method"] == "client_secret_basic"


def test_a_malformed_bearer_header_is_invalid_request(make_client: Callable[..., TestClient]) -> None:
    """The one bearer parser (the guard's) reads registration's headers too: two tokens are malformed
    (RFC 6750 §3.1)."""
    client = make_client(client_registration="token")
    token = initial_tokens.issue(client.app_services.settings, utcnow(), timedelta(hours=1))  # type: ignore[attr-defined]
    response = register(client, Authorization=f"Bearer {token} {token}")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert register(client, Authorization=f"Basic {token}").status_code == 401  # no bearer credentials at all


def test_registration_access_token_reads_updates_and_deletes(make_client: Callable[..., TestClient]) -> None:
    client = make_client(client_registration="open")
    body = register(client).json()
    uri, token = body["registration_client_uri"], body["registration_access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get(uri).status_code == 401
    assert client.get(uri, headers={"Authorization": "Bearer wrong"}).status_code == 401
    read = client.get(uri, headers=auth)
    assert read.status_code == 200 and read.json()["client_id"] == body["client_id"]
    assert "registration_access_token" not in read.json()
    changed = client.put(uri, headers=auth, json={**SDK_REQUEST, "client_id": body["client_id"],
                                                  "redirect_uris": ["https://app.example/cb"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["redirect_uris"] == ["https://app.example/cb"]
    bad = client.put(uri, headers=auth, json={**SDK_REQUEST, "redirect_uris": ["http://evil.example/"]})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_redirect_uri"
    assert client.delete(uri, headers=auth).status_code == 204
    assert client.get(uri, headers=auth).status_code == 401
    with client.app_services.reader() as realm:  # type: ignore[attr-defined]
        assert realm.clients.find(body["client_id"]) is None


def test_idle_dynamic_clients_are_purged(make_client: Callable[..., TestClient]) -> None:
    client = make_client(client_registration="open")
    services: Services = client.app_services  # type: ignore[attr-defined]
    idle, used = register(client).json()["client_id"], register(client).json()["client_id"]
    later = utcnow() + timedelta(days=40)
    registrations.mark_used(services.database, used, later - timedelta(days=1))
    with services.realm("test") as realm:
        assert registrations.purge_idle(realm, later, timedelta(days=30)) == [idle]
    with services.reader() as realm:
        assert realm.clients.find(idle) is None and isinstance(realm.clients.find(used), Client)
