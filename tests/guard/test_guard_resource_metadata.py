"""The guard as an RFC 9728 protected resource: its metadata, and resource_metadata in every challenge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from authgate.guard import Guard, GuardConfig, InsufficientPermission
from authgate.guard.asgi import GuardMiddleware
from authgate.guard.resource_metadata import metadata_url
from authgate.testing import TestIssuer

RESOURCE = "http://127.0.0.1:8765/mcp"
PRM_URL = "http://127.0.0.1:8765/.well-known/oauth-protected-resource/mcp"


async def needs_write(scope: dict[str, Any], receive: Any, send: Any) -> None:
    claims = scope["auth"]
    if claims is None or "write:books" not in claims.granted:
        raise InsufficientPermission("missing permission: write:books", scope="write:books")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with TestIssuer(audience=RESOURCE) as issuer:
        yield issuer


@pytest.fixture
def guard(issuer: TestIssuer) -> Iterator[Guard]:
    guard = Guard(issuer=issuer.url, audience=RESOURCE, resource=RESOURCE,
                  scopes_supported=["read:books", "write:books"])
    yield guard
    guard.close()


@pytest.mark.parametrize(("resource", "url"), [
    ("https://api.example/mcp", "https://api.example/.well-known/oauth-protected-resource/mcp"),
    ("https://api.example/a/b/", "https://api.example/.well-known/oauth-protected-resource/a/b"),
    ("https://api.example", "https://api.example/.well-known/oauth-protected-resource"),
    ("http://127.0.0.1:9/mcp", "http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp"),
])
def test_metadata_url_inserts_the_well_known_segment(resource: str, url: str) -> None:
    assert metadata_url(resource) == url  # RFC 9728 §3.1


def test_middleware_serves_the_metadata_at_both_paths(guard: Guard, issuer: TestIssuer) -> None:
    client = TestClient(GuardMiddleware(needs_write, guard=guard, required=True))
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        response = client.get(path)  # no token needed
        assert response.status_code == 200
        assert response.json() == {
            "resource": RESOURCE, "authorization_servers": [issuer.url],
            "scopes_supported": ["read:books", "write:books"], "bearer_methods_supported": ["header"],
        }


def test_every_refusal_names_the_metadata(guard: Guard, issuer: TestIssuer) -> None:
    client = TestClient(GuardMiddleware(needs_write, guard=guard, required=True))
    missing = client.get("/mcp")
    invalid = client.get("/mcp", headers={"Authorization": "Bearer not.a.jwt"})
    lacking = client.get("/mcp", headers={"Authorization": "Bearer " + issuer.token("read:books")})
    assert [r.status_code for r in (missing, invalid, lacking)] == [401, 401, 403]
    for response in (missing, invalid, lacking):
        assert f'resource_metadata="{PRM_URL}"' in response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in lacking.headers["WWW-Authenticate"]
    allowed = client.get("/mcp", headers={"Authorization": "Bearer " + issuer.token("write:books")})
    assert allowed.status_code == 200


def test_a_guard_without_resource_is_unchanged(issuer: TestIssuer) -> None:
    guard = Guard(issuer=issuer.url, audience=RESOURCE)
    client = TestClient(GuardMiddleware(needs_write, guard=guard, required=True))
    assert "resource_metadata" not in client.get("/mcp").headers["WWW-Authenticate"]
    assert client.get("/.well-known/oauth-protected-resource").status_code == 401
    with pytest.raises(ValueError):
        guard.resource_metadata()
    guard.close()


def test_resource_must_be_an_http_url() -> None:
    with pytest.raises(ValueError):
        GuardConfig(issuer="https://issuer.example", audience="x", resource="urn:books")


def test_metadata_is_json_serialisable(guard: Guard) -> None:
    assert json.loads(json.dumps(guard.resource_metadata()))["resource"] == RESOURCE
