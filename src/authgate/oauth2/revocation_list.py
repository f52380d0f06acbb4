"""Revoked access tokens (RFC 7009), mirrored in memory for introspection's hot path.

The `revoked_access_tokens` table is the truth (`AccessTokens.revoke` writes
it). Each process keeps the jtis of revoked, not yet expired tokens in
memory and, every `settings.revocation_cache_seconds` (default 1 s), reads
what was revoked recently. A revocation made through this process counts at
once; one made through another process within that interval — the
propagation delay RFC 7009 §2 allows for self-contained tokens. With 0 there
is no mirror: every check is one primary-key lookup. The mirror's freshness
is an `authgate.caching.Cache` (one entry) on an injected clock.

The re-read window reaches `OVERLAP` back, so a revocation whose transaction
committed late, or a host whose clock is a little behind, is not missed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from authgate.caching import MISS, Cache, Miss
from authgate.clock import aware, utcnow
from authgate.storage.database import Database
from authgate.storage.models import RevokedAccessToken

OVERLAP = timedelta(seconds=30)
MAX_BEFORE_PRUNING = 1000  # past this many jtis, the expired ones are dropped at the next read


class RevocationList:
    """`contains` may read the database; `peek` answers from memory only."""

    def __init__(self, database: Database, interval: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.interval = interval
        self._revoked: dict[str, float] = {}  # jti -> expiry (epoch seconds); only the loader replaces it
        self._read_from: datetime | None = None
        self._mirror: Cache[None, dict[str, float]] = Cache(self._read_recent, ttl=interval, clock=clock)

    def peek(self, jti: str) -> bool | Miss:
        """Whether `jti` is revoked, from the mirror while it is fresh; MISS otherwise."""
        mirror = self._mirror.peek(None)
        return MISS if mirror is MISS else jti in mirror

    def contains(self, jti: str) -> bool:
        """Whether `jti` is revoked; re-reads the mirror when stale (or the row, with no mirror)."""
        if self.interval <= 0:
            with self.database.reader() as session:
                return session.get(RevokedAccessToken, jti) is not None
        return jti in self._mirror.get(None)

    def revoked(self, claims: dict[str, Any]) -> None:
        """This process just revoked a token (already written): count it at once, and drop expired rows."""
        self._revoked[str(claims["jti"])] = float(claims["exp"])
        with self.database.transaction() as session:
            session.execute(delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < utcnow() - OVERLAP))

    def refresh_due(self) -> None:
        """Re-read half-way through the interval while the mirror is in use (the warmer calls this)."""
        self._mirror.refresh_due()

    def _read_recent(self, _: None) -> dict[str, float]:
        """Add what was revoked lately (everything unexpired, the first time) to the mirror."""
        started = utcnow()
        statement = select(RevokedAccessToken.jti, RevokedAccessToken.expires_at)
        if self._read_from is None:
            statement = statement.where(RevokedAccessToken.expires_at > started)
        else:
            statement = statement.where(RevokedAccessToken.revoked_at >= self._read_from - OVERLAP)
        with self.database.reader() as session:
            rows = session.execute(statement).all()
        for jti, expires_at in rows:
            self._revoked[jti] = aware(expires_at).timestamp()
        if len(self._revoked) > MAX_BEFORE_PRUNING:
            now = time.time()
            self._revoked = {jti: expiry for jti, expiry in self._revoked.items() if expiry > now}
        self._read_from = started
        return self._revoked
