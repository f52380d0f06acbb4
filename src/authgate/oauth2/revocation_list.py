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

The table is reached through `RevokedTokenStorage` only: the token revocation
endpoint (`AccessTokens.revoke`) and a replayed authorization code add to it,
this list reads and purges it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from authgate.caching import MISS, Cache, Miss
from authgate.clock import aware, utcnow
from authgate.storage.database import Database
from authgate.storage.models import RevokedAccessToken

OVERLAP = timedelta(seconds=30)
MAX_BEFORE_PRUNING = 1000  # past this many jtis, the expired ones are dropped at the next read


class RevokedTokenStorage(Protocol):
    """The revoked access tokens' jtis, each kept with the moment its token expires. Storage only: it applies no
    protocol rule (how long a jti is kept and when a token counts as revoked are the callers'). Every method
    works in the caller's session.

    Invariants:
    - `add` records a jti once: adding one already there changes nothing (its first expiry stays) and
      returns False; a new one returns True.
    - `contains` is True exactly for a jti added and not purged.
    - `revoked_since(t)` gives every jti added at or after `t`; `expiring_after(t)` every jti whose token
      expires after `t`; both with their expiry.
    - `purge(t)` deletes the jtis whose token expired before `t`, and nothing else.
    """

    def add(self, session: Session, jti: str, *, expires_at: datetime, revoked_at: datetime) -> bool: ...

    def contains(self, session: Session, jti: str) -> bool: ...

    def revoked_since(self, session: Session, moment: datetime) -> list[tuple[str, datetime]]: ...

    def expiring_after(self, session: Session, moment: datetime) -> list[tuple[str, datetime]]: ...

    def purge(self, session: Session, *, expired_before: datetime) -> int: ...


class SqlRevokedTokenStorage:
    """`RevokedTokenStorage` on the `revoked_access_tokens` table (SQLite and PostgreSQL alike)."""

    def add(self, session: Session, jti: str, *, expires_at: datetime, revoked_at: datetime) -> bool:
        if session.get(RevokedAccessToken, jti) is not None:
            return False
        session.add(RevokedAccessToken(jti=jti, expires_at=expires_at, revoked_at=revoked_at))
        return True

    def contains(self, session: Session, jti: str) -> bool:
        return session.get(RevokedAccessToken, jti) is not None

    def revoked_since(self, session: Session, moment: datetime) -> list[tuple[str, datetime]]:
        return self._listed(session, RevokedAccessToken.revoked_at >= moment)

    def expiring_after(self, session: Session, moment: datetime) -> list[tuple[str, datetime]]:
        return self._listed(session, RevokedAccessToken.expires_at > moment)

    def purge(self, session: Session, *, expired_before: datetime) -> int:
        purged = session.execute(delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < expired_before)
                                 .execution_options(synchronize_session=False))
        return int(purged.rowcount)  # type: ignore[attr-defined]

    @staticmethod
    def _listed(session: Session, condition: Any) -> list[tuple[str, datetime]]:
        rows = session.execute(select(RevokedAccessToken.jti, RevokedAccessToken.expires_at).where(condition))
        return [(jti, aware(expires_at)) for jti, expires_at in rows]


class RevocationList:
    """`contains` may read the database; `peek` answers from memory only."""

    def __init__(self, database: Database, interval: float, *, storage: RevokedTokenStorage | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.storage: RevokedTokenStorage = storage if storage is not None else SqlRevokedTokenStorage()
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
                return self.storage.contains(session, jti)
        return jti in self._mirror.get(None)

    def revoked(self, claims: dict[str, Any]) -> None:
        """This process just revoked a token (already written): count it at once, and drop expired rows."""
        self._revoked[str(claims["jti"])] = float(claims["exp"])
        with self.database.transaction() as session:
            self.purge(session, utcnow())

    def purge(self, session: Session, now: datetime) -> int:
        """Forget the jtis of tokens that expired (a margin `OVERLAP` before `now`); returns how many."""
        return self.storage.purge(session, expired_before=now - OVERLAP)

    def refresh_due(self) -> None:
        """Re-read half-way through the interval while the mirror is in use (the warmer calls this)."""
        self._mirror.refresh_due()

    def _read_recent(self, _: None) -> dict[str, float]:
        """Add what was revoked lately (everything unexpired, the first time) to the mirror."""
        started = utcnow()
        with self.database.reader() as session:
            if self._read_from is None:
                rows = self.storage.expiring_after(session, started)
            else:
                rows = self.storage.revoked_since(session, self._read_from - OVERLAP)
        for jti, expires_at in rows:
            self._revoked[jti] = expires_at.timestamp()
        if len(self._revoked) > MAX_BEFORE_PRUNING:
            now = time.time()
            self._revoked = {jti: expiry for jti, expiry in self._revoked.items() if expiry > now}
        self._read_from = started
        return self._revoked
