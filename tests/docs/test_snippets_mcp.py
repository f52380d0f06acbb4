"""The MCP guide's samples, executed: docs/snippets/mcp_server.py under the SDK with authgate.testing's
issuer (the browser test runs it against authgate itself), and the realm file through `apply`."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.testclient import TestClient

from authgate.services import Services
from authgate.testing import TestIssuer

SNIPPETS = Path(__file__).resolve().parents[2] / "docs" / "snippets"
URL = "http://127.0.0.1:8001/mcp"
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
           "Host": "127.0.0.1:8001"}


@pytest.fixture
def snippet(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, TestIssuer]]:
    with TestIssuer(audience=URL) as issuer:
        monkeypatch.setenv("AUTHGATE_ISSUER", issuer.url)
        monkeypatch.setenv("MCP_URL", URL)
        spec = importlib.util.spec_from_file_location("snippet_mcp_server_docs", SNIPPETS / "mcp_server.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        yield module, issuer
        module.guard.close()
        sys.modules.pop(spec.name, None)


def rpc(method: str, params: dict[str, Any], id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}


INITIALIZE = rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                "clientInfo": {"name": "docs-test", "version": "1"}})


def test_mcp_server_snippet_enforces_tool_permissions(snippet: tuple[ModuleType, TestIssuer]) -> None:
    module, issuer = snippet
    with TestClient(module.app, base_url="http://127.0.0.1:8001") as client:
        metadata = client.get("/.well-known/oauth-protected-resource/mcp").json()
        assert metadata["authorization_servers"] == [issuer.url] and metadata["resource"] == URL
        assert client.post("/mcp", json=INITIALIZE, headers=HEADERS).status_code == 401
        reader = {**HEADERS, "Authorization": "Bearer " + issuer.token("read:books")}
        started = client.post("/mcp", json=INITIALIZE, headers=reader)
        assert started.status_code == 200, started.text
        session = {"mcp-session-id": started.headers["mcp-session-id"]} if "mcp-session-id" in started.headers else {}
        add = rpc("tools/call", {"name": "add_book", "arguments": {"title": "Kindred"}}, id=2)
        refused = client.post("/mcp", json=add, headers={**reader, **session})
        assert refused.status_code == 403 and 'scope="write:books"' in refused.headers["WWW-Authenticate"]
        assert "Kindred" not in module.BOOKS
        writer = {**HEADERS, **session, "Authorization": "Bearer " + issuer.token("read:books", "write:books")}
        assert client.post("/mcp", json=add, headers=writer).status_code == 200
        assert "Kindred" in module.BOOKS


def test_mcp_realm_snippet_applies(load_realm: Callable[[str], None], services: Services) -> None:
    load_realm((SNIPPETS / "mcp_realm.yaml").read_text())
    with services.reader() as realm:
        api = realm.apis.get(URL)
        assert [permission.name for permission in api.permissions] == ["read:books", "write:books"]
        assert realm.roles.get("editor") is not None
