"""Access tokens whose signature this process already checked, for introspection's hot path.

A resource server introspects the same token on every call it serves; the
signature check is the costliest step and its outcome cannot change. So a
token that verified is remembered (up to `MAX_ENTRIES`) with its claims and
kid; each later use re-checks what can change: expiry (with the same 5 s
leeway as `AccessTokens.verify`), that its key is still published, and —
by the caller — revocation. Failures are never cached.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import jwt

from authgate.oauth2.access_tokens import AccessTokenInvalid

if TYPE_CHECKING:
    from authgate.services import Services

MAX_ENTRIES = 20_000
LEEWAY = 5


class VerifiedTokens:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._claims: dict[str, tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> dict[str, Any] | None:
        """The claims of a token verified before and still valid; None if unknown or no longer valid."""
        entry = self._claims.get(token)
        if entry is None:
            return None
        kid, claims = entry
        if time.time() > claims["exp"] + LEEWAY or not self.services.keys.knows(kid):
            with self._lock:
                self._claims.pop(token, None)
            return None
        return claims

    def verify(self, token: str) -> dict[str, Any]:
        """Verify (signature, issuer, expiry) and remember; raises AccessTokenInvalid."""
        claims = self.services.access_tokens.verify(token, check_revoked=False)
        kid = str(jwt.get_unverified_header(token).get("kid", ""))
        with self._lock:
            if len(self._claims) >= MAX_ENTRIES:
                self._claims.clear()
            self._claims[token] = (kid, claims)
        return claims

    def claims(self, token: str) -> dict[str, Any]:
        found = self.cached(token)
        return found if found is not None else self.verify(token)


__all__ = ["VerifiedTokens", "AccessTokenInvalid"]
