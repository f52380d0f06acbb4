"""The token and introspection endpoints are dispatched ahead of Starlette's router (web/app.py `App`):
the same answers, a protocol-shaped 500 when something unexpected escapes, and the router still
behind a root path."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from authgate.web import app as web_app


def call(
    app: Any, path: str, *, method: str = "POST", body: bytes = b"", root_path: str = ""
) -> tuple[int, dict[str, str], bytes]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": root_path,
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/x-www-form-urlencoded")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # In a thread of its own: another test in this process may have left an event loop running here.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.fixture
def app(services):
    return web_app.create_app(services=services)


def test_the_endpoints_answer_directly_with_their_protocol_errors(app):
    status, headers, body = call(app, "/oauth/token", body=b"grant_type=client_credentials")
    assert status == 401 and json.loads(body)["error"] == "invalid_client"
    assert headers["cache-control"] == "no-store"
    status, _, body = call(app, "/oauth/introspect", method="GET")
    assert status == 405 and json.loads(body)["error"] == "invalid_request"


def test_an_unexpected_failure_is_a_bare_server_error(services, monkeypatch, caplog):
    async def broken(request: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr("authgate.oauth2.token_endpoint.token", broken)
    app = web_app.create_app(services=services)
    assert app.hot_paths["/oauth/token"] is broken, "the direct dispatch is what answers"
    status, headers, body = call(app, "/oauth/token", body=b"grant_type=client_credentials")
    assert status == 500
    assert json.loads(body) == {"error": "server_error", "error_description": "An unexpected error occurred."}
    assert b"secret detail" not in body and headers["cache-control"] == "no-store"
    assert any("unexpected error" in record.getMessage() for record in caplog.records)


def test_under_a_root_path_the_router_answers(app):
    status, _, body = call(app, "/auth/oauth/token", body=b"grant_type=client_credentials", root_path="/auth")
    assert status == 401 and json.loads(body)["error"] == "invalid_client"


def test_the_admin_routes_load_on_first_use(database_url, tmp_path):
    """A worker that only answers the protocol never imports the admin API and console (FastAPI: ~20 MB)."""
    import subprocess
    import sys

    from testkit import TEST_MASTER_KEY

    script = """
import asyncio, json, sys
sys.path.insert(0, "tests/integration")
from test_hot_paths import call
from authgate.services import Services
from authgate.settings import Settings
from authgate import bootstrap
services = Services(Settings())
bootstrap.prepare(services)
from authgate.web.app import create_app
app = create_app(services=services)
status, _, _ = call(app, "/oauth/token", body=b"grant_type=client_credentials")
before = "fastapi" in sys.modules
elsewhere, _, _ = call(app, "/administrator", method="GET")
still = "fastapi" in sys.modules
api, _, body = call(app, "/admin/api/users", method="GET")
print(json.dumps([status, before, elsewhere, still, api, json.loads(body)["error"], "fastapi" in sys.modules]))
"""
    env = {"AUTHGATE_DATABASE_URL": database_url, "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY,
           "AUTHGATE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [401, False, 404, False, 401, "unauthorized", True]
