"""Authorization codes (RFC 6749 §4.1.2): what a code stands for, and where codes are kept.

A code is short-lived, single-use and bound to its client, redirect URI and
PKCE challenge; the rules that say so live in the code grant
(oauth2/grants/authorization_code.py). This module keeps the codes: stored
as SHA-256 digests, never in clear, behind `AuthorizationCodeStorage`.

    code = authorization_codes.issue(database, storage, CodeGrant(...), ttl=settings.authorization_code_ttl)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from authgate import tokens
from authgate.clock import aware, utcnow
from authgate.storage.database import Database
from authgate.storage.models import AuthorizationCode

# Used codes are kept this long after expiry so that a late replay still revokes what they issued.
KEEP_AFTER_EXPIRY = timedelta(days=1)


@dataclass(frozen=True)
class CodeGrant:
    """What a code stands for, as recorded at the authorization endpoint."""

    client_id: str
    user_id: int
    redirect_uri: str
    scope: tuple[str, ...]
    audience: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: datetime
    acr: str | None
    session_id: str | None
    amr: tuple[str, ...] = ()  # the session's methods (RFC 8176), for the tokens the code brings


@dataclass(frozen=True)
class StoredCode:
    """A code as kept: what it stands for, until when, whether and when it was used, and what it issued."""

    grant: CodeGrant
    expires_at: datetime
    consumed_at: datetime | None
    issued_family_id: str | None  # the refresh token family its exchange started
    issued_access_jti: str | None  # the access token its exchange issued


class AuthorizationCodeStorage(Protocol):
    """Where codes are kept. Storage only: it applies no protocol rule (expiry, client binding, replay are the
    code grant's). Every method works in the caller's session, so the caller's transaction decides what commits.

    Invariants:
    - `create` stores the code's digest, never the code; `find` of that code gives back the same `CodeGrant`.
    - `claim` marks an unused code used and returns True; of any number of claims of one code, concurrent or
      not, in any number of transactions that commit, exactly one returns True. A claim of an unknown code,
      or of one already used, returns False and changes nothing.
    - `record_issued` remembers what a claimed code's exchange issued, for `find` to give back: what a
      replay revokes (RFC 6749 §4.1.2).
    - `purge` deletes codes that expired before the given moment (used or not) and nothing else.
    """

    def create(self, session: Session, code: str, grant: CodeGrant, *, created_at: datetime,
               expires_at: datetime) -> None: ...

    def find(self, session: Session, code: str) -> StoredCode | None: ...

    def claim(self, session: Session, code: str, *, at: datetime) -> bool: ...

    def record_issued(self, session: Session, code: str, *, family_id: str | None, access_jti: str) -> None: ...

    def purge(self, session: Session, *, expired_before: datetime) -> int: ...


class SqlAuthorizationCodeStorage:
    """`AuthorizationCodeStorage` on the `authorization_codes` table (SQLite and PostgreSQL alike)."""

    def create(self, session: Session, code: str, grant: CodeGrant, *, created_at: datetime,
               expires_at: datetime) -> None:
        session.add(AuthorizationCode(
            code_hash=tokens.digest(code), client_id=grant.client_id, user_id=grant.user_id,
            redirect_uri=grant.redirect_uri, scope=" ".join(grant.scope), audience=grant.audience,
            nonce=grant.nonce, code_challenge=grant.code_challenge,
            code_challenge_method=grant.code_challenge_method, auth_time=grant.auth_time, acr=grant.acr,
            session_id=grant.session_id, amr=list(grant.amr), created_at=created_at, expires_at=expires_at,
        ))

    def find(self, session: Session, code: str) -> StoredCode | None:
        row = session.get(AuthorizationCode, tokens.digest(code), populate_existing=True)
        if row is None:
            return None
        grant = CodeGrant(
            row.client_id, row.user_id, row.redirect_uri, tuple(row.scope.split()), row.audience, row.nonce,
            row.code_challenge, row.code_challenge_method, aware(row.auth_time), row.acr, row.session_id,
            tuple(row.amr or ()),
        )
        consumed_at = aware(row.consumed_at) if row.consumed_at is not None else None
        return StoredCode(grant, aware(row.expires_at), consumed_at, row.issued_family_id, row.issued_access_jti)

    def claim(self, session: Session, code: str, *, at: datetime) -> bool:
        # A conditional UPDATE: two concurrent claims race for one row and exactly one sees it unused (on
        # PostgreSQL the second waits for the first's commit, then matches nothing; SQLite serialises writers).
        claimed = session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.code_hash == tokens.digest(code), AuthorizationCode.consumed_at.is_(None))
            .values(consumed_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    def record_issued(self, session: Session, code: str, *, family_id: str | None, access_jti: str) -> None:
        session.execute(
            update(AuthorizationCode).where(AuthorizationCode.code_hash == tokens.digest(code))
            .values(issued_family_id=family_id, issued_access_jti=access_jti)
            .execution_options(synchronize_session=False)
        )

    def purge(self, session: Session, *, expired_before: datetime) -> int:
        purged = session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < expired_before)
                                 .execution_options(synchronize_session=False))
        return int(purged.rowcount)  # type: ignore[attr-defined]


def issue(database: Database, storage: AuthorizationCodeStorage, grant: CodeGrant, *, ttl: int,
          clock: Callable[[], datetime] = utcnow) -> str:
    """A new code for `grant`, valid `ttl` seconds; codes long expired are purged in the same transaction."""
    code = tokens.new_opaque()
    now = clock()
    with database.transaction() as session:
        purge(storage, session, now)
        storage.create(session, code, grant, created_at=now, expires_at=now + timedelta(seconds=ttl))
    return code


def purge(storage: AuthorizationCodeStorage, session: Session, now: datetime) -> int:
    """Delete the codes expired `KEEP_AFTER_EXPIRY` before `now` (used or not); returns how many."""
    return storage.purge(session, expired_before=now - KEEP_AFTER_EXPIRY)
