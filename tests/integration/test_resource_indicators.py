"""RFC 8707 `resource` for an MCP-style API (an http loopback URL with a path) at authorize, token and refresh,
with a dynamically registered public client; errors of the authorization request go to its redirect URI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from oidc_client.flow import BrowserLike, Flow, build_world, query_of
from oidc_client.servers import serve_world

pytestmark = pytest.mark.xdist_group("test_resource_indicators")
MCP_RESOURCE = "http://127.0.0.1:9/mcp"
REDIRECT = "http://127.0.0.1:7777/callback"
BOOKS = f"""
apis:
  - identifier: {MCP_RESOURCE}
    name: Books MCP server
    permissions: [read:books, write:books]
roles:
  - name: reader
    permissions: {{{MCP_RESOURCE}: [read:books]}}
users:
  - {{username: barista, roles: [barista, reader]}}
"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    for server in serve_world(request, tmp_path_factory.mktemp("resource"), client_registration="open",
                              client_registration_rate=100):
        build_world(server.services, BOOKS)
        yield server


@pytest.fixture
def dynamic_client(live_server: Any) -> str:
    response = httpx.post(live_server.url + "/oauth/register", json={
        "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "scope": "read:books offline_access", "client_name": "MCP client",
    })
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


@pytest.fixture
def browser(live_server: Any) -> Iterator[BrowserLike]:
    client = BrowserLike(live_server.url)
    yield client
    client.close()


def test_resource_at_authorize_token_and_refresh(browser: BrowserLike, live_server: Any, dynamic_client: str) -> None:
    flow = Flow(client_id=dynamic_client, redirect_uri=REDIRECT, scope="read:books write:books offline_access",
                extra={"resource": MCP_RESOURCE})
    code = browser.code_for(flow, "barista")
    tokens = browser.redeem(flow, code, resource=MCP_RESOURCE)
    assert tokens.status_code == 200, tokens.text
    access = jwt.decode(tokens.json()["access_token"], options={"verify_signature": False})
    assert access["aud"] == MCP_RESOURCE and access["client_id"] == dynamic_client
    assert access["permissions"] == ["read:books"]  # the person's permissions are the ceiling
    refreshed = httpx.post(live_server.url + "/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"],
        "client_id": dynamic_client, "resource": MCP_RESOURCE})
    assert refreshed.status_code == 200, refreshed.text
    assert jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})["aud"] == MCP_RESOURCE
    wrong = httpx.post(live_server.url + "/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"],
        "client_id": dynamic_client, "resource": "https://coffee.example/api"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_target"


def test_token_request_naming_another_resource_is_invalid_target(browser: BrowserLike, dynamic_client: str) -> None:
    flow = Flow(client_id=dynamic_client, redirect_uri=REDIRECT, scope="read:books",
                extra={"resource": MCP_RESOURCE})
    response = browser.redeem(flow, browser.code_for(flow, "barista"), resource="https://coffee.example/api")
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_registered_scope_is_the_default_of_a_request_naming_none(browser: BrowserLike, dynamic_client: str) -> None:
    flow = Flow(client_id=dynamic_client, redirect_uri=REDIRECT, scope=None,  # type: ignore[arg-type]
                extra={"resource": MCP_RESOURCE})
    tokens = browser.redeem(flow, browser.code_for(flow, "barista"))
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["scope"] == "offline_access read:books" and tokens.json()["refresh_token"]


@pytest.mark.parametrize(("extra", "error"), [
    ({"scope": "address"}, "invalid_scope"),
    ({"scope": "read:books", "resource": "http://127.0.0.1:9/other"}, "invalid_target"),
    ({"scope": "read:books", "resource": "http://127.0.0.1:9/mcp#frag"}, "invalid_target"),
], ids=["unsupported scope", "unknown resource", "resource with fragment"])
def test_authorization_errors_go_back_to_the_redirect_uri(
    browser: BrowserLike, live_server: Any, dynamic_client: str, extra: dict[str, str], error: str
) -> None:
    flow = Flow(client_id=dynamic_client, redirect_uri=REDIRECT, extra={"resource": MCP_RESOURCE, **extra})
    response = browser.get(flow.url())
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")  # RFC 6749 §4.1.2.1, not an error page
    query = query_of(location)
    assert query["error"] == error and query["state"] == flow.state and query["iss"] == live_server.url


def test_a_loopback_redirect_may_name_any_port(browser: BrowserLike, live_server: Any, dynamic_client: str) -> None:
    other_port = "http://127.0.0.1:61234/callback"
    flow = Flow(client_id=dynamic_client, redirect_uri=other_port, scope="read:books",
                extra={"resource": MCP_RESOURCE})
    response = browser.authorize(flow, "barista")
    assert response.status_code == 302 and response.headers["location"].startswith(other_port + "?")  # RFC 8252 §7.3
    assert browser.redeem(flow, query_of(response.headers["location"])["code"]).status_code == 200
    for refused in ("http://127.0.0.1:61234/elsewhere", "http://localhost:7777/callback",
                    "https://127.0.0.1:7777/callback"):
        page = browser.get(Flow(client_id=dynamic_client, redirect_uri=refused, extra={"resource": MCP_RESOURCE}).url())
        assert page.status_code == 400 and "location" not in page.headers
    # Clients an administrator registered keep exact matching.
    page = browser.get(Flow(redirect_uri="http://127.0.0.1:5001/callback").url())
    assert page.status_code == 400


def test_issuing_a_code_records_the_dynamic_clients_use(browser: BrowserLike, live_server: Any,
                                                        dynamic_client: str) -> None:
    with live_server.services.reader() as realm:
        assert realm.clients.get(dynamic_client).last_used_at is None
    flow = Flow(client_id=dynamic_client, redirect_uri=REDIRECT, scope="read:books", extra={"resource": MCP_RESOURCE})
    browser.code_for(flow, "barista")
    with live_server.services.reader() as realm:
        assert realm.clients.get(dynamic_client).last_used_at is not None


def test_consent_says_a_self_registered_client_named_itself(browser: BrowserLike, live_server: Any,
                                                            dynamic_client: str) -> None:
    flow = Flow(client_id=dynamic_client, redirect_uri=REDIRECT, scope="read:books", extra={"resource": MCP_RESOURCE})
    response = browser.get(flow.url())
    login = browser.submit_login(response.headers["location"], "barista")
    consent = browser.get(browser.get(login.headers["location"]).headers["location"])
    assert consent.status_code == 200, consent.text
    assert "MCP client</strong> wants to access" in consent.text
    assert "registered itself" in consent.text and "127.0.0.1:7777" in consent.text
