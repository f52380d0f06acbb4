"""Verification keys parsed once from a JWK Set, each bound to its algorithms.

A key is only ever used with the algorithms of its own family (an EC P-256
key verifies ES256 and nothing else): that, not the token header, decides
how a signature is checked, which closes the algorithm confusion attacks
(RFC 8725 §2.1, §3.1).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt import PyJWK, PyJWTError

logger = logging.getLogger("authgate.guard")

_RSA = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_CURVES = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512",
              "secp256k1": "ES256K"}
_MIN_RSA_BITS = 2048  # RFC 7518 §3.3


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key ready for PyJWT, and the ``alg`` values it may verify."""

    kid: str | None
    key: Any
    algorithms: frozenset[str]


def _family(public_key: Any) -> frozenset[str]:
    if isinstance(public_key, rsa.RSAPublicKey):
        return _RSA if public_key.key_size >= _MIN_RSA_BITS else frozenset()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        alg = _EC_CURVES.get(public_key.curve.name)
        return frozenset({alg}) if alg else frozenset()
    if isinstance(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return frozenset({"EdDSA"})
    return frozenset()


def parse_jwk(jwk: Mapping[str, Any], allowed: frozenset[str]) -> VerificationKey | None:
    """One JWK to a key, or None (logged) if it cannot verify our tokens."""
    # RFC 7517 §4.2/§4.3: a key meant for encryption is never used to verify.
    if jwk.get("use", "sig") != "sig":
        return None
    key_ops = jwk.get("key_ops")
    if isinstance(key_ops, list) and "verify" not in key_ops:
        return None
    if jwk.get("kty") not in ("RSA", "EC", "OKP"):
        return None  # "oct" (shared secrets) is never trusted
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        return None
    try:
        parsed = PyJWK(dict(jwk))
    except (PyJWTError, ValueError, TypeError, KeyError) as err:
        logger.warning("authgate.guard: skipping unusable JWK kid=%r: %s", kid, type(err).__name__)
        return None
    key = parsed.key
    if hasattr(key, "private_numbers") or isinstance(
        key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)
    ):
        key = key.public_key()  # a JWKS should not carry private parts; never keep them
    algorithms = _family(key) & allowed
    declared = jwk.get("alg")
    if declared is not None:
        # RFC 7517 §4.4: a declared "alg" narrows what the key may be used for.
        algorithms = algorithms & {declared}
    if not algorithms:
        return None
    return VerificationKey(kid=kid, key=key, algorithms=frozenset(algorithms))


class KeySet:
    """An immutable snapshot of the issuer's verification keys."""

    def __init__(self, keys: Iterable[VerificationKey]) -> None:
        self.keys = tuple(keys)
        self._by_kid = {key.kid: key for key in self.keys if key.kid is not None}

    @classmethod
    def from_jwks(cls, document: Any, allowed: frozenset[str]) -> KeySet:
        """Parse a JWK Set document (RFC 7517 §5); raises ValueError if malformed."""
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWK Set: no 'keys' array")
        keys = [parse_jwk(jwk, allowed) for jwk in document["keys"] if isinstance(jwk, dict)]
        return cls(key for key in keys if key is not None)

    def find(self, kid: str | None, alg: str) -> VerificationKey | None:
        """The key named ``kid``; without a kid, the only key for ``alg``."""
        if kid is not None:
            return self._by_kid.get(kid)
        candidates = [key for key in self.keys if alg in key.algorithms]
        return candidates[0] if len(candidates) == 1 else None

    def __len__(self) -> int:
        return len(self.keys)
