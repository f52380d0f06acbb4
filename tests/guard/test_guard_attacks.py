"""One table of known attacks on JWT verifiers, each sent to a real Flask and a
real FastAPI app over a guard that fetched its keys from a test issuer over HTTP.

Every case must end in 401 with ``error="invalid_token"`` (never 500), one log
line with the reason, and never the token in the logs. The expected reason
proves the case was stopped by the check meant for it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from guard_testkit import AUDIENCE, b64url, call, forge

from authgate.testing import TestIssuer

# P-256 group order: ECDSA signatures need 0 < r, s < n (FIPS 186-4 §6.4).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def header(key: Any, **extra: Any) -> dict[str, Any]:
    return {"alg": key.alg, "kid": key.kid, "typ": "at+jwt", **extra}


def hs256(iss: TestIssuer, kid: str, secret: bytes) -> str:
    """An HS256 token whose HMAC secret is a public key: the key confusion attack."""
    signing_input = f"{b64url(json.dumps({'alg': 'HS256', 'kid': kid, 'typ': 'at+jwt'}).encode())}" \
                    f".{b64url(json.dumps(iss.claims(permissions=['delete:drinks'])).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def pem(key: Any) -> bytes:
    return key.public.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def self_signed_cert(key: Any) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key.private, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def rs_signature(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def with_signature(token: str, signature: bytes) -> str:
    return token.rsplit(".", 1)[0] + "." + b64url(signature)


def tampered(iss: TestIssuer, k: Any) -> str:
    head, _, sig = iss.token(key=k.es, permissions=["get:drinks"]).split(".")
    evil = b64url(json.dumps(iss.claims(permissions=["delete:drinks"])).encode())
    return f"{head}.{evil}.{sig}"


def der_signature(iss: TestIssuer, k: Any) -> str:
    token = iss.token(key=k.es)
    raw = base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "==")
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    assert decode_dss_signature(encode_dss_signature(r, s)) == (r, s)
    return with_signature(token, encode_dss_signature(r, s))


Build = Callable[[TestIssuer, Any], str]


def now() -> int:
    """Read when the token is built, not at collection: a long run reaches tests minutes after it collected
    them, and a token `nbf` ten minutes after collection was no longer in the future (an accepted token, 403)."""
    return int(time.time())


def attack(case_id: str, build: Build, reason: str) -> Any:
    return pytest.param(build, reason, id=case_id)


ATTACKS = [
    # RFC 8725 §2.1 / CVE-2015-9235: "none" in any spelling is never an algorithm.
    *[attack(f"alg-{alg}-unsigned (CVE-2015-9235)",
             lambda i, k, alg=alg: forge({"alg": alg, "kid": k.es.kid, "typ": "at+jwt"}, i.claims()),
             "algorithm not allowed") for alg in ("none", "None", "NONE", "nOnE")],
    attack("alg-missing", lambda i, k: forge({"kid": k.es.kid, "typ": "at+jwt"}, i.claims()),
           "algorithm not allowed"),
    attack("alg-null", lambda i, k: forge({"alg": None, "kid": k.es.kid}, i.claims()),
           "algorithm not allowed"),
    # CVE-2016-10555: HS256 with the RSA public key (PEM) as the HMAC secret.
    attack("HS256-with-RSA-public-PEM-as-secret (CVE-2016-10555)",
           lambda i, k: hs256(i, k.rs.kid, pem(k.rs)), "algorithm not allowed"),
    attack("HS256-with-EC-public-PEM-as-secret (CVE-2016-10555)",
           lambda i, k: hs256(i, k.es.kid, pem(k.es)), "algorithm not allowed"),
    # CVE-2022-29217: PyJWT < 2.4 accepted an OpenSSH Ed25519 public key as HMAC secret.
    attack("HS256-with-OpenSSH-Ed25519-key-as-secret (CVE-2022-29217)",
           lambda i, k: hs256(i, k.ed.kid, k.ed.public.public_bytes(
               serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)),
           "algorithm not allowed"),
    # RFC 8725 §3.1: the key's family decides, not the header.
    attack("RS256-token-naming-the-EC-key (alg/key confusion)",
           lambda i, k: forge({"alg": "RS256", "kid": k.es.kid, "typ": "at+jwt"}, i.claims(), key=k.rs),
           "algorithm does not match"),
    attack("ES256-token-naming-the-RSA-key (alg/key confusion)",
           lambda i, k: forge({"alg": "ES256", "kid": k.rs.kid, "typ": "at+jwt"}, i.claims(), key=k.es),
           "algorithm does not match"),
    # CVE-2018-0114 and friends: keys or key URLs carried by the token itself.
    attack("jwk-header-injection (CVE-2018-0114)",
           lambda i, k: forge(header(k.rogue, jwk=k.rogue.jwk), i.claims(), key=k.rogue), r"\(jwk\)"),
    attack("jku-header-points-to-attacker-JWKS",
           lambda i, k: forge(header(k.rogue, jku="http://127.0.0.1:9/jwks"), i.claims(), key=k.rogue),
           r"\(jku\)"),
    attack("x5u-header-points-to-attacker-cert",
           lambda i, k: forge(header(k.rogue, x5u="http://127.0.0.1:9/c.pem"), i.claims(), key=k.rogue),
           r"\(x5u\)"),
    attack("x5c-header-self-signed-attacker-cert",
           lambda i, k: forge(header(k.rogue, x5c=[self_signed_cert(k.rogue)]), i.claims(), key=k.rogue),
           r"\(x5c\)"),
    attack("jwk-header-even-on-a-validly-signed-token",
           lambda i, k: forge(header(k.es, jwk=k.es.jwk), i.claims(), key=k.es), r"\(jwk\)"),
    # RFC 7515 §4.1.11: unknown critical extensions and empty crit are refused.
    attack("crit-unknown-extension (RFC 7515 §4.1.11)",
           lambda i, k: forge(header(k.es, crit=["urn:x:acr"], **{"urn:x:acr": 1}), i.claims(), key=k.es),
           "crit|header"),
    attack("crit-empty-list (RFC 7515 §4.1.11)",
           lambda i, k: forge(header(k.es, crit=[]), i.claims(), key=k.es), "crit|header"),
    attack("crit-not-a-list",
           lambda i, k: forge(header(k.es, crit="exp"), i.claims(), key=k.es), "crit|header"),
    attack("crit-b64-false-unencoded-payload (RFC 7797)",
           lambda i, k: forge(header(k.es, b64=False, crit=["b64"]), i.claims(), key=k.es),
           "crit|malformed"),
    # kid is only ever a dictionary key here, never a path or a query.
    attack("kid-path-traversal ../../dev/null",
           lambda i, k: forge(header(k.rogue, kid="../../dev/null"), i.claims(), key=k.rogue),
           "no matching signing key"),
    attack("kid-sql-injection ' OR 1=1 --",
           lambda i, k: forge(header(k.rogue, kid="' OR 1=1 --"), i.claims(), key=k.rogue),
           "no matching signing key"),
    attack("kid-empty-string", lambda i, k: forge(header(k.es, kid=""), i.claims(), key=k.es),
           "malformed kid"),
    attack("kid-integer", lambda i, k: forge(header(k.es, kid=1), i.claims(), key=k.es),
           "malformed token"),
    attack("kid-nosql-object", lambda i, k: forge(header(k.es, kid={"$ne": None}), i.claims(), key=k.es),
           "malformed token"),
    attack("kid-huge-1000-chars", lambda i, k: forge(header(k.es, kid="k" * 1000), i.claims(), key=k.es),
           "malformed kid"),
    attack("kid-with-CRLF-header-injection",
           lambda i, k: forge(header(k.es, kid="es-1\r\nX-Evil: 1"), i.claims(), key=k.es),
           "malformed kid"),
    # Garbled encodings: PyJWT's parser refuses them, the guard answers 401.
    attack("malformed-base64-header", lambda i, k: "!!!!." + i.token().split(".", 1)[1], "malformed token"),
    attack("malformed-base64-payload",
           lambda i, k: "{0}.@@@@.{2}".format(*i.token().split(".")), "malformed token"),
    attack("malformed-base64-signature", lambda i, k: i.token().rsplit(".", 1)[0] + ".***", "malformed token"),
    attack("two-segments-only", lambda i, k: i.token().rsplit(".", 1)[0], "malformed token"),
    attack("not-a-jwt-at-all", lambda i, k: "not-a-jwt", "malformed token"),
    attack("malformed-json-header", lambda i, k: forge(b"{not json", i.claims(), key=k.es),
           "malformed token"),
    attack("json-header-is-an-array", lambda i, k: forge(b"[1,2]", i.claims(), key=k.es),
           "malformed token"),
    attack("malformed-json-payload-validly-signed",
           lambda i, k: forge(header(k.es), b"{oops", key=k.es), "malformed payload"),
    attack("json-payload-is-an-array-validly-signed",
           lambda i, k: forge(header(k.es), b"[]", key=k.es), "malformed payload"),
    # CVE-2022-21449 "psychic signatures": r or s zero or >= n must never verify.
    attack("psychic-signature r=s=0 (CVE-2022-21449)",
           lambda i, k: with_signature(i.token(key=k.es), rs_signature(0, 0)), "signature verification failed"),
    attack("ecdsa r=n s=n (CVE-2022-21449)",
           lambda i, k: with_signature(i.token(key=k.es), rs_signature(P256_ORDER, P256_ORDER)),
           "signature verification failed"),
    attack("ecdsa r=0 s=1", lambda i, k: with_signature(i.token(key=k.es), rs_signature(0, 1)),
           "signature verification failed"),
    attack("ecdsa r>=n (2^256-1)",
           lambda i, k: with_signature(i.token(key=k.es), rs_signature(2**256 - 1, 1)),
           "signature verification failed"),
    attack("ecdsa DER-encoded signature instead of raw r||s (RFC 7518 §3.4)", der_signature,
           "signature verification failed"),
    # Time and audience: RFC 7519 §4.1, RFC 9068 §4.
    attack("expired", lambda i, k: i.token(iat=now() - 900, exp=now() - 120), "expired"),
    attack("nbf-in-future", lambda i, k: i.token(nbf=now() + 600), "not yet valid"),
    attack("iat-in-future", lambda i, k: i.token(iat=now() + 600, exp=now() + 900), "issued in the future"),
    attack("exp-is-a-string", lambda i, k: i.token(exp=str(now() + 600)), "NumericDate"),
    attack("exp-missing", lambda i, k: i.token(exp=None), "missing exp"),
    attack("wrong-iss", lambda i, k: i.token(iss="https://evil.example"), "wrong issuer"),
    attack("iss-with-trailing-slash", lambda i, k: i.token(iss=i.url + "/"), "wrong issuer"),
    attack("iss-missing", lambda i, k: i.token(iss=None), "missing iss"),
    attack("wrong-aud", lambda i, k: i.token(aud="https://other.example/api"), "wrong audience"),
    attack("wrong-aud-list", lambda i, k: i.token(aud=["https://a.example", "https://b.example"]),
           "wrong audience"),
    attack("aud-missing", lambda i, k: i.token(aud=None), "missing aud"),
    attack("typ-JWT-when-at+jwt-required (RFC 9068 §4)", lambda i, k: i.token(headers={"typ": "JWT"}),
           "typ"),
    attack("typ-missing-when-required (RFC 9068 §4)",
           lambda i, k: forge({"alg": "ES256", "kid": k.es.kid}, i.claims(), key=k.es), "typ"),
    attack("oversized-token-9KiB", lambda i, k: i.token(padding="x" * 9000), "too large"),
    attack("signed-by-key-not-in-JWKS", lambda i, k: i.token(key=k.rogue), "no matching signing key"),
    attack("real-kid-but-signed-by-another-key",
           lambda i, k: forge(header(k.es), i.claims(), key=k.rogue), "signature verification failed"),
    attack("tampered-payload-permissions-elevated", tampered, "signature verification failed"),
    attack("permissions-claim-not-an-array", lambda i, k: i.token(permissions="delete:drinks"),
           "permissions claim"),
]


@pytest.mark.parametrize(("build", "reason"), ATTACKS)
def test_attack_is_refused_with_401_invalid_token(
    build: Build, reason: str, issuer: TestIssuer, keys: Any, client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = build(issuer, keys)
    call(client, "/me", issuer.token(key=keys.es))  # keys are loaded; what follows is the attack alone
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="authgate.guard"):
        status, challenge, body = call(client, "/drinks-detail", token)

    assert status == 401
    assert challenge is not None and challenge["scheme"] == "Bearer"
    assert challenge["realm"] == AUDIENCE
    assert challenge["error"] == "invalid_token"
    assert re.search(reason, challenge["error_description"]), challenge
    assert body["error"] == "invalid_token"
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1, refusals
    assert token not in refusals[0] and token.split(".")[0] not in refusals[0]


def test_the_same_routes_accept_a_genuine_token(issuer: TestIssuer, keys: Any, client: Any) -> None:
    """The control case: without this, every attack above could pass by refusing everything."""
    for key in (keys.es, keys.rs, keys.ed):
        status, _, body = call(client, "/drinks-detail", issuer.token(key=key, permissions=["get:drinks-detail"]))
        assert status == 200, body
        assert body["granted"] == ["get:drinks-detail"]
