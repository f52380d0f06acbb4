"""Access tokens whose signature this process already checked, for introspection's hot path.

A resource server introspects the same token on every call it serves; the
signature check is the costliest step and its outcome cannot change. So a
token that verified is remembered (up to `MAX_ENTRIES`, in an
`authgate.caching.Cache` on the wall clock) with its claims and kid, never
past its expiry (with the same 5 s leeway as `AccessTokens.verify`); each use
re-checks that its key is still published and — by the caller — revocation.
Failures are never cached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt

from authgate.caching import MISS, Cache, Miss
from authgate.oauth2.access_tokens import AccessTokenInvalid

if TYPE_CHECKING:
    from authgate.services import Services

MAX_ENTRIES = 20_000
LEEWAY = 5
# No verdict is kept longer than this, however long the token lives.
KEEP_SECONDS = 3600.0


@dataclass(frozen=True)
class _Verified:
    kid: str
    claims: dict[str, Any]


class VerifiedTokens:
    """`get` may verify (and read the key ring); `peek` answers from memory only."""

    def __init__(self, services: Services, *, clock: Callable[[], float] = time.time) -> None:
        self.services = services
        self._tokens: Cache[str, _Verified] = Cache(
            self._verify, ttl=KEEP_SECONDS, clock=clock, max_entries=MAX_ENTRIES,
            lifetime=lambda verified: float(verified.claims["exp"]) + LEEWAY)

    def peek(self, token: str) -> dict[str, Any] | Miss:
        """The claims of a token verified before whose key is still published, or MISS."""
        verified = self._tokens.peek(token)
        if verified is MISS:
            return MISS
        ring = self.services.keys.peek()
        if ring is MISS or verified.kid not in ring.public:
            return MISS
        return verified.claims

    def get(self, token: str) -> dict[str, Any]:
        """The claims, verified now (signature, issuer, expiry) or before; raises AccessTokenInvalid."""
        verified = self._tokens.get(token)
        if self.services.keys.public_key(verified.kid) is None:
            self._tokens.invalidate(token)
            raise AccessTokenInvalid("the token's key is no longer published")
        return verified.claims

    def _verify(self, token: str) -> _Verified:
        claims = self.services.access_tokens.verify(token, check_revoked=False)
        return _Verified(str(jwt.get_unverified_header(token).get("kid", "")), claims)


__all__ = ["AccessTokenInvalid", "VerifiedTokens"]
