"""Password hashes imported from other systems, verified until the first login upgrades them.

Accepted formats (the stored form is the left column):

- bcrypt ``$2a$``/``$2b$``/``$2y$`` — verified with the bcrypt library.
- Django ``pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`` (also ``pbkdf2_sha1``).
- Keycloak ``keycloak:pbkdf2-sha256$<iterations>$<base64 salt>$<base64 hash>`` (also
  ``pbkdf2``, ``pbkdf2-sha512``): built by `from_keycloak` from Keycloak's export
  (``credentialData`` with ``hashIterations`` and ``algorithm``; ``secretData`` with
  ``value`` and ``salt``), or written directly in that form.

PBKDF2 is computed with hashlib (OpenSSL); nothing here is a home-made primitive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import bcrypt

from authgate.errors import InvalidInput

_DJANGO = {"pbkdf2_sha256": "sha256", "pbkdf2_sha1": "sha1"}
_KEYCLOAK = {"pbkdf2": "sha1", "pbkdf2-sha256": "sha256", "pbkdf2-sha512": "sha512"}
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


def is_legacy(stored: str) -> bool:
    return stored.startswith(_BCRYPT_PREFIXES) or stored.split("$", 1)[0] in _DJANGO or stored.startswith("keycloak:")


def normalize(value: str) -> str:
    """Check an imported hash string is well-formed; return its stored form."""
    try:
        _parse(value)
    except (ValueError, binascii.Error) as error:
        raise InvalidInput(f"password_hash is not in a supported format ({error})", field="password_hash") from error
    return value


def from_keycloak(credential: Mapping[str, Any]) -> str:
    """Turn a Keycloak credential representation into our stored form."""
    data = _maybe_json(credential.get("credentialData", credential))
    secret = _maybe_json(credential.get("secretData", credential))
    try:
        algorithm = str(data.get("algorithm", "pbkdf2-sha256"))
        iterations = int(data["hashIterations"])
        stored = f"keycloak:{algorithm}${iterations}${secret['salt']}${secret['value']}"
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidInput(f"Keycloak credential is missing {error}", field="password_hash") from error
    return normalize(stored)


def verify(stored: str, password: str) -> bool:
    try:
        kind, parts = _parse(stored)
    except (ValueError, binascii.Error):
        return False
    encoded = password.encode("utf-8")
    if kind == "bcrypt":
        # bcrypt reads at most 72 bytes; longer input raises in bcrypt ≥ 5.
        return bcrypt.checkpw(encoded[:72], stored.encode("ascii"))
    digest, iterations, salt, expected = parts
    computed = hashlib.pbkdf2_hmac(digest, encoded, salt, iterations, dklen=len(expected))
    return hmac.compare_digest(computed, expected)


def _parse(stored: str) -> tuple[str, tuple[Any, ...]]:
    if stored.startswith(_BCRYPT_PREFIXES):
        if len(stored) != 60:
            raise ValueError("bcrypt hashes are 60 characters")
        return "bcrypt", ()
    if stored.startswith("keycloak:"):
        algorithm, iterations, salt, value = stored[len("keycloak:") :].split("$")
        if algorithm not in _KEYCLOAK:
            raise ValueError(f"unknown Keycloak algorithm {algorithm}")
        return "pbkdf2", (_KEYCLOAK[algorithm], _iterations(iterations), _b64(salt), _b64(value))
    algorithm, iterations, salt, value = stored.split("$")
    if algorithm not in _DJANGO:
        raise ValueError("unknown hash scheme")
    # Django uses the salt string itself as bytes.
    return "pbkdf2", (_DJANGO[algorithm], _iterations(iterations), salt.encode("utf-8"), _b64(value))


def _iterations(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000_000:
        raise ValueError("iteration count out of range")
    return value


def _b64(text: str) -> bytes:
    decoded = base64.b64decode(text, validate=True)
    if not decoded:
        raise ValueError("empty base64 field")
    return decoded


def _maybe_json(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):
        parsed = json.loads(value)
        if not isinstance(parsed, dict):
            raise InvalidInput("Keycloak credential data must be an object", field="password_hash")
        return parsed
    if not isinstance(value, Mapping):
        raise InvalidInput("Keycloak credential must be an object", field="password_hash")
    return value
