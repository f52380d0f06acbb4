"""Proof Key for Code Exchange (RFC 7636), S256 only.

The authorization endpoint checks the challenge's shape (`check_challenge`);
the token endpoint checks the verifier against it (`verify`). `plain` is
refused: it protects nothing against an attacker who can read the request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from authgate.oauth2.errors import InvalidGrant, InvalidRequest

S256 = "S256"
# RFC 7636 §4.1: 43–128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# An S256 challenge is BASE64URL(SHA256(verifier)) without padding: exactly 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def check_challenge(challenge: str | None, method: str | None, *, required: bool) -> None:
    """Validate the authorization request's challenge; raises InvalidRequest (redirected to the client)."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method without code_challenge.")
        if required:
            # RFC 7636 §4.4.1; OAuth 2.1 §7.5.1: public clients must use PKCE.
            raise InvalidRequest("code_challenge is required (PKCE, S256).")
        return
    # RFC 7636 §4.3: an absent method means "plain", which this server does not support.
    if method != S256:
        raise InvalidRequest("code_challenge_method must be S256; plain is not supported.")
    if not _S256_CHALLENGE.match(challenge):
        raise InvalidRequest("code_challenge is not a base64url SHA-256 value.")


def verify(verifier: str | None, challenge: str | None, method: str | None) -> None:
    """RFC 7636 §4.6: recompute the challenge from the verifier; raises InvalidGrant on mismatch."""
    if challenge is None:
        if verifier is not None:
            # RFC 7636 §4.5 / OAuth 2.1 §4.1.3: a verifier without a challenge is a downgrade attempt.
            raise InvalidGrant("code_verifier sent but no code_challenge was used.")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required.")
    if method != S256 or not _VERIFIER.match(verifier):
        raise InvalidGrant("code_verifier is malformed.")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge.")
