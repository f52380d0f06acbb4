"""High-entropy opaque values (refresh tokens, codes, secrets, session ids) and their stored digests.

These values carry ≥ 256 bits of randomness, so a plain SHA-256 digest is a
safe way to store them: unlike passwords, they cannot be guessed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_opaque(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def matches(value: str, stored_digest: str | None) -> bool:
    if stored_digest is None:
        return False
    return hmac.compare_digest(digest(value), stored_digest)
