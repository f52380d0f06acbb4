"""Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3).

    authenticate_client(directory, form, authorization_header) -> AuthenticatedClient

Methods (exactly one per request, RFC 6749 §2.3):

- ``client_secret_basic``: ``Authorization: Basic base64(urlencode(id) ":" urlencode(secret))``
  (RFC 6749 §2.3.1, the form-urlencoding inside Basic). A ``client_id`` in the
  body is tolerated only if it names the same client.
- ``client_secret_post``: ``client_id`` and ``client_secret`` in the body.
- ``none``: a public client sends only ``client_id`` (RFC 6749 §2.1).

Failures raise `InvalidClient` (401; with ``WWW-Authenticate: Basic`` when the
client tried Basic, RFC 6749 §5.2); two methods at once raise `InvalidRequest`.
A disabled or unknown client and a wrong secret get the same answer. Secrets
are high-entropy values stored as SHA-256 digests and compared in constant
time (no argon2 on this path by design). Other endpoints (OIDC userinfo is
bearer-authenticated and needs none of this) reuse this function unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from urllib.parse import unquote_plus

from authgate import tokens
from authgate.oauth2.client_directory import ClientDirectory, ClientRecord
from authgate.oauth2.errors import InvalidClient, InvalidRequest
from authgate.oauth2.form import Form

BASIC = "client_secret_basic"
POST = "client_secret_post"
NONE = "none"
# Compared against when the client is unknown, so the answer takes the same time.
_NO_CLIENT_DIGEST = tokens.digest("authgate: no such client")


@dataclass(frozen=True)
class AuthenticatedClient:
    client: ClientRecord
    method: str  # BASIC | POST | NONE

    @property
    def client_id(self) -> str:
        return self.client.client_id


@dataclass(frozen=True)
class Credentials:
    client_id: str
    secret: str | None
    method: str


def authenticate_client(
    directory: ClientDirectory, form: Form, authorization: str | None, *, credentials: Credentials | None = None
) -> AuthenticatedClient:
    """`credentials`, when the caller already read them with `read_credentials`, are not parsed again."""
    credentials = credentials or read_credentials(form, authorization)
    basic = credentials.method == BASIC
    client = directory.get(credentials.client_id)
    if credentials.secret is None:
        # RFC 6749 §2.1: only a public client may identify itself without authenticating.
        if client is None or client.disabled or client.is_confidential:
            raise InvalidClient(debug=f"client {credentials.client_id!r}: unknown, disabled or needs a secret")
        return AuthenticatedClient(client, NONE)
    stored = client.secret_hash if client is not None and client.secret_hash else _NO_CLIENT_DIGEST
    secret_ok = hmac.compare_digest(tokens.digest(credentials.secret), stored)
    if client is None or not secret_ok or client.disabled or not client.is_confidential:
        raise InvalidClient(basic=basic, debug=f"client {credentials.client_id!r}: bad secret, unknown or disabled")
    return AuthenticatedClient(client, credentials.method)


def read_credentials(form: Form, authorization: str | None) -> Credentials:
    """Which client claims to be calling, with which secret and method; raises on a malformed or double claim."""
    body_id, body_secret = form.get("client_id"), form.get("client_secret")
    basic = _parse_basic(authorization) if authorization else None
    if basic is not None:
        if body_secret is not None:
            raise InvalidRequest("Use one client authentication method, not Basic and client_secret together.")
        if body_id is not None and body_id != basic[0]:
            raise InvalidRequest("client_id in the body does not match the Basic credentials.")
        return Credentials(basic[0], basic[1], BASIC)
    if body_id is None:
        raise InvalidClient("Client authentication is required.")
    if body_secret is not None:
        return Credentials(body_id, body_secret, POST)
    return Credentials(body_id, None, NONE)


def _parse_basic(header: str) -> tuple[str, str] | None:
    """(client_id, secret) from a Basic header; None for another scheme; InvalidClient if malformed."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidClient("Malformed Basic credentials.", basic=True) from None
    raw_id, colon, raw_secret = decoded.partition(":")
    if not colon:
        raise InvalidClient("Malformed Basic credentials.", basic=True)
    # RFC 6749 §2.3.1: both halves are application/x-www-form-urlencoded.
    client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    if not client_id or not secret:
        raise InvalidClient("Malformed Basic credentials.", basic=True)
    return client_id, secret
