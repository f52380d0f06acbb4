"""Revoked access tokens (RFC 7009), mirrored in memory for introspection's hot path.

The `revoked_access_tokens` table is the truth (`AccessTokens.revoke` writes
it). Each process keeps the jtis of revoked, not yet expired tokens in
memory and, every `settings.revocation_cache_seconds` (default 1 s), reads
what was revoked recently. A revocation made through this process counts at
once; one made through another process within that interval — the
propagation delay RFC 7009 §2 allows for self-contained tokens. With 0 there
is no mirror: every check is one primary-key lookup.

The re-read window reaches `OVERLAP` back, so a revocation whose transaction
committed late, or a host whose clock is a little behind, is not missed.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from authgate.clock import aware, utcnow
from authgate.storage.database import Database
from authgate.storage.models import RevokedAccessToken
from authgate.storage.single_flight import SingleFlight

OVERLAP = timedelta(seconds=30)


class RevocationList:
    def __init__(self, database: Database, interval: float) -> None:
        self.database = database
        self.interval = interval
        self._revoked: dict[str, float] = {}  # jti -> expiry (epoch seconds)
        self._loaded_at: float | None = None
        self._read_from: datetime | None = None
        self._loading = SingleFlight()

    def is_fresh(self) -> bool:
        """Whether `contains` answers from memory (no I/O) right now."""
        return self.interval > 0 and self._loaded_at is not None and time.monotonic() - self._loaded_at < self.interval

    def contains(self, jti: str) -> bool:
        if self.interval <= 0:
            with self.database.reader() as session:
                return session.get(RevokedAccessToken, jti) is not None
        if not self.is_fresh():
            self.refresh()
        return jti in self._revoked

    def revoked(self, claims: dict[str, Any]) -> None:
        """This process just revoked a token (already written): count it at once, and drop expired rows."""
        self._revoked[str(claims["jti"])] = float(claims["exp"])
        with self.database.transaction() as session:
            session.execute(delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < utcnow() - OVERLAP))

    def warm(self) -> None:
        """Re-read half-way through the interval, so that `is_fresh` stays true (the warmer calls this)."""
        if self.interval > 0:
            self.refresh(ahead=self.interval / 2)

    def refresh(self, *, ahead: float = 0.0) -> None:
        """Re-read what was revoked lately, unless the mirror is younger than `interval - ahead`."""
        with self._loading.turn():
            if self._loaded_at is not None and time.monotonic() - self._loaded_at < self.interval - ahead:
                return
            started, loaded_at = utcnow(), time.monotonic()
            statement = select(RevokedAccessToken.jti, RevokedAccessToken.expires_at)
            if self._read_from is None:
                statement = statement.where(RevokedAccessToken.expires_at > started)
            else:
                statement = statement.where(RevokedAccessToken.revoked_at >= self._read_from - OVERLAP)
            with self.database.reader() as session:
                rows = session.execute(statement).all()
            now = time.time()
            for jti, expires_at in rows:
                self._revoked[jti] = aware(expires_at).timestamp()
            if len(self._revoked) > 1000:
                self._revoked = {jti: expiry for jti, expiry in self._revoked.items() if expiry > now}
            self._read_from = started
            self._loaded_at = loaded_at
