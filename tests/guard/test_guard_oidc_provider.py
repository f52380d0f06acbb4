"""Against a foreign issuer: panva's node ``oidc-provider`` (9.13.3), run with
node on 127.0.0.1, issuing RFC 9068 JWT access tokens (ES256) by
client_credentials. Without node and npm this test fails: it never skips."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import httpx
import jwt
import pytest

from authgate.guard import Claims
from authgate.guard.flask import FlaskGuard
from testkit import free_port, npm_install

FIXTURE = Path(__file__).parent / "oidc_provider"
RESOURCE = "https://api.example"
CLIENT_ID = "bench"
CLIENT_SECRET = "bench-secret-0123456789abcdef0123456789abcdef"  # TEST-ONLY, see server.js


def _npm_install() -> None:
    npm_install(FIXTURE, "oidc-provider")


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required for the oidc-provider interop test (apt-get install nodejs)")
    _npm_install()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([node, "server.js", str(port)], cwd=FIXTURE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"oidc-provider did not start: {output[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def client_credentials_token(issuer: str, scope: str) -> str:
    # RFC 6749 §4.4.2 with client_secret_basic (§2.3.1), and RFC 8707's
    # resource parameter, which oidc-provider needs to issue a JWT for an API.
    response = httpx.post(
        issuer + "/token",
        auth=(CLIENT_ID, CLIENT_SECRET),
        data={"grant_type": "client_credentials", "scope": scope, "resource": RESOURCE},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def protected_app(guard: FlaskGuard) -> flask.Flask:
    app = flask.Flask("foreign-issuer")

    @app.get("/reports")
    @guard.requires_auth("read")
    def read_reports(payload: Claims) -> dict[str, Any]:
        return {"client_id": payload.client_id, "scopes": sorted(payload.scopes)}

    @app.post("/reports")
    @guard.requires_auth("write")
    def write_report(payload: Claims) -> dict[str, Any]:
        return {"written_by": payload.client_id}

    return app


def test_guard_accepts_oidc_provider_tokens_and_enforces_their_scope(oidc_provider: str) -> None:
    guard = FlaskGuard(issuer=oidc_provider, audience=RESOURCE, required_typ="at+jwt")
    client = protected_app(guard).test_client()
    token = client_credentials_token(oidc_provider, "read")
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["typ"]) == ("ES256", "at+jwt")  # really theirs, really RFC 9068

    allowed = client.get("/reports", headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200
    assert allowed.get_json() == {"client_id": CLIENT_ID, "scopes": ["read"]}

    refused = client.post("/reports", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert 'scope="write"' in refused.headers["WWW-Authenticate"]

    both = client_credentials_token(oidc_provider, "read write")
    assert client.post("/reports", headers={"Authorization": f"Bearer {both}"}).status_code == 200
    guard.close()


def test_oidc_provider_token_for_another_audience_is_refused(oidc_provider: str) -> None:
    guard = FlaskGuard(issuer=oidc_provider, audience="https://coffee.example/api")
    client = protected_app(guard).test_client()
    token = client_credentials_token(oidc_provider, "read")
    refused = client.get("/reports", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert 'error_description="wrong audience"' in refused.headers["WWW-Authenticate"]
    guard.close()
