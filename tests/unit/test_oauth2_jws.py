"""The compact JWS writer: every algorithm it signs with verifies with PyJWT (RFC 7515 §7.1, RFC 7518 §3.4)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authgate.oauth2 import jws
from authgate.oauth2.keys import ActiveKey
from authgate.oauth2.token_ids import new_token_id


def _generate(alg: str) -> Any:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_signed_tokens_verify_with_pyjwt(alg):
    private = _generate(alg)
    key = ActiveKey(kid=f"k-{alg}", alg=alg, private_key=private)
    claims = {
        "iss": "https://as.example", "sub": "42", "aud": ["a", "b"], "exp": 4_000_000_000, "iat": 1, "name": "Zoë ☕"
    }
    token = jws.sign(claims, key, typ="at+jwt")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": alg, "kid": f"k-{alg}", "typ": "at+jwt"}
    public = private.public_key()
    assert jwt.decode(token, public, algorithms=[alg], audience="a") == claims
    assert "=" not in token and token.count(".") == 2


def test_es256_signatures_are_raw_r_and_s():
    key = ActiveKey(kid="k", alg="ES256", private_key=_generate("ES256"))
    signature = jws.sign({"a": 1}, key, typ="JWT").rsplit(".", 1)[1]
    assert len(signature) == 86, "64 octets base64url-encoded, not DER"


def test_token_ids_are_unique_and_128_bits():
    ids = {new_token_id() for _ in range(20_000)}
    assert len(ids) == 20_000 and all(len(value) == 22 for value in ids)
