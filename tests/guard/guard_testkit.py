"""Test-only issuer, keys and token forging for the guard tests.

Every key here is generated per test session and exists only in memory:
TEST KEYS, NEVER USE OUTSIDE TESTS.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

AUDIENCE = "https://coffee.example/api"
ALGORITHMS = get_default_algorithms()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FakeClock:
    """A clock the test moves by hand, used as both wall and monotonic clock."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class TestKey:
    """A TEST-ONLY signing key and the public JWK an issuer publishes for it."""

    __test__ = False  # not a pytest test class

    kid: str
    alg: str
    private: Any

    @property
    def public(self) -> Any:
        return self.private.public_key()

    @property
    def jwk(self) -> dict[str, Any]:
        data = json.loads(ALGORITHMS[self.alg].to_jwk(self.public))
        return {**data, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign(self, signing_input: bytes) -> bytes:
        return ALGORITHMS[self.alg].sign(signing_input, self.private)


def new_key(alg: str, kid: str | None = None) -> TestKey:
    if alg.startswith("ES"):
        private: Any = ec.generate_private_key(ec.SECP256R1())
    elif alg.startswith(("RS", "PS")):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    return TestKey(kid=kid or f"{alg.lower()}-{uuid.uuid4().hex[:8]}", alg=alg, private=private)


def forge(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, *,
          key: TestKey | None = None, signature: bytes | None = None) -> str:
    """Build a compact JWS by hand, so the header can hold what PyJWT refuses to write."""
    raw_header = header if isinstance(header, bytes) else json.dumps(header).encode()
    raw_payload = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64url(raw_header)}.{b64url(raw_payload)}"
    if signature is None:
        signature = key.sign(signing_input.encode()) if key is not None else b""
    return f"{signing_input}.{b64url(signature)}"


class TestIssuer:
    """A tiny OIDC issuer on 127.0.0.1: discovery, a JWKS, and a request counter."""

    __test__ = False

    def __init__(self, keys: list[TestKey]) -> None:
        self.keys = list(keys)
        #: Raw JWKS entries served after the keys, for malformed-key tests.
        self.extra_jwks: list[Any] = []
        self.down = False
        #: Seconds each response is held back, to keep fetches in flight.
        self.delay = 0.0
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with issuer._lock:
                    issuer.hits[self.path] += 1
                time.sleep(issuer.delay)
                if issuer.down:
                    self._send(503, {"error": "temporarily_unavailable"})
                elif self.path == "/.well-known/openid-configuration":
                    self._send(200, {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"})
                elif self.path == "/jwks":
                    self._send(200, {"keys": [key.jwk for key in issuer.keys] + issuer.extra_jwks})
                else:
                    self._send(404, {"error": "not_found"})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    @property
    def jwks_fetches(self) -> int:
        return self.hits["/jwks"]

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url, "aud": AUDIENCE, "sub": "user-abe", "client_id": "coffee-spa",
            "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex, "permissions": [],
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def mint(self, key: TestKey | None = None, *, headers: dict[str, Any] | None = None,
             **claims: Any) -> str:
        """A token as this issuer would sign it; claim=None drops that claim."""
        key = key or self.keys[0]
        header = {"kid": key.kid, "typ": "at+jwt", **(headers or {})}
        return jwt.encode(self.claims(**claims), key.private, algorithm=key.alg, headers=header)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


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
