"""Refresh tokens: opaque, stored as SHA-256, rotated on every use, in families (OAuth 2.1 §4.3.1).

    store = services.oauth2.refresh_tokens
    with services.database.transaction() as session:
        token = store.issue(session, RefreshGrant(client_id=..., user_id=..., audience=..., scope=(...)))
        rotation = store.rotate(session, presented, client_id=..., before_rotation=check)

Contract:

- `issue` starts a family (the first token is `tokens.new_opaque()`); only the digest is stored.
- `rotate` exchanges a token for its successor exactly once, even under
  concurrency: the row is claimed with ``UPDATE … WHERE rotated_at IS NULL``
  and the rowcount decides (SQLite serialises writers with BEGIN IMMEDIATE;
  on PostgreSQL a concurrent UPDATE waits for the winner's commit and then
  matches no row). It raises `InvalidGrant` for unknown, revoked, expired
  (idle `refresh_token_idle_ttl` or absolute `refresh_token_ttl`) tokens and
  for tokens of another client (RFC 6749 §10.4: bound to the client).
- Presenting an already rotated token:
  * within `refresh_reuse_grace` seconds of its rotation (a client that lost
    the response to a concurrent refresh) the caller gets the chain's newest
    token back, the very same value the winner received — no second rotation
    happens and no extra live token is created. This works because a
    successor is derived, not random: successor = HMAC(server key, token);
    the server key derives from the master key, so only the server can
    compute it, and only from the predecessor's value, which it never stores;
  * later, it is reuse (a stolen token, RFC 6819 §5.2.2.3): `RefreshTokenReused`
    is raised; the caller revokes the whole family in its own transaction
    (`revoke_family_after_reuse`) and answers invalid_grant.
- The stored scope of every link is the scope originally granted; a refresh
  may ask for less (RFC 6749 §6) and later ask for the original again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from authgate import audit, tokens
from authgate.clock import aware, utcnow
from authgate.masterkey import MasterKey
from authgate.oauth2.errors import InvalidGrant
from authgate.settings import Settings
from authgate.storage.database import Database
from authgate.storage.models import RefreshToken

MAX_CHAIN_WALK = 16


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token family stands for."""

    client_id: str
    user_id: int | None
    audience: str | None
    scope: tuple[str, ...] = ()
    auth_time: datetime | None = None
    session_id: str | None = None


@dataclass(frozen=True)
class Rotation:
    token: str  # the refresh token to give the client
    grant: RefreshGrant
    family_id: str
    grace: bool  # a retry inside the grace window, answered with the chain's newest token


class RefreshTokenReused(Exception):
    """A rotated token came back after the grace window: the family must be revoked."""

    def __init__(self, family_id: str, client_id: str, user_id: int | None) -> None:
        super().__init__("refresh token reused")
        self.family_id = family_id
        self.client_id = client_id
        self.user_id = user_id


def successor_key(settings: Settings) -> bytes:
    """A server-only key for deriving successors, from the master key (never stored, never sent)."""
    MasterKey.from_settings(settings)  # validates the key and creates the dev key file if needed
    if settings.master_key is not None:
        material = settings.master_key.get_secret_value()
    else:
        material = (settings.data_dir / "master.key").read_text()
    return hmac.new(material.strip().encode(), b"authgate refresh-token successor v1", hashlib.sha256).digest()


class RefreshTokenStore:
    def __init__(self, settings: Settings, key: bytes) -> None:
        self.settings = settings
        self._key = key

    # --- issue ------------------------------------------------------------------
    def issue(self, session: Session, grant: RefreshGrant) -> str:
        """Start a new family; returns the token (shown once, stored as its digest)."""
        now = utcnow()
        token = tokens.new_opaque()
        family_expires = now + timedelta(seconds=self.settings.refresh_token_ttl)
        self._add(session, token, grant, secrets.token_hex(16), now, family_expires)
        return token

    # --- rotate -----------------------------------------------------------------
    def rotate(
        self,
        session: Session,
        token: str,
        *,
        client_id: str,
        before_rotation: Callable[[RefreshGrant], None] | None = None,
    ) -> Rotation:
        """Exchange `token` for its successor, exactly once. `before_rotation` may refuse (raise) first."""
        now = utcnow()
        row = self._find(session, token)
        self._check_usable(row, client_id, now)
        assert row is not None
        if row.rotated_at is None:
            if before_rotation is not None:
                before_rotation(_grant_of(row))
            successor = self._successor(token)
            claimed = session.execute(
                update(RefreshToken)
                .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None), RefreshToken.revoked_at.is_(None))
                .values(rotated_at=now, successor_hash=tokens.digest(successor))
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                self._add(session, successor, _grant_of(row), row.family_id, now, aware(row.family_expires_at))
                return Rotation(successor, _grant_of(row), row.family_id, grace=False)
            # Lost the race: another request rotated it first (its commit is visible now).
            row = self._find(session, token)
            self._check_usable(row, client_id, now)
            assert row is not None
        return self._after_rotation(session, row, token, now, before_rotation)

    def _after_rotation(
        self, session: Session, row: RefreshToken, token: str, now: datetime,
        before_rotation: Callable[[RefreshGrant], None] | None,
    ) -> Rotation:
        assert row.rotated_at is not None
        # Measured now, when the rotation is seen: `now` may predate it (taken before waiting for the
        # winner's row lock). With no grace window, every second use is reuse.
        grace = self.settings.refresh_reuse_grace
        if grace <= 0 or utcnow() - aware(row.rotated_at) >= timedelta(seconds=grace):
            raise RefreshTokenReused(row.family_id, row.client_id, row.user_id)
        current, current_token = row, token
        for _ in range(MAX_CHAIN_WALK):
            next_token = self._successor(current_token)
            if current.successor_hash is None or not tokens.matches(next_token, current.successor_hash):
                raise InvalidGrant("The refresh token is invalid.", debug="successor cannot be re-derived")
            following = self._find(session, next_token)
            if following is None or following.revoked_at is not None:
                raise InvalidGrant("The refresh token is invalid.", debug="successor missing or revoked")
            if following.rotated_at is None:
                self._check_usable(following, row.client_id, now)
                if before_rotation is not None:
                    before_rotation(_grant_of(following))
                return Rotation(next_token, _grant_of(following), following.family_id, grace=True)
            current, current_token = following, next_token
        raise InvalidGrant("The refresh token is invalid.", debug="rotation chain too long")

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
        if not token or len(token) > 512:
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

    def _add(self, session: Session, token: str, grant: RefreshGrant, family_id: str, now: datetime, family_expires: datetime) -> None:
        idle = now + timedelta(seconds=self.settings.refresh_token_idle_ttl)
        session.add(RefreshToken(
            token_hash=tokens.digest(token), family_id=family_id, client_id=grant.client_id, user_id=grant.user_id,
            audience=grant.audience, scope=" ".join(grant.scope), auth_time=grant.auth_time,
            session_id=grant.session_id, created_at=now, expires_at=min(idle, family_expires),
            family_expires_at=family_expires,
        ))
        session.flush()


def _expired(row: RefreshToken, now: datetime) -> bool:
    return aware(row.expires_at) <= now or aware(row.family_expires_at) <= now


def _grant_of(row: RefreshToken) -> RefreshGrant:
    return RefreshGrant(
        client_id=row.client_id, user_id=row.user_id, audience=row.audience,
        scope=tuple(name for name in (row.scope or "").split(" ") if name),
        auth_time=aware(row.auth_time) if row.auth_time else None, session_id=row.session_id,
    )
