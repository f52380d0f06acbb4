"""TEST-ONLY signing keys, generated in memory with ``cryptography``.

Every key lives only as long as the test process: TEST KEYS, NEVER USE
OUTSIDE TESTS. Signing and JWK export go through PyJWT's algorithms.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

_ALGORITHMS = get_default_algorithms()
_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1, "ES256K": ec.SECP256K1,
}
_RSA = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")


@dataclass(frozen=True)
class TestKey:
    """A TEST-ONLY private key, its ``kid`` and ``alg``, and its public JWK."""

    __test__ = False  # not a pytest test class

    kid: str
    alg: str
    private: Any

    @property
    def public(self) -> Any:
        """The public half, as a ``cryptography`` key."""
        return self.private.public_key()

    @property
    def jwk(self) -> dict[str, Any]:
        """The public JWK an issuer publishes for this key (RFC 7517)."""
        data: dict[str, Any] = json.loads(_ALGORITHMS[self.alg].to_jwk(self.public))
        return {**data, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign(self, signing_input: bytes) -> bytes:
        """A raw JWS signature over ``signing_input`` (RFC 7515 §5.1)."""
        signature: bytes = _ALGORITHMS[self.alg].sign(signing_input, self.private)
        return signature


def new_key(alg: str = "ES256", kid: str | None = None) -> TestKey:
    """Generate a TEST-ONLY key for ``alg`` (``ES*``, ``RS*``, ``PS*`` or ``EdDSA``)."""
    private: Any
    if alg in _CURVES:
        private = ec.generate_private_key(_CURVES[alg]())
    elif alg in _RSA:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"no test keys for alg {alg!r}")
    return TestKey(kid=kid or f"{alg.lower()}-{uuid.uuid4().hex[:8]}", alg=alg, private=private)
