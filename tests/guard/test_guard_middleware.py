"""The plain ASGI and WSGI middleware."""

from __future__ import annotations

import json
from typing import Any

import pytest
from guard_testkit import AUDIENCE
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from werkzeug.test import Client

from authgate.guard import Guard, InsufficientPermission
from authgate.guard.asgi import GuardMiddleware
from authgate.guard.wsgi import ENVIRON_KEY, GuardWSGIMiddleware
from authgate.testing import TestIssuer


async def asgi_echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reports what the middleware put in the scope; /admin demands a permission."""
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": scope["auth"].sub})
        await send({"type": "websocket.close", "code": 1000})
        return
    claims = scope["auth"]
    if scope["path"] == "/admin" and (claims is None or "admin" not in claims.granted):
        raise InsufficientPermission("missing permission: admin", scope="admin")
    body = json.dumps({"sub": claims.sub if claims else None,
                       "state": scope["state"]["auth"] is claims}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def guard(make_guard: Any) -> Guard:
    return make_guard(kind=Guard)  # type: ignore[no-any-return]


def test_asgi_middleware_puts_claims_in_scope(guard: Guard, issuer: TestIssuer, keys: Any) -> None:
    client = TestClient(GuardMiddleware(asgi_echo, guard=guard))
    ok = client.get("/", headers={"Authorization": "Bearer " + issuer.token(key=keys.es)})
    assert ok.json() == {"sub": "user-abe", "state": True}
    assert client.get("/").json() == {"sub": None, "state": True}  # anonymous passes through
    bad = client.get("/", headers={"Authorization": "Bearer " + issuer.token(key=keys.rogue)})
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    assert bad.json()["error"] == "invalid_token"


def test_asgi_middleware_required_and_errors_from_below(guard: Guard, issuer: TestIssuer, keys: Any) -> None:
    client = TestClient(GuardMiddleware(asgi_echo, guard=guard, required=True))
    missing = client.get("/")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == f'Bearer realm="{AUDIENCE}"'
    denied = client.get("/admin", headers={"Authorization": "Bearer " + issuer.token(key=keys.es)})
    assert denied.status_code == 403
    assert 'scope="admin"' in denied.headers["WWW-Authenticate"]


def test_asgi_middleware_websocket(guard: Guard, issuer: TestIssuer, keys: Any) -> None:
    client = TestClient(GuardMiddleware(asgi_echo, guard=guard, required=True))
    with client.websocket_connect("/ws", headers={"Authorization": "Bearer " + issuer.token(key=keys.es)}) as ws:
        assert ws.receive_text() == "user-abe"
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws"):
        pass
    assert refused.value.code == 1008


def wsgi_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    claims = environ[ENVIRON_KEY]
    if environ["PATH_INFO"] == "/admin":
        raise InsufficientPermission("missing permission: admin", scope="admin")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(claims.sub if claims else "anonymous").encode()]


def test_wsgi_middleware(guard: Guard, issuer: TestIssuer, keys: Any) -> None:
    client = Client(GuardWSGIMiddleware(wsgi_echo, guard=guard))
    token = issuer.token(key=keys.es)
    assert client.get("/", headers={"Authorization": f"Bearer {token}"}).text == "user-abe"
    assert client.get("/").text == "anonymous"
    expired = client.get("/", headers={"Authorization": "Bearer " + issuer.token(key=keys.es, exp=1, iat=0)})
    assert expired.status_code == 401
    assert 'error_description="token expired"' in expired.headers["WWW-Authenticate"]
    denied = client.get("/admin", headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403
    assert denied.json == {"error": "insufficient_scope", "error_description": "missing permission: admin",
                           "scope": "admin"}
