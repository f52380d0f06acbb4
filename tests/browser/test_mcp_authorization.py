"""MCP authorization end to end: the official `mcp` SDK's client (OAuthClientProvider) against an MCP server
(the SDK's MCPServer, docs/snippets/mcp_server.py) protected by authgate.guard.mcp, with authgate as the
authorization server.

The client discovers authgate from the server's RFC 9728 metadata, registers itself (RFC 7591, open
registration), and a person signs in on the hosted page in headless Chromium and consents; the loopback
callback server receives the code. A tool needing a permission the person lacks is refused with
insufficient_scope and never runs; for a person who holds it, the SDK's step-up on the same client_id
succeeds.
"""

from __future__ import annotations

import http.server
import importlib.util
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
import uvicorn
from anyio import to_thread

from authgate import bootstrap
from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import parse_realm
from authgate.services import Services
from authgate.settings import Settings
from authgate.web.app import create_app
from testkit import LiveServer, free_port, in_own_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
# TEST FIXTURE ONLY: the test people's passwords.
PASSWORDS = {"reader": "paperback-lamp-quiet-1984", "editor": "margin-notes-ink-well-2001"}


def realm_yaml(resource: str) -> str:
    return f"""
apis:
  - identifier: {resource}
    name: Books MCP server
    permissions: [read:books, write:books]
roles:
  - name: reader
    permissions: {{{resource}: [read:books]}}
  - name: editor
    permissions: {{{resource}: [read:books, write:books]}}
users:
  - {{username: reader, roles: [reader]}}
  - {{username: editor, roles: [editor]}}
"""


class UvicornThread:
    def __init__(self, app: Any, port: int, ready_path: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.ready_path = ready_path

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("MCP server did not start")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Callbacks(http.server.ThreadingHTTPServer):
    """The client's loopback redirect target (RFC 8252 §7.3): records each query it receives."""

    def __init__(self, port: int) -> None:
        self.queries: list[dict[str, str]] = []
        self.received = threading.Semaphore(0)  # released once per query recorded
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/callback":  # not the browser's /favicon.ico
                    outer.queries.append({k: v[0] for k, v in parse_qs(parts.query).items()})
                    outer.received.release()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"Signed in; you can close this window.")

            def log_message(self, *_: Any) -> None:
                pass

        super().__init__(("127.0.0.1", port), Handler)


@dataclass
class World:
    authgate: str
    mcp_url: str
    callback_url: str
    callbacks: Callbacks
    snippet: ModuleType
    services: Services
    responses: list[tuple[int, str]] = field(default_factory=list)  # the MCP endpoint's (status, challenge)


def load_snippet(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("snippet_mcp_server", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def world(
    make_settings: Callable[..., Settings], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    auth_port, mcp_port, callback_port = free_port(), free_port(), free_port()
    issuer, mcp_url = f"http://127.0.0.1:{auth_port}", f"http://127.0.0.1:{mcp_port}/mcp"
    services = Services(make_settings(database_url=database_url, issuer=issuer, client_registration="open"))
    bootstrap.prepare(services)
    with services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(realm_yaml(mcp_url)))
        for username, password in PASSWORDS.items():
            realm.users.set_password(username, password)
    authgate = LiveServer(create_app(services=services), auth_port).start()
    monkeypatch.setenv("AUTHGATE_ISSUER", issuer)
    monkeypatch.setenv("MCP_URL", mcp_url)
    snippet = load_snippet(ROOT / "docs" / "snippets" / "mcp_server.py")
    callbacks = Callbacks(callback_port)
    threading.Thread(target=callbacks.serve_forever, daemon=True).start()
    try:
        with UvicornThread(snippet.app, mcp_port, "/.well-known/oauth-protected-resource/mcp"):
            yield World(issuer, mcp_url, f"http://127.0.0.1:{callback_port}/callback", callbacks, snippet, services)
    finally:
        callbacks.shutdown()
        snippet.guard.close()
        authgate.stop()
        services.database.dispose()
        sys.modules.pop("snippet_mcp_server", None)


async def sign_in_through_the_browser(page: Any, url: str, username: str, callback_url: str) -> None:
    """What a person does: open the authorization URL, sign in if asked, allow, land on the callback."""
    await page.goto(url)
    for _ in range(6):
        if page.url.startswith(callback_url):
            return
        if await page.get_by_label("Password").count():
            await page.get_by_label("Username").fill(username)
            await page.get_by_label("Password").fill(PASSWORDS[username])
            async with page.expect_navigation():
                await page.get_by_role("button", name="Sign in", exact=True).click()
        elif await page.get_by_role("button", name="Allow").count():
            async with page.expect_navigation():
                await page.get_by_role("button", name="Allow").click()
        else:
            raise AssertionError(f"unexpected page {page.url}: {(await page.content())[:500]}")
    raise AssertionError("the sign-in did not reach the callback")


class MemoryStorage:
    """The SDK's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: Any = None
        self.client_info: Any = None

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info


async def session_as(world: World, username: str, steps: Callable[[Any, MemoryStorage], Any]) -> None:
    import httpx2
    from mcp.client.auth import OAuthClientProvider
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = await (await browser.new_context()).new_page()
        page.set_default_timeout(10_000)
        seen = len(world.callbacks.queries)

        async def redirect_handler(url: str) -> None:
            await sign_in_through_the_browser(page, url, username, world.callback_url)

        async def callback_handler() -> AuthorizationCodeResult:
            nonlocal seen
            arrived = await to_thread.run_sync(partial(world.callbacks.received.acquire, timeout=10))
            assert arrived, "the browser reached no callback within 10 s"
            query = world.callbacks.queries[seen]
            assert "code" in query, query
            seen += 1
            return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

        async def record(response: Any) -> None:
            if str(response.request.url) == world.mcp_url:
                world.responses.append((response.status_code, response.headers.get("www-authenticate", "")))

        storage = MemoryStorage()
        provider = OAuthClientProvider(
            server_url=world.mcp_url,
            client_metadata=OAuthClientMetadata(
                redirect_uris=[world.callback_url], token_endpoint_auth_method="none",
                grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                client_name="Test MCP client",
            ),
            storage=storage, redirect_handler=redirect_handler, callback_handler=callback_handler,
        )
        try:
            async with (
                httpx2.AsyncClient(auth=provider, timeout=30, event_hooks={"response": [record]}) as http,
                streamable_http_client(world.mcp_url, http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                await steps(session, storage)
        finally:
            await browser.close()


def dynamic_clients(services: Services) -> list[str]:
    with services.reader() as realm:
        return [client.client_id for client in realm.clients.list() if client.dynamic]


def test_mcp_client_registers_signs_in_and_is_refused_a_tool_it_may_not_use(world: World) -> None:
    async def steps(session: Any, storage: MemoryStorage) -> None:
        tools = await session.list_tools()
        assert {tool.name for tool in tools.tools} == {"search_books", "add_book"}
        found = await session.call_tool("search_books", {"query": "dune"})
        assert not found.is_error and "Dune" in str(found.content)
        client_id = storage.client_info.client_id
        with pytest.raises(Exception) as refused:
            await session.call_tool("add_book", {"title": "Forbidden Book"})
        assert refused.type.__name__ == "MCPError"
        challenges = [challenge for status, challenge in world.responses if status == 403]
        # Refused, stepped up (the person still lacks it), refused again: each time naming the permission.
        assert len(challenges) == 2 and all('error="insufficient_scope"' in c and 'scope="write:books"' in c
                                            and "resource_metadata=" in c for c in challenges)
        assert storage.client_info.client_id == client_id  # the step-up used the same registration

    in_own_thread(lambda: anyio.run(session_as, world, "reader", steps))
    assert "Forbidden Book" not in world.snippet.BOOKS  # the tool never ran
    clients = dynamic_clients(world.services)
    assert len(clients) == 1 and clients[0].startswith("dyn-")


def test_step_up_on_the_same_client_id_succeeds_for_a_person_who_holds_the_permission(world: World) -> None:
    async def steps(session: Any, storage: MemoryStorage) -> None:
        client_id = storage.client_info.client_id
        first_scope = storage.tokens.scope.split()
        assert "write:books" not in first_scope and "read:books" in first_scope
        added = await session.call_tool("add_book", {"title": "Kindred"})
        assert not added.is_error and "added Kindred" in str(added.content)
        assert storage.client_info.client_id == client_id
        assert "write:books" in storage.tokens.scope.split()

    in_own_thread(lambda: anyio.run(session_as, world, "editor", steps))
    assert [status for status, _ in world.responses].count(403) == 1  # refused once, then stepped up
    assert world.snippet.BOOKS.count("Kindred") == 1
    assert len(dynamic_clients(world.services)) == 1
    assert len(world.callbacks.queries) == 2  # signed in once, stepped up once
