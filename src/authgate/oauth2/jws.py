"""Compact JWS signing (RFC 7515 §7.1) of this server's own tokens, without a general-purpose JOSE layer.

Issuing an access token is the token endpoint's hot path, and PyJWT's encode
spends more time on generality (header assembly, algorithm lookup, key
checks) than on the signature itself. Here the protected header is encoded
once per (key, typ), and the payload is serialised once. Verification stays
with PyJWT everywhere (`AccessTokens.verify`, the guard), and the tests
verify every token this writes with PyJWT's PyJWKClient.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from authgate.oauth2.keys import ActiveKey

_ES256_HALF = 32  # RFC 7518 §3.4: R and S, 32 octets each, big-endian


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@lru_cache(maxsize=64)
def _encoded_header(alg: str, kid: str, typ: str) -> str:
    return b64url(json.dumps({"alg": alg, "kid": kid, "typ": typ}, separators=(",", ":")).encode())


def sign(claims: dict[str, Any], key: ActiveKey, *, typ: str) -> str:
    signing_input = _encoded_header(key.alg, key.kid, typ) + "." + b64url(
        json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    )
    return signing_input + "." + b64url(_signature(key, signing_input.encode("ascii")))


def _signature(key: ActiveKey, data: bytes) -> bytes:
    if key.alg == "ES256":
        r, s = decode_dss_signature(key.private_key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(_ES256_HALF, "big") + s.to_bytes(_ES256_HALF, "big")
    if key.alg == "RS256":
        return bytes(key.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    if key.alg == "EdDSA":
        return bytes(key.private_key.sign(data))
    raise ValueError(f"unsupported signing algorithm {key.alg}")
