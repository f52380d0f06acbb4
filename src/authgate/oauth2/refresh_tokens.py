"""Refresh tokens: opaque, stored as SHA-256, rotated on every use, in families (OAuth 2.1 §4.3.1).

    store = services.oauth2.refresh_tokens
    with services.database.transaction() as session:
        token = store.issue(session, RefreshGrant(client_id=..., user_id=..., audience=..., scope=(...)))
        rotation = store.rotate(session, presented, client_id=..., before_rotation=check)

    # PostgreSQL: the same rotation as one autocommit statement, the refusals part of its claim
    with services.database.statement() as connection:
        rotation = store.rotate_unless_refused(connection, presented, client_id=..., oidc_scope=(...), target=...)

Contract:

- `issue` starts a family (the first token is `tokens.new_opaque()`); only the digest is stored.
- `rotate` exchanges a token for its successor exactly once, even under
  concurrency: the row is claimed with ``UPDATE … WHERE rotated_at IS NULL
  … RETURNING`` and only the request that gets the row back rotates (SQLite
  serialises writers with BEGIN IMMEDIATE; on PostgreSQL a concurrent UPDATE
  waits for the winner's commit and then matches no row). It raises
  `InvalidGrant` for unknown, revoked, expired (idle `refresh_token_idle_ttl`
  or absolute `refresh_token_ttl`) tokens and for tokens of another client
  (RFC 6749 §10.4: bound to the client).
- `before_rotation(grant, holder)` may refuse (raise) first: it runs after the
  claim, inside the caller's transaction, which the refusal rolls back, so
  nothing is rotated. `holder` is the token's user as they stand now (None
  for a client's own family, or a user who is gone); the rotation reads it
  anyway, since every refresh must check the user and recompute permissions.
- Cost: a refresh is one statement on PostgreSQL (a CTE that claims the row,
  inserts the successor and reads the holder), so BEGIN, it, COMMIT; on
  SQLite (≥ 3.35, for RETURNING) a claim, an insert and the holder's reads.
  Only a token the claim does not match (unknown, revoked, expired, another
  client's, already rotated) takes the slower path that finds out why.
- `rotate_unless_refused` (PostgreSQL only) is that statement alone, in
  autocommit: no BEGIN, no COMMIT, one round trip. The refusals a caller's
  `before_rotation` would make are conditions of its claim instead (requested
  OIDC scope within the stored scope, the requested target the family's
  audience, the user present and not disabled), so a refused refresh claims
  nothing. It returns None whenever nothing was rotated, for whatever reason:
  the caller then runs `rotate` in a transaction, which finds out why and
  answers exactly as it always did.
- Presenting an already rotated token (the rule: `_after_rotation`, in Python; no SQL restates it):
  * its successor never used: not theft, whatever the time. The client lost the answer (an
    outage cut it, a timeout gave up on it, a concurrent refresh won the race) and retries; it
    gets that successor, the very value the rotation produced — no second rotation, no extra
    live token. This works because a successor is derived, not random: successor = HMAC(server
    key, token); the server key derives from the master key, so only the server can compute it,
    and only from the predecessor's value, which it never stores;
  * its successor used, and this presentation began within `refresh_reuse_grace` seconds of
    that use (concurrent refreshes: a slow caller arriving after the winner's client moved on):
    the chain's newest token, again without a rotation;
  * its successor used before that (or at all, with no grace window): two holders of one
    family, i.e. reuse (a stolen token, RFC 6819 §5.2.2.3): `RefreshTokenReused` is raised; the
    caller revokes the whole family in its own transaction (`revoke_family_after_reuse`) and
    answers invalid_grant.
  The window counts from the successor's first use (a moment after the rotation committed and
  its answer arrived) to when this presentation began: neither a slow commit nor a request held
  up by an outage shortens it.
- The stored scope of every link is the scope originally granted; a refresh
  may ask for less (RFC 6749 §6) and later ask for the original again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Row,
    Select,
    Text,
    Update,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from authgate import audit, tokens
from authgate.access import holdings
from authgate.access.holdings import Holder
from authgate.clock import aware, utcnow
from authgate.masterkey import derived_key
from authgate.oauth2.errors import InvalidGrant
from authgate.settings import Settings
from authgate.storage.database import Database
from authgate.storage.models import RefreshToken, User

MAX_CHAIN_WALK = 16
MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token family stands for."""

    client_id: str
    user_id: int | None
    audience: str | None
    scope: tuple[str, ...] = ()
    auth_time: datetime | None = None
    session_id: str | None = None
    amr: tuple[str, ...] = ()  # how the user authenticated (RFC 8176), kept by every refresh


@dataclass(frozen=True)
class Rotation:
    token: str  # the refresh token to give the client
    grant: RefreshGrant
    family_id: str
    grace: bool  # a retry inside the grace window, answered with the chain's newest token
    holder: Holder | None  # the user now, read with the rotation (None: a client's own family, or the user is gone)


BeforeRotation = Callable[[RefreshGrant, Holder | None], None]


class RefreshTokenReused(Exception):
    """A rotated token came back after the grace window: the family must be revoked."""

    def __init__(self, family_id: str, client_id: str, user_id: int | None) -> None:
        super().__init__("refresh token reused")
        self.family_id = family_id
        self.client_id = client_id
        self.user_id = user_id


def successor_key(settings: Settings) -> bytes:
    """A server-only key for deriving successors, from the master key (never stored, never sent)."""
    return derived_key(settings, b"authgate refresh-token successor v1")


class RefreshTokenStore:
    def __init__(self, settings: Settings, key: bytes) -> None:
        self.settings = settings
        self._key = key

    # --- issue ------------------------------------------------------------------
    def issue(self, session: Session, grant: RefreshGrant) -> str:
        """Start a new family; returns the token (shown once, stored as its digest)."""
        token, values = self.new_family(grant, utcnow())
        session.connection().execute(_INSERT_LINK, values)
        return token

    def new_family(self, grant: RefreshGrant, now: datetime) -> tuple[str, dict[str, Any]]:
        """A new family's first token and the values of its row (what `issue` inserts), for a caller that
        inserts it in a statement of its own: the keys are `refresh_tokens` column names."""
        token = tokens.new_opaque()
        family_expires = now + timedelta(seconds=self.settings.refresh_token_ttl)
        return token, self._link_values(token, grant, secrets.token_hex(16), now, family_expires)

    # --- rotate -----------------------------------------------------------------
    def rotate(
        self,
        session: Session,
        token: str,
        *,
        client_id: str,
        before_rotation: BeforeRotation | None = None,
    ) -> Rotation:
        """Exchange `token` for its successor, exactly once. `before_rotation` may refuse (raise) first."""
        now = utcnow()
        rotation = self._claim(session, token, client_id, now) if 0 < len(token) <= MAX_TOKEN_LENGTH else None
        if rotation is None:
            return self._unclaimed(session, token, client_id, now, before_rotation)
        if before_rotation is not None:
            before_rotation(rotation.grant, rotation.holder)  # a refusal rolls the claim back with the transaction
        return rotation

    def rotate_unless_refused(
        self,
        connection: Connection,
        token: str,
        *,
        client_id: str,
        oidc_scope: Sequence[str],
        target: str | None,
    ) -> Rotation | None:
        """PostgreSQL: rotate `token` in one statement on an autocommit `connection`, unless a refresh grant
        would refuse it (an OIDC scope in `oidc_scope` not granted, a `target` other than the family's
        audience, the user gone or disabled). None if nothing was rotated: `rotate` in a transaction then
        finds out why (unusable, grace retry, reuse, or the refusal) and answers as it always did."""
        if not 0 < len(token) <= MAX_TOKEN_LENGTH:
            return None
        now = utcnow()
        successor = self._successor(token)
        values = {**self._claim_values(token, successor, client_id, now),
                  "requested_oidc": list(oidc_scope), "requested_target": target}
        row = connection.execute(_ROTATE_UNLESS_REFUSED, values).first()
        if row is None:
            return None
        return Rotation(successor, _grant_of(row), row.family_id, grace=False, holder=_holder_of(row))

    def _claim(self, session: Session, token: str, client_id: str, now: datetime) -> Rotation | None:
        """Claim `token` if `client_id` may use it now, insert its successor and read its holder; None if the
        claim matched no row (`_unclaimed` finds out why)."""
        connection = session.connection()
        successor = self._successor(token)
        values = self._claim_values(token, successor, client_id, now)
        if connection.dialect.name == "postgresql":
            row = connection.execute(_ROTATE_IN_ONE_STATEMENT, values).first()
            if row is None:
                return None
            grant, holder = _grant_of(row), _holder_of(row)
        else:  # SQLite has no data-modifying CTE: the same steps, one statement each (in-process, no round trips)
            row = connection.execute(_CLAIM, values).first()
            if row is None:
                return None
            grant = _grant_of(row)
            self._insert(connection, successor, grant, row.family_id, now, aware(row.family_expires_at))
            holder = _holder(session, grant)
        return Rotation(successor, grant, row.family_id, grace=False, holder=holder)

    def _claim_values(self, token: str, successor: str, client_id: str, now: datetime) -> dict[str, Any]:
        return {"presented": tokens.digest(token), "presenting_client": client_id, "now": now,
                "successor": tokens.digest(successor), "idle_expires": self._idle_expiry(now)}

    def _unclaimed(
        self, session: Session, token: str, client_id: str, now: datetime, before_rotation: BeforeRotation | None,
    ) -> Rotation:
        """Why the claim matched no row: unusable (InvalidGrant), or rotated already (grace retry or reuse).

        A concurrent rotation that made the claim miss has committed by now (the claim waited for it), and
        neither a rotation nor a revocation is ever undone, so the row read here shows which it was."""
        row = self._find(session, token)
        self._check_usable(row, client_id, now)
        assert row is not None
        if row.rotated_at is None:
            raise InvalidGrant("The refresh token is invalid.", debug="claim matched no row, yet the token is usable")
        return self._after_rotation(session, row, token, now, before_rotation)

    def _after_rotation(
        self, session: Session, row: RefreshToken, token: str, now: datetime, before_rotation: BeforeRotation | None,
    ) -> Rotation:
        """A rotated token presented again: its unused successor, the chain's newest, or reuse.

        `now` is when this presentation began (the rule: see the module docstring)."""
        assert row.rotated_at is not None
        successor_token = self._successor(token)
        successor = self._linked(session, row, successor_token)
        if successor.rotated_at is not None and self._is_reuse(successor.rotated_at, now):
            raise RefreshTokenReused(row.family_id, row.client_id, row.user_id)
        current, current_token = successor, successor_token
        for _ in range(MAX_CHAIN_WALK):
            if current.rotated_at is None:
                self._check_usable(current, row.client_id, now)
                grant = _grant_of(current)
                holder = _holder(session, grant)
                if before_rotation is not None:
                    before_rotation(grant, holder)
                return Rotation(current_token, grant, current.family_id, grace=True, holder=holder)
            current_token = self._successor(current_token)
            current = self._linked(session, current, current_token)
        raise InvalidGrant("The refresh token is invalid.", debug="rotation chain too long")

    def _is_reuse(self, successor_used_at: datetime, presented_at: datetime) -> bool:
        """The successor was used: a presentation of its parent that began `refresh_reuse_grace`
        seconds or more after that use comes from a second holder (RFC 6819 §5.2.2.3). With no
        grace window, any does."""
        grace = self.settings.refresh_reuse_grace
        return grace <= 0 or presented_at - aware(successor_used_at) >= timedelta(seconds=grace)

    def _linked(self, session: Session, row: RefreshToken, successor_token: str) -> RefreshToken:
        """The row of `row`'s successor, re-derived from the presented chain; InvalidGrant if it
        cannot be (a revoked family, or a successor this server did not derive)."""
        invalid = "The refresh token is invalid."
        if row.successor_hash is None or not tokens.matches(successor_token, row.successor_hash):
            raise InvalidGrant(invalid, debug="successor cannot be re-derived")
        following = self._find(session, successor_token)
        if following is None or following.revoked_at is not None:
            raise InvalidGrant(invalid, debug="successor missing or revoked")
        return following

    # --- revoke -----------------------------------------------------------------
    def revoke_family(self, session: Session, family_id: str) -> int:
        result = session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def revoke_family_after_reuse(self, database: Database, reuse: RefreshTokenReused, *, ip: str | None, subject: str | None) -> None:
        """RFC 6819 §5.2.2.3 / OAuth 2.1 §4.3.1: a reused token revokes every token of its family."""
        with database.transaction() as session:
            revoked = self.revoke_family(session, reuse.family_id)
            audit.record(session, audit.REFRESH_REUSED, subject=subject, client_id=reuse.client_id, ip=ip,
                         outcome="revoked", family=reuse.family_id[:12], revoked=revoked)

    def revoke(self, session: Session, token: str, *, client_id: str) -> RefreshToken | None:
        """RFC 7009 §2.1: revoke the family of `token` if it belongs to `client_id`; returns the token's row."""
        row = self._find(session, token)
        if row is None or row.client_id != client_id:
            return None
        self.revoke_family(session, row.family_id)
        return row

    def revoke_for_session(self, session: Session, session_id: str) -> int:
        """Every family issued under a browser session (RP-initiated logout)."""
        result = session.execute(
            update(RefreshToken)
            .where(RefreshToken.session_id == session_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # --- read -------------------------------------------------------------------
    def find_active(self, session: Session, token: str) -> RefreshToken | None:
        """The token's row if it could be used now (not rotated, revoked or expired), else None."""
        row = self._find(session, token)
        if row is None or row.rotated_at is not None or row.revoked_at is not None or _expired(row, utcnow()):
            return None
        return row

    # --- helpers ----------------------------------------------------------------
    def _successor(self, token: str) -> str:
        mac = hmac.new(self._key, token.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def _find(self, session: Session, token: str) -> RefreshToken | None:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        statement = select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(token))
        return session.scalar(statement.execution_options(populate_existing=True))

    def _check_usable(self, row: RefreshToken | None, client_id: str, now: datetime) -> None:
        if row is None:
            raise InvalidGrant("The refresh token is invalid.", debug="unknown refresh token")
        if row.client_id != client_id:
            # RFC 6749 §6 / §10.4: bound to the client it was issued to.
            raise InvalidGrant("The refresh token is invalid.", debug=f"token of client {row.client_id!r} presented by {client_id!r}")
        if row.revoked_at is not None:
            raise InvalidGrant("The refresh token is invalid.", debug="revoked refresh token")
        if row.rotated_at is None and _expired(row, now):
            raise InvalidGrant("The refresh token has expired.", debug="expired refresh token")

    def _idle_expiry(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.refresh_token_idle_ttl)

    def _insert(
        self, connection: Connection, token: str, grant: RefreshGrant, family_id: str, now: datetime, family_expires: datetime,
    ) -> None:
        connection.execute(_INSERT_LINK, self._link_values(token, grant, family_id, now, family_expires))

    def _link_values(
        self, token: str, grant: RefreshGrant, family_id: str, now: datetime, family_expires: datetime,
    ) -> dict[str, Any]:
        return {
            "token_hash": tokens.digest(token), "family_id": family_id, "client_id": grant.client_id,
            "user_id": grant.user_id, "audience": grant.audience, "scope": " ".join(grant.scope),
            "auth_time": grant.auth_time, "session_id": grant.session_id, "amr": list(grant.amr), "created_at": now,
            "expires_at": min(self._idle_expiry(now), family_expires), "family_expires_at": family_expires,
        }


def _expired(row: RefreshToken, now: datetime) -> bool:
    return aware(row.expires_at) <= now or aware(row.family_expires_at) <= now


def _holder(session: Session, grant: RefreshGrant) -> Holder | None:
    return holdings.holder(session, grant.user_id, grant.audience) if grant.user_id is not None else None


def _holder_of(row: Row[Any]) -> Holder | None:
    """The holder columns of the one-statement rotation (NULL username: no user, or the user is gone)."""
    if row.username is None:
        return None
    return Holder(row.user_id, row.username, row.subject, bool(row.disabled),
                  tuple(sorted(row.permissions)))


def _grant_of(row: RefreshToken | Row[Any]) -> RefreshGrant:
    return RefreshGrant(
        client_id=row.client_id, user_id=row.user_id, audience=row.audience,
        scope=tuple(name for name in (row.scope or "").split(" ") if name),
        auth_time=aware(row.auth_time) if row.auth_time else None, session_id=row.session_id,
        amr=tuple(row.amr or ()),
    )


# --- statements, built once (SQLAlchemy reuses their compiled form, psycopg prepares their text) -----------
# Parameter names differ from column names: an UPDATE would also SET a column its parameters name.
_NOW = bindparam("now", type_=DateTime(timezone=True))
_INSERT_LINK = insert(RefreshToken)


def _claim_statement(*also: ColumnElement[bool]) -> Update:
    """Mark the presented token rotated, if `presenting_client` may use it now (and `also` holds); RETURNING what
    the successor inherits. Concurrent claims of one row: the first wins, the others wait for its commit and
    match nothing (PostgreSQL re-checks the whole WHERE against the winner's row)."""
    link = RefreshToken
    return (
        update(link)
        .where(link.token_hash == bindparam("presented"), link.client_id == bindparam("presenting_client"),
               link.rotated_at.is_(None), link.revoked_at.is_(None), link.expires_at > _NOW, link.family_expires_at > _NOW,
               *also)
        .values(rotated_at=_NOW, successor_hash=bindparam("successor"))
        .returning(link.family_id, link.client_id, link.user_id, link.audience, link.scope, link.auth_time,
                   link.session_id, link.amr, link.family_expires_at)
    )


def _unless_refused() -> list[ColumnElement[bool]]:
    """PostgreSQL: the refresh grant's refusals as claim conditions (what grants/refresh_token.py's `_check`
    refuses, in SQL): a refused refresh claims nothing."""
    link = RefreshToken
    requested_oidc = bindparam("requested_oidc", type_=ARRAY(Text))
    requested_target = bindparam("requested_target", type_=Text)
    granted = func.string_to_array(link.scope, " ", type_=ARRAY(Text))
    holder_in_good_standing = exists().where(User.id == link.user_id, User.disabled.is_not(True))
    return [
        granted.contains(requested_oidc),  # RFC 6749 §6: never wider than the original grant
        or_(requested_target.is_(None), link.audience == requested_target),  # RFC 8707 §2
        or_(link.user_id.is_(None), holder_in_good_standing),
    ]


def _rotate_in_one_statement(claim: Update) -> Select[Any]:
    """PostgreSQL: claim, insert the successor (same family and grant, fresh idle expiry within the family's
    deadline) and read the holder (disabled flag, permissions for the family's audience) in one round trip."""
    claimed = claim.cte("claimed")
    inherited = ["family_id", "client_id", "user_id", "audience", "scope", "auth_time", "session_id", "amr"]
    idle_expires = bindparam("idle_expires", type_=DateTime(timezone=True))
    successor = insert(RefreshToken).from_select(
        ["token_hash", *inherited, "created_at", "expires_at", "family_expires_at"],
        select(bindparam("successor"), *(claimed.c[name] for name in inherited), _NOW,
               func.least(idle_expires, claimed.c.family_expires_at), claimed.c.family_expires_at),
    ).cte("successor")
    permissions = func.array(holdings.held_by_user(claimed.c.user_id, claimed.c.audience).scalar_subquery())
    return (
        select(claimed, User.username, User.subject, User.disabled, permissions.label("permissions"))
        .add_cte(successor)
        .select_from(claimed.outerjoin(User, User.id == claimed.c.user_id))
    )


_CLAIM = _claim_statement()
_ROTATE_IN_ONE_STATEMENT = _rotate_in_one_statement(_CLAIM)
_ROTATE_UNLESS_REFUSED = _rotate_in_one_statement(_claim_statement(*_unless_refused()))
