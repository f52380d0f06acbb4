"""authgate.guard.mcp with authgate.testing's issuer: the SDK's TokenVerifier, metadata, challenges, tool
permissions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from starlette.testclient import TestClient

from authgate.guard import Guard
from authgate.guard.mcp import McpGuard
from authgate.testing import TestIssuer
from testkit import in_own_thread

RESOURCE = "http://127.0.0.1:8766/mcp"
PRM_URL = "http://127.0.0.1:8766/.well-known/oauth-protected-resource/mcp"


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with TestIssuer(audience=RESOURCE, client_id="dyn-abc") as issuer:
        yield issuer


@pytest.fixture
def mcp_guard(issuer: TestIssuer) -> Iterator[McpGuard]:
    guard = Guard(issuer=issuer.url, audience=RESOURCE, resource=RESOURCE,
                  scopes_supported=["read:books", "write:books"])
    mcp_guard = McpGuard(guard, required=["read:books"])

    @mcp_guard.requires("write:books")
    def add_book(title: str) -> str:
        return title

    @mcp_guard.requires("write:books", acr="urn:authgate:acr:mfa")
    def delete_book(title: str) -> str:
        return title

    yield mcp_guard
    guard.close()


class Inner:
    """Stands for the SDK's app: records each body it receives."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})


def call(tool: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {"title": "x"}}}


def test_verify_token_gives_the_sdk_an_access_token(mcp_guard: McpGuard, issuer: TestIssuer) -> None:
    access = in_own_thread(lambda: anyio.run(mcp_guard.verify_token, issuer.token("read:books", sub="ada")))
    assert access is not None
    assert access.scopes == ["read:books"] and access.subject == "ada" and access.client_id == "dyn-abc"
    assert access.resource == RESOURCE and access.claims and access.claims["iss"] == issuer.url
    assert in_own_thread(lambda: anyio.run(mcp_guard.verify_token, "not-a-token")) is None
    wrong_audience = issuer.token("read:books", aud="https://other.example")
    assert in_own_thread(lambda: anyio.run(mcp_guard.verify_token, wrong_audience)) is None


def test_auth_settings_name_the_issuer_and_resource(mcp_guard: McpGuard, issuer: TestIssuer) -> None:
    settings = mcp_guard.auth_settings()
    assert str(settings.issuer_url) == issuer.url and str(settings.resource_server_url) == RESOURCE
    assert settings.required_scopes == ["read:books"] and settings.validate_token_resource is False


def test_metadata_and_401_challenge_name_what_to_ask_for(mcp_guard: McpGuard, issuer: TestIssuer) -> None:
    client = TestClient(mcp_guard.protect(Inner()))
    prm = client.get("/.well-known/oauth-protected-resource/mcp").json()
    assert prm["resource"] == RESOURCE and prm["authorization_servers"] == [issuer.url]
    assert prm["scopes_supported"] == ["read:books", "write:books"]
    missing = client.post("/mcp", json=call("list"))
    assert missing.status_code == 401
    challenge = missing.headers["WWW-Authenticate"]
    assert 'scope="read:books"' in challenge and f'resource_metadata="{PRM_URL}"' in challenge
    lacking = client.post("/mcp", json=call("list"), headers={"Authorization": "Bearer " + issuer.token("other")})
    assert lacking.status_code == 403 and 'scope="read:books"' in lacking.headers["WWW-Authenticate"]


def test_a_tool_needing_a_missing_permission_is_refused_before_it_runs(mcp_guard: McpGuard,
                                                                      issuer: TestIssuer) -> None:
    inner = Inner()
    client = TestClient(mcp_guard.protect(inner))
    reader = {"Authorization": "Bearer " + issuer.token("read:books")}
    refused = client.post("/mcp", json=call("add_book"), headers=reader)
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    challenge = refused.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="write:books"' in challenge
    assert f'resource_metadata="{PRM_URL}"' in challenge
    batch = client.post("/mcp", json=[call("search"), call("add_book")], headers=reader)
    assert batch.status_code == 403
    assert inner.bodies == []  # never reached the server
    assert client.post("/mcp", json=call("search"), headers=reader).status_code == 200
    writer = {"Authorization": "Bearer " + issuer.token("read:books", "write:books")}
    assert client.post("/mcp", json=call("add_book"), headers=writer).status_code == 200
    assert [json.loads(body)["params"]["name"] for body in inner.bodies] == ["search", "add_book"]


def test_a_tool_needing_a_stronger_sign_in_is_refused_with_rfc_9470s_challenge(mcp_guard: McpGuard,
                                                                               issuer: TestIssuer) -> None:
    inner = Inner()
    client = TestClient(mcp_guard.protect(inner))
    password = {"Authorization": "Bearer " + issuer.token("read:books", "write:books", acr="urn:authgate:acr:password")}
    refused = client.post("/mcp", json=call("delete_book"), headers=password)
    assert refused.status_code == 401 and refused.json()["error"] == "insufficient_user_authentication"
    challenge = refused.headers["WWW-Authenticate"]
    assert 'acr_values="urn:authgate:acr:mfa"' in challenge and f'resource_metadata="{PRM_URL}"' in challenge
    assert inner.bodies == []
    second_factor = {"Authorization": "Bearer " + issuer.token("read:books", "write:books", acr="urn:authgate:acr:mfa")}
    assert client.post("/mcp", json=call("delete_book"), headers=second_factor).status_code == 200


def test_other_paths_pass_through_untouched(mcp_guard: McpGuard) -> None:
    inner = Inner()
    client = TestClient(mcp_guard.protect(inner))
    assert client.get("/health").status_code == 200 and inner.bodies == [b""]


def test_a_guard_without_resource_is_refused(issuer: TestIssuer) -> None:
    with pytest.raises(ValueError):
        McpGuard(Guard(issuer=issuer.url, audience=RESOURCE))
