"""Helpers of the guard's own tests, on top of the public ``authgate.testing`` kit:
hand-built JWS for the attack tables, calls through Flask/FastAPI test clients,
and tokens from a real authgate server.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx

from authgate.testing import TestKey

AUDIENCE = "https://coffee.example/api"
# TEST FIXTURE ONLY: passwords the authgate_server fixture sets for the demo realm's users.
DEMO_PASSWORDS = {"barista": "test-fixture barista passphrase",
                  "manager": "test-fixture manager passphrase"}


def password_token(server: Any, username: str) -> str:
    """An access token for a demo user, from authgate's password grant (coffee-pos)."""
    response = httpx.post(server.url + "/oauth/token", data={
        "grant_type": "password", "client_id": "coffee-pos", "username": username,
        "password": DEMO_PASSWORDS[username],
    })
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def forge(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, *,
          key: TestKey | None = None, signature: bytes | None = None) -> str:
    """Build a compact JWS by hand, so the header can hold what PyJWT refuses to write."""
    raw_header = header if isinstance(header, bytes) else json.dumps(header).encode()
    raw_payload = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64url(raw_header)}.{b64url(raw_payload)}"
    if signature is None:
        signature = key.sign(signing_input.encode()) if key is not None else b""
    return f"{signing_input}.{b64url(signature)}"


def call(client: Any, path: str, token: str | None = None,
         authorization: str | None = None) -> tuple[int, dict[str, str] | None, Any]:
    """GET through a Flask or FastAPI test client: status, parsed challenge, body."""
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    response = client.get(path, headers=headers)
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    if isinstance(body, dict) and isinstance(body.get("detail"), dict):
        body = body["detail"]  # FastAPI wraps HTTPException details
    challenge = response.headers.get("WWW-Authenticate")
    return response.status_code, parse_challenge(challenge) if challenge else None, body


def parse_challenge(header: str) -> dict[str, str]:
    """RFC 6750 §3 challenge to a dict; the scheme is under "scheme"."""
    scheme, _, params = header.partition(" ")
    result = {"scheme": scheme}
    result.update(re.findall(r'([a-z_]+)="([^"]*)"', params))
    return result
