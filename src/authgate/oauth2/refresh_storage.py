"""Where refresh tokens are kept: the links of refresh-token families as rows, and nothing of what they mean.

    storage = storage_for(database)               # chosen once, at wiring time (oauth2/runtime.py)
    with database.transaction() as session:
        found = storage.find_for_update(session, tokens.digest(token))
        ...                                       # the rules: oauth2/refresh_tokens.py
        storage.record_rotation(session, found.link, successor)

fosite's `RefreshTokenStorage` is the model: a narrow contract per artifact, the rules above it.
`SqlRefreshTokenStorage` is the reference implementation, the same on SQLite and PostgreSQL;
`PostgresRefreshTokenStorage` answers exactly as it does in fewer round trips (its locked read
carries the holder's permissions, its rotation is one data-modifying statement).
tests/unit/test_refresh_storage.py holds both to the contract and to each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Row, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from authgate.access import holdings
from authgate.access.holdings import Holder
from authgate.clock import aware
from authgate.storage.database import Database
from authgate.storage.models import RefreshToken, User


@dataclass(frozen=True)
class NewLink:
    """A link to insert: the first of a family, or a successor."""

    token_hash: str  # SHA-256 of the token: the token itself is never stored
    family_id: str
    client_id: str
    user_id: int | None
    audience: str | None
    scope: str  # space-separated, as originally granted
    auth_time: datetime | None
    session_id: str | None
    amr: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    family_expires_at: datetime

    def values(self) -> dict[str, Any]:
        """Its `refresh_tokens` column values."""
        return {name: getattr(self, name) for name in NEW_LINK_COLUMNS} | {"amr": list(self.amr)}


NEW_LINK_COLUMNS = tuple(NewLink.__dataclass_fields__)


@dataclass(frozen=True)
class Link(NewLink):
    """One stored link of a family, as read: what was inserted, and what has happened to it since.
    Moments are timezone-aware."""

    id: int
    rotated_at: datetime | None
    successor_hash: str | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class LockedLink:
    link: Link
    holder: Holder | None  # the link's user as they stand now; None: a client's own family, or the user is gone


class RefreshTokenStorage(Protocol):
    """Refresh-token links, found by digest. Stores and reads; decides nothing.

    Invariants every implementation keeps:

    - A link is found by the digest of its token (`token_hash`, unique), never by the token.
    - `find_for_update` locks the link until the session's transaction ends. A second transaction's
      `find_for_update` of the same link waits, then reads the link as the first one left it. So of
      concurrent transactions that each find the link unrotated and record its rotation, only one
      exists: the others find it rotated.
    - The holder `find_for_update` reads with the link is the link's user now (`Holder`: standing and
      the permissions their roles hold for the link's audience, sorted); None when the link has no user
      or the user is gone.
    - `record_rotation` marks the link rotated (`rotated_at` = the successor's `created_at`,
      `successor_hash` = its digest) and inserts the successor: both, in the caller's transaction.
    - `revoke_family` / `revoke_for_session` set `revoked_at` on the links not revoked yet and count
      them. Nothing ever clears `rotated_at` or `revoked_at`.
    - `purge_families_expired_before(t)` deletes every link whose family's absolute expiry
      (`family_expires_at`, the same on every link of a family) is before `t`, so a family goes whole
      or not at all, and counts them; it deletes nothing else.
    - No protocol rule lives here: no expiry, client, scope or standing check in any statement.
      Those are oauth2/refresh_tokens.py's and the refresh grant's.
    """

    def find(self, session: Session, token_hash: str) -> Link | None: ...

    def find_for_update(self, session: Session, token_hash: str) -> LockedLink | None: ...

    def insert_link(self, session: Session, link: NewLink) -> None: ...

    def record_rotation(self, session: Session, rotated: Link, successor: NewLink) -> None: ...

    def revoke_family(self, session: Session, family_id: str, at: datetime) -> int: ...

    def revoke_for_session(self, session: Session, session_id: str, at: datetime) -> int: ...

    def purge_families_expired_before(self, session: Session, cutoff: datetime) -> int: ...


def storage_for(database: Database) -> RefreshTokenStorage:
    """The implementation for the database's dialect."""
    return SqlRefreshTokenStorage() if database.is_sqlite else PostgresRefreshTokenStorage()


class SqlRefreshTokenStorage:
    """The reference implementation, the same statements on SQLite and PostgreSQL.

    On SQLite `find_for_update`'s lock is the database's: a writing transaction begins IMMEDIATE
    (storage/database.py), so one writer at a time reads and writes. On PostgreSQL it is the row's
    (SELECT … FOR UPDATE). A rotation: the locked read of the link and its user, the permissions,
    the UPDATE and the INSERT.
    """

    def find(self, session: Session, token_hash: str) -> Link | None:
        row = session.connection().execute(_FIND, {"token_hash": token_hash}).first()
        return _link_of(row) if row is not None else None

    def find_for_update(self, session: Session, token_hash: str) -> LockedLink | None:
        row = session.connection().execute(_FIND_WITH_USER_FOR_UPDATE, {"token_hash": token_hash}).first()
        if row is None:
            return None
        link = _link_of(row)
        if row.username is None:
            return LockedLink(link, None)
        permissions = holdings.user_permissions(session, row.user_id, link.audience) if link.audience else []
        return LockedLink(link, Holder(row.user_id, row.username, row.subject, bool(row.disabled), tuple(permissions)))

    def insert_link(self, session: Session, link: NewLink) -> None:
        session.connection().execute(_INSERT_LINK, _insert_values(link))

    def record_rotation(self, session: Session, rotated: Link, successor: NewLink) -> None:
        connection = session.connection()
        connection.execute(_MARK_ROTATED, _rotation_values(rotated, successor))
        connection.execute(_INSERT_LINK, _insert_values(successor))

    def revoke_family(self, session: Session, family_id: str, at: datetime) -> int:
        return _revoke(session, RefreshToken.family_id == family_id, at)

    def revoke_for_session(self, session: Session, session_id: str, at: datetime) -> int:
        return _revoke(session, RefreshToken.session_id == session_id, at)

    def purge_families_expired_before(self, session: Session, cutoff: datetime) -> int:
        result = session.connection().execute(delete(_LINKS).where(_LINKS.c.family_expires_at < cutoff))
        return int(result.rowcount)


class PostgresRefreshTokenStorage(SqlRefreshTokenStorage):
    """PostgreSQL, in fewer round trips, with the same answers and rows as `SqlRefreshTokenStorage`.

    `find_for_update` reads the link, its user and the user's permissions for the link's audience in
    one statement (an array subquery); `record_rotation` is one statement (the UPDATE as a
    data-modifying CTE of the INSERT). A rotation: BEGIN, the locked read, the write, COMMIT.
    """

    def find_for_update(self, session: Session, token_hash: str) -> LockedLink | None:
        row = session.connection().execute(_FIND_WITH_HOLDER_FOR_UPDATE, {"token_hash": token_hash}).first()
        if row is None:
            return None
        holder = None
        if row.username is not None:
            holder = Holder(row.user_id, row.username, row.subject, bool(row.disabled), tuple(sorted(row.permissions)))
        return LockedLink(_link_of(row), holder)

    def record_rotation(self, session: Session, rotated: Link, successor: NewLink) -> None:
        values = _rotation_values(rotated, successor) | _insert_values(successor)
        session.connection().execute(_ROTATE_IN_ONE_STATEMENT, values)


def _link_of(row: Row[Any]) -> Link:
    return Link(
        id=row.id, token_hash=row.token_hash, family_id=row.family_id, client_id=row.client_id,
        user_id=row.user_id, audience=row.audience, scope=row.scope or "",
        auth_time=aware(row.auth_time) if row.auth_time is not None else None, session_id=row.session_id,
        amr=tuple(row.amr or ()), created_at=aware(row.created_at), expires_at=aware(row.expires_at),
        family_expires_at=aware(row.family_expires_at),
        rotated_at=aware(row.rotated_at) if row.rotated_at is not None else None,
        successor_hash=row.successor_hash,
        revoked_at=aware(row.revoked_at) if row.revoked_at is not None else None,
    )


# Parameter names differ from column names: an UPDATE also SETs every column its parameters name, and
# `_ROTATE_IN_ONE_STATEMENT`'s UPDATE gets the INSERT's parameters too.
def _insert_values(link: NewLink) -> dict[str, Any]:
    return {f"new_{name}": value for name, value in link.values().items()}


def _rotation_values(rotated: Link, successor: NewLink) -> dict[str, Any]:
    return {"rotated_id": rotated.id, "rotated_moment": successor.created_at, "successor_digest": successor.token_hash}


def _revoke(session: Session, which: Any, at: datetime) -> int:
    result = session.connection().execute(
        update(RefreshToken).where(which, RefreshToken.revoked_at.is_(None)).values(revoked_at=at))
    return int(result.rowcount)


# --- statements, built once (SQLAlchemy reuses their compiled form, psycopg prepares their text) -----------
def _links_table() -> Table:
    table = RefreshToken.__table__
    assert isinstance(table, Table)
    return table


_LINKS = _links_table()
_FIND = select(_LINKS).where(_LINKS.c.token_hash == bindparam("token_hash"))
_WITH_USER = _LINKS.outerjoin(User, User.id == _LINKS.c.user_id)
_FIND_WITH_USER_FOR_UPDATE = (
    select(_LINKS, User.username, User.subject, User.disabled).select_from(_WITH_USER)
    .where(_LINKS.c.token_hash == bindparam("token_hash")).with_for_update(of=_LINKS)
)
_FIND_WITH_HOLDER_FOR_UPDATE = (
    select(_LINKS, User.username, User.subject, User.disabled,
           func.array(holdings.held_by_user(_LINKS.c.user_id, _LINKS.c.audience).scalar_subquery())
           .label("permissions"))
    .select_from(_WITH_USER)
    .where(_LINKS.c.token_hash == bindparam("token_hash")).with_for_update(of=_LINKS)
)
_INSERT_LINK = insert(_LINKS).values(
    {name: bindparam(f"new_{name}", type_=_LINKS.c[name].type) for name in NEW_LINK_COLUMNS})
_MARK_ROTATED = (
    update(_LINKS).where(_LINKS.c.id == bindparam("rotated_id"))
    .values(rotated_at=bindparam("rotated_moment", type_=_LINKS.c.rotated_at.type),
            successor_hash=bindparam("successor_digest"))
)
_ROTATE_IN_ONE_STATEMENT = _INSERT_LINK.add_cte(_MARK_ROTATED.cte("rotated"))
