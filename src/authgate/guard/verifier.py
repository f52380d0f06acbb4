"""``TokenVerifier.verify(token) -> Claims``: one JWT access token, checked.

The order is chosen for cost and safety: size first (before any parsing),
then the claims cache (before any crypto), then one parse by PyJWT, header
checks, key lookup, signature, and only then the payload JSON and claims.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

import anyio.to_thread
import httpx
from jwt import DecodeError, PyJWS, PyJWTError
from jwt.algorithms import get_default_algorithms

from authgate.guard.cache import ClaimsCache, token_digest
from authgate.guard.claim_checks import ClaimChecks
from authgate.guard.claims import Claims
from authgate.guard.config import GuardConfig
from authgate.guard.errors import GuardError, InvalidToken, KeysUnavailable, log_refusal
from authgate.guard.jwks import JwksCache
from authgate.guard.keys import KeySet, VerificationKey

# RFC 8725 §3.10 / RFC 7515 §4.1.2-4.1.6: keys and key URLs named by the token
# itself are attacker-controlled; the guard trusts only the issuer's JWKS.
_KEY_HEADERS = ("jwk", "jku", "x5u", "x5c")
_MAX_KID_LENGTH = 256


class _Fetch(Enum):
    INLINE = "inline"  # sync callers: fetch keys right here
    DEFER = "defer"  # async callers: ask to be called again after a fetch in a thread
    NEVER = "never"  # the retry after that fetch


class _NeedsKeys(Exception):
    """Internal: the async path must fetch keys off the event loop first."""


class TokenVerifier:
    """Verifies bearer JWTs against one issuer; safe to share between threads."""

    def __init__(
        self, config: GuardConfig, *, http_client: httpx.Client | None = None
    ) -> None:
        self.config = config
        self.jwks = JwksCache(config, http_client)
        self.cache = ClaimsCache(config.claims_cache_size, config.claims_cache_ttl, config.clock)
        self._checks = ClaimChecks(config)
        # PyJWT does the JOSE parsing (its strict base64url check included);
        # the signature is checked below with the key's own algorithm object,
        # after our own header checks.
        self._jws = PyJWS(
            algorithms=list(config.algorithms), options={"verify_signature": False}
        )
        self._algorithms = {
            name: algorithm
            for name, algorithm in get_default_algorithms().items()
            if name in config.algorithms
        }
        typ = config.required_typ
        self._typs = None if typ is None else {typ.lower(), "application/" + typ.lower()}
        #: Tokens verified the full way (cache misses); tests and metrics read it.
        self.full_verifications = 0

    def verify(self, token: str) -> Claims:
        """Verify ``token``; raise ``InvalidToken`` (or ``KeysUnavailable``)."""
        try:
            return self._verify(token, _Fetch.INLINE)
        except GuardError as err:
            log_refusal(err)
            raise

    async def verify_async(self, token: str) -> Claims:
        """As ``verify``, but a key fetch runs in a worker thread."""
        try:
            try:
                return self._verify(token, _Fetch.DEFER)
            except _NeedsKeys:
                await anyio.to_thread.run_sync(self.jwks.refresh)
                return self._verify(token, _Fetch.NEVER)
        except GuardError as err:
            log_refusal(err)
            raise

    def _verify(self, token: str, fetch: _Fetch) -> Claims:
        if not isinstance(token, str):
            raise InvalidToken("malformed token")
        if len(token) > self.config.max_token_bytes:
            raise InvalidToken("token too large")
        if not token.isascii():  # so its length in characters is its length in bytes
            raise InvalidToken("malformed token")
        digest = token_digest(token)
        cached = self.cache.get(digest)
        if cached is not None:
            return cached
        try:
            claims = self._verify_uncached(token, fetch)
        except (GuardError, _NeedsKeys):
            raise
        except Exception as err:  # never a 500 for a bad token
            raise InvalidToken(f"token could not be verified ({type(err).__name__})") from err
        self.cache.put(digest, claims)
        return claims

    def _verify_uncached(self, token: str, fetch: _Fetch) -> Claims:
        self.full_verifications += 1
        try:
            decoded = self._jws.decode_complete(token)
        except DecodeError as err:
            raise InvalidToken("malformed token") from err
        except PyJWTError as err:
            # PyJWT's own header checks (kid type, crit); its messages may
            # quote the header, ours never do.
            raise InvalidToken("malformed token header") from err
        header: dict[str, Any] = decoded["header"]
        alg = self._check_header(header)
        key = self._key_for(header.get("kid"), alg, fetch)
        signing_input = token[: token.rindex(".")].encode("ascii")
        if not self._algorithms[alg].verify(signing_input, key.key, decoded["signature"]):
            raise InvalidToken("signature verification failed")
        try:
            payload = json.loads(decoded["payload"])
        except (ValueError, RecursionError) as err:
            raise InvalidToken("malformed payload") from err
        if not isinstance(payload, dict):
            raise InvalidToken("malformed payload")
        self._checks.check(payload)
        return Claims.from_payload(payload)

    def _check_header(self, header: dict[str, Any]) -> str:
        alg = header.get("alg")
        # RFC 8725 §3.1: only allow-listed algorithms; "none" in any spelling
        # and every HMAC algorithm are never on the list.
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidToken("algorithm not allowed")
        for name in _KEY_HEADERS:
            if name in header:
                raise InvalidToken(f"key in token header ({name}) not accepted")
        if "crit" in header:
            # RFC 7515 §4.1.11: crit MUST NOT be empty, and a recipient MUST
            # reject extensions it does not understand; the guard knows none.
            crit = header["crit"]
            if not isinstance(crit, list) or not crit:
                raise InvalidToken("crit header must be a non-empty array")
            raise InvalidToken("unsupported critical header extension")
        if self._typs is not None:
            typ = header.get("typ")
            # RFC 9068 §4: typ MUST be "at+jwt" or "application/at+jwt";
            # RFC 7515 §4.1.9: media types compare case-insensitively.
            if not isinstance(typ, str) or typ.lower() not in self._typs:
                raise InvalidToken("wrong token type (typ)")
        kid = header.get("kid")
        if kid is not None and (
            not isinstance(kid, str)
            or not kid
            or len(kid) > _MAX_KID_LENGTH
            or not kid.isprintable()
        ):
            raise InvalidToken("malformed kid")
        return alg

    def _key_for(self, kid: str | None, alg: str, fetch: _Fetch) -> VerificationKey:
        jwks = self.jwks
        keys = jwks.keys
        if jwks.is_stale() and jwks.may_refresh():
            keys = self._refreshed(fetch)
        key = keys.find(kid, alg) if keys is not None else None
        if key is None and kid is not None and keys is not None and jwks.may_refresh():
            # A new kid may be a rotation: one refetch, rate-limited for everyone.
            keys = self._refreshed(fetch)
            key = keys.find(kid, alg) if keys is not None else None
        if keys is None:
            raise KeysUnavailable("the issuer's signing keys are not available")
        if key is None:
            raise InvalidToken("no matching signing key (kid)")
        # RFC 8725 §2.1, §3.1: the key decides the algorithm family.
        if alg not in key.algorithms:
            raise InvalidToken("algorithm does not match the signing key")
        return key

    def _refreshed(self, fetch: _Fetch) -> KeySet | None:
        if fetch is _Fetch.DEFER:
            raise _NeedsKeys
        if fetch is _Fetch.INLINE:
            self.jwks.refresh()
        return self.jwks.keys
