"""Refresh tokens: opaque, stored as SHA-256, rotated on every use, in families (OAuth 2.1 §4.3.1).

    refresh_tokens = services.oauth2.refresh_tokens
    with services.database.transaction() as session:
        token = refresh_tokens.issue(session, RefreshGrant(client_id=..., user_id=..., audience=..., scope=(...)))
        rotation = refresh_tokens.rotate(session, presented, client_id=..., before_rotation=check)

Every rule about refresh tokens is here, once, in Python; the rows are reached through a
`RefreshTokenStorage` (oauth2/refresh_storage.py), which decides nothing.

A refresh is one path, the same on SQLite and PostgreSQL, in the caller's transaction:

1. read the presented token's link locked, with its holder (`find_for_update`): a concurrent
   refresh of the same token waits here until this one commits, then reads the link rotated;
2. the rules: `_check_usable` (unknown, another client's — RFC 6749 §10.4 —, revoked, expired:
   idle `refresh_token_idle_ttl` or absolute `refresh_token_ttl`), then for a rotated link
   `_after_rotation`, else the caller's `before_rotation(grant, holder)`, which may refuse (raise:
   the transaction rolls back, nothing is rotated);
3. write: mark the link rotated and insert its successor (`record_rotation`).

`holder` is the token's user as they stand now (None for a client's own family, or a user who is
gone): every refresh must check the user and recompute permissions. Every link of a family has the
same client, user and audience (a successor inherits them), so the presented link's holder is the
holder of any link of its chain.

Presenting an already rotated token (the rule: `_after_rotation`):

- its successor never used: not theft, whatever the time. The client lost the answer (an outage cut
  it, a timeout gave up on it, a concurrent refresh won the race) and retries; it gets that
  successor, the very value the rotation produced — no second rotation, no extra live token. This
  works because a successor is derived, not random: successor = HMAC(server key, token); the server
  key derives from the master key, so only the server can compute it, and only from the
  predecessor's value, which it never stores;
- its successor used, and this presentation began within `refresh_reuse_grace` seconds of that use
  (concurrent refreshes: a slow caller arriving after the winner's client moved on): the chain's
  newest token, again without a rotation;
- its successor used before that (or at all, with no grace window): two holders of one family, i.e.
  reuse (a stolen token, RFC 6819 §5.2.2.3): `RefreshTokenReused` is raised; the caller revokes the
  whole family in its own transaction (`revoke_family_after_reuse`) and answers invalid_grant.

The window counts from the successor's first use (a moment after the rotation committed and its
answer arrived) to when this presentation began: neither a slow commit nor a request held up by an
outage shortens it. The stored scope of every link is the scope originally granted; a refresh may
ask for less (RFC 6749 §6) and later ask for the original again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from authgate import audit, tokens
from authgate.access.holdings import Holder
from authgate.clock import utcnow
from authgate.masterkey import derived_key
from authgate.oauth2.errors import InvalidGrant
from authgate.oauth2.refresh_storage import Link, LockedLink, NewLink, RefreshTokenStorage
from authgate.settings import Settings
from authgate.storage.database import Database

MAX_CHAIN_WALK = 16
MAX_TOKEN_LENGTH = 512
INVALID = "The refresh token is invalid."


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
    grace: bool  # a retry of a rotated token, answered with the chain's newest token
    holder: Holder | None  # the user now (None: a client's own family, or the user is gone)


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


class RefreshTokens:
    def __init__(
        self, settings: Settings, key: bytes, storage: RefreshTokenStorage, *, clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self._key = key
        self._clock = clock

    # --- issue ------------------------------------------------------------------
    def issue(self, session: Session, grant: RefreshGrant) -> str:
        """Start a new family; returns the token (shown once, stored as its digest)."""
        token = tokens.new_opaque()
        self.storage.insert_link(session, self._first_link(token, grant, self._clock()))
        return token

    def _first_link(self, token: str, grant: RefreshGrant, now: datetime) -> NewLink:
        family_expires = now + timedelta(seconds=self.settings.refresh_token_ttl)
        return self._new_link(token, grant, secrets.token_hex(16), now, family_expires)

    # --- rotate -----------------------------------------------------------------
    def rotate(
        self, session: Session, token: str, *, client_id: str, before_rotation: BeforeRotation | None = None,
    ) -> Rotation:
        """Exchange `token` for its successor, exactly once (a rotated token: see `_after_rotation`).

        `before_rotation` may refuse (raise) before anything is written."""
        now = self._clock()
        digest = _digest_of(token)
        found = self.storage.find_for_update(session, digest) if digest is not None else None
        link = self._check_usable(found.link if found is not None else None, client_id, now)
        assert found is not None
        if link.rotated_at is not None:
            return self._after_rotation(session, found, token, now, before_rotation)
        grant = _grant_of(link)
        if before_rotation is not None:
            before_rotation(grant, found.holder)
        successor = self._successor(token)
        self.storage.record_rotation(
            session, link, self._new_link(successor, grant, link.family_id, now, link.family_expires_at))
        return Rotation(successor, grant, link.family_id, grace=False, holder=found.holder)

    def _after_rotation(
        self, session: Session, found: LockedLink, token: str, now: datetime, before_rotation: BeforeRotation | None,
    ) -> Rotation:
        """A rotated token presented again: its unused successor, the chain's newest, or reuse.

        `now` is when this presentation began (the rule: see the module docstring)."""
        link = found.link
        successor_token = self._successor(token)
        successor = self._linked(session, link, successor_token)
        if successor.rotated_at is not None and self._is_reuse(successor.rotated_at, now):
            raise RefreshTokenReused(link.family_id, link.client_id, link.user_id)
        current, current_token = successor, successor_token
        for _ in range(MAX_CHAIN_WALK):
            if current.rotated_at is None:
                self._check_usable(current, link.client_id, now)
                grant = _grant_of(current)
                if before_rotation is not None:
                    before_rotation(grant, found.holder)  # the family's user: every link has the same
                return Rotation(current_token, grant, current.family_id, grace=True, holder=found.holder)
            current_token = self._successor(current_token)
            current = self._linked(session, current, current_token)
        raise InvalidGrant(INVALID, debug="rotation chain too long")

    def _is_reuse(self, successor_used_at: datetime, presented_at: datetime) -> bool:
        """The successor was used: a presentation of its parent that began `refresh_reuse_grace`
        seconds or more after that use comes from a second holder (RFC 6819 §5.2.2.3). With no
        grace window, any does."""
        grace = self.settings.refresh_reuse_grace
        return grace <= 0 or presented_at - successor_used_at >= timedelta(seconds=grace)

    def _linked(self, session: Session, link: Link, successor_token: str) -> Link:
        """The link of `link`'s successor, re-derived from the presented chain; InvalidGrant if it
        cannot be (a revoked family, or a successor this server did not derive)."""
        if link.successor_hash is None or not tokens.matches(successor_token, link.successor_hash):
            raise InvalidGrant(INVALID, debug="successor cannot be re-derived")
        following = self.storage.find(session, tokens.digest(successor_token))
        if following is None or following.revoked_at is not None:
            raise InvalidGrant(INVALID, debug="successor missing or revoked")
        return following

    def _check_usable(self, link: Link | None, client_id: str, now: datetime) -> Link:
        if link is None:
            raise InvalidGrant(INVALID, debug="unknown refresh token")
        if link.client_id != client_id:
            # RFC 6749 §6 / §10.4: bound to the client it was issued to.
            raise InvalidGrant(INVALID, debug=f"token of client {link.client_id!r} presented by {client_id!r}")
        if link.revoked_at is not None:
            raise InvalidGrant(INVALID, debug="revoked refresh token")
        if link.rotated_at is None and _expired(link, now):
            raise InvalidGrant("The refresh token has expired.", debug="expired refresh token")
        return link

    # --- revoke -----------------------------------------------------------------
    def revoke_family(self, session: Session, family_id: str) -> int:
        return self.storage.revoke_family(session, family_id, self._clock())

    def revoke_family_after_reuse(
        self, database: Database, reuse: RefreshTokenReused, *, ip: str | None, subject: str | None,
    ) -> None:
        """RFC 6819 §5.2.2.3 / OAuth 2.1 §4.3.1: a reused token revokes every token of its family."""
        with database.transaction() as session:
            revoked = self.revoke_family(session, reuse.family_id)
            audit.record(session, audit.REFRESH_REUSED, subject=subject, client_id=reuse.client_id, ip=ip,
                         outcome="revoked", family=reuse.family_id[:12], revoked=revoked)

    def revoke(self, session: Session, token: str, *, client_id: str) -> Link | None:
        """RFC 7009 §2.1: revoke the family of `token` if it belongs to `client_id`; returns the token's link."""
        link = self._find(session, token)
        if link is None or link.client_id != client_id:
            return None
        self.revoke_family(session, link.family_id)
        return link

    def revoke_for_session(self, session: Session, session_id: str) -> int:
        """Every family issued under a browser session (RP-initiated logout)."""
        return self.storage.revoke_for_session(session, session_id, self._clock())

    # --- purge ------------------------------------------------------------------
    def purge(self, session: Session) -> int:
        """Delete the families past their absolute expiry; returns how many links went.

        No link of such a family can be used again (`_expired`), so nothing is lost: a token of one,
        presented later, is refused as unknown instead of as expired, and reuse detection has nothing
        left to revoke.
        """
        return self.storage.purge_families_expired_before(session, self._clock())

    # --- read -------------------------------------------------------------------
    def find_active(self, session: Session, token: str) -> Link | None:
        """The token's link if it could be used now (not rotated, revoked or expired), else None."""
        link = self._find(session, token)
        if link is None or link.rotated_at is not None or link.revoked_at is not None or _expired(link, self._clock()):
            return None
        return link

    # --- helpers ----------------------------------------------------------------
    def _find(self, session: Session, token: str) -> Link | None:
        digest = _digest_of(token)
        return self.storage.find(session, digest) if digest is not None else None

    def _successor(self, token: str) -> str:
        mac = hmac.new(self._key, token.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def _new_link(
        self, token: str, grant: RefreshGrant, family_id: str, now: datetime, family_expires: datetime,
    ) -> NewLink:
        """A link of `grant`'s family: idle expiry from now, never past the family's deadline."""
        idle_expires = now + timedelta(seconds=self.settings.refresh_token_idle_ttl)
        return NewLink(
            token_hash=tokens.digest(token), family_id=family_id, client_id=grant.client_id, user_id=grant.user_id,
            audience=grant.audience, scope=" ".join(grant.scope), auth_time=grant.auth_time,
            session_id=grant.session_id, amr=grant.amr, created_at=now, expires_at=min(idle_expires, family_expires),
            family_expires_at=family_expires,
        )


def _digest_of(token: str) -> str | None:
    """The digest a token is stored under; None for a value no token can have (empty, or too long)."""
    return tokens.digest(token) if 0 < len(token) <= MAX_TOKEN_LENGTH else None


def _expired(link: Link, now: datetime) -> bool:
    return link.expires_at <= now or link.family_expires_at <= now


def _grant_of(link: Link) -> RefreshGrant:
    return RefreshGrant(
        client_id=link.client_id, user_id=link.user_id, audience=link.audience,
        scope=tuple(name for name in link.scope.split(" ") if name), auth_time=link.auth_time,
        session_id=link.session_id, amr=link.amr,
    )
