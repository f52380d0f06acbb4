"""Signing this server's own tokens (RFC 7515 §7.1 compact serialization), through PyJWT.

One place that turns claims and the active key into a token, with the `kid`
and `typ` headers every verifier here relies on. A hand-written serializer
was measured at ~11 µs faster per token (about 1% of a client_credentials
grant) — not worth a second JOSE implementation beside PyJWT.
"""

from __future__ import annotations

from typing import Any

import jwt

from authgate.oauth2.keys import ActiveKey


def sign(claims: dict[str, Any], key: ActiveKey, *, typ: str) -> str:
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": typ})
