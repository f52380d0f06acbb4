"""A bounded LRU of verified tokens, so a repeated token skips all crypto.

Keys are SHA-256 digests of the token, never the token itself. An entry is
served only while the clock is before both the token's ``exp`` and the
cache TTL: a cached verdict can never outlive the token (RFC 7519 §4.1.4).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from authgate.guard.claims import Claims


def token_digest(token: str) -> bytes:
    """The cache key of a token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class ClaimsCache:
    """Thread-safe LRU from token digest to (claims, serve-until time)."""

    def __init__(self, max_entries: int, ttl: float, clock: Callable[[], float]) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[Claims, float]] = OrderedDict()
        self._lock = threading.Lock()
        #: Lookups answered from the cache; tests and metrics read it.
        self.hits = 0

    def get(self, digest: bytes) -> Claims | None:
        """The cached claims, or None if absent or no longer servable."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            claims, serve_until = entry
            if self._clock() >= serve_until:
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            self.hits += 1
            return claims

    def put(self, digest: bytes, claims: Claims) -> None:
        """Remember a verified token until its ``exp`` (or the TTL, if sooner)."""
        if self.max_entries <= 0:
            return
        now = self._clock()
        serve_until = min(claims.expires_at, now + self.ttl)
        if serve_until <= now:
            return  # accepted within the leeway after exp: never from the cache
        with self._lock:
            self._entries[digest] = (claims, serve_until)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every verdict (e.g. after the issuer revoked a key)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
