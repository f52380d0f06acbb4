"""Mailed links and codes: issued, looked at, and consumed once.

A token is ≥ 256 random bits in the link; its code is 8 characters (≈ 40
bits) to type instead, only ever tried through a throttle (pages). Both are
stored as SHA-256 digests. Issuing one voids the user's earlier unused ones
of the same purpose (only the newest message works). Consuming is one
conditional UPDATE (`used_at IS NULL AND expires_at > now`), so two
concurrent uses cannot both succeed.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, delete, select, update
from sqlalchemy.orm import Session

from authgate import tokens
from authgate.clock import aware, utcnow
from authgate.storage.models import EmailToken, User

VERIFY_EMAIL = "verify_email"
PASSWORD_RESET = "password_reset"
INVITATION = "invitation"

CODE_ALPHABET = (
    "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a phone, typed on a laptop
)
CODE_LENGTH = 8
_tokens = cast(Table, EmailToken.__table__)
_users = cast(Table, User.__table__)


@dataclass(frozen=True)
class IssuedToken:
    token: str  # for the link
    code: str  # to type instead, shown as XXXX-XXXX
    expires_at: datetime


@dataclass(frozen=True)
class ConsumedToken:
    user_id: int
    email: str


def normalize_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isalnum())[: CODE_LENGTH * 2]


def _code_digest(token_hash: str, code: str) -> str:
    return tokens.digest(f"{token_hash}:{code}")


class EmailTokens:
    def __init__(self, session: Session, *, now: datetime | None = None) -> None:
        self.session = session
        self.now = now or utcnow()

    def issue(self, *, user_id: int, email: str, purpose: str, ttl: int) -> IssuedToken:
        # One issuer per user at a time (PostgreSQL: the user's row locked; SQLite: the writer lock), so two
        # concurrent requests cannot both void nothing and leave two live tokens.
        self.session.execute(select(_users.c.id).where(_users.c.id == user_id).with_for_update())
        self.void(user_id=user_id, purpose=purpose)
        token = tokens.new_opaque()
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        token_hash = tokens.digest(token)
        expires_at = self.now + timedelta(seconds=ttl)
        self.session.add(
            EmailToken(
                purpose=purpose,
                token_hash=token_hash,
                code_hash=_code_digest(token_hash, code),
                user_id=user_id,
                email=email,
                created_at=self.now,
                expires_at=expires_at,
            )
        )
        self.session.flush()
        return IssuedToken(token, f"{code[:4]}-{code[4:]}", expires_at)

    def void(self, *, user_id: int, purpose: str) -> int:
        """Make the user's unused tokens of this purpose unusable; returns how many."""
        result = self.session.execute(
            update(_tokens)
            .where(
                _tokens.c.user_id == user_id,
                _tokens.c.purpose == purpose,
                _tokens.c.used_at.is_(None),
            )
            .values(used_at=self.now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def peek(self, purpose: str, token: str) -> ConsumedToken | None:
        """What a link is for, without using it (the page a link opens, before its button is pressed)."""
        row = self.session.execute(
            select(_tokens.c.user_id, _tokens.c.email, _tokens.c.expires_at).where(
                _tokens.c.token_hash == tokens.digest(token),
                _tokens.c.purpose == purpose,
                _tokens.c.used_at.is_(None),
            )
        ).first()
        if row is None or aware(row.expires_at) <= self.now:
            return None
        return ConsumedToken(row.user_id, row.email)

    def consume(self, purpose: str, token: str) -> ConsumedToken | None:
        """Use a link's token: the user and address it was for, or None (unknown, used, expired)."""
        return self._consume_where(_tokens.c.token_hash == tokens.digest(token), purpose)

    def consume_code(self, purpose: str, email: str, code: str) -> ConsumedToken | None:
        """Use a typed code sent to `email`: as `consume`. Callers throttle the attempts."""
        wanted = normalize_code(code)
        if len(wanted) != CODE_LENGTH:
            return None
        candidates = self.session.execute(
            select(_tokens.c.id, _tokens.c.token_hash, _tokens.c.code_hash).where(
                _tokens.c.purpose == purpose,
                _tokens.c.email == email,
                _tokens.c.used_at.is_(None),
                _tokens.c.expires_at > self.now,
            )
        ).all()
        for candidate in candidates:
            if hmac.compare_digest(_code_digest(candidate.token_hash, wanted), candidate.code_hash):
                return self._consume_where(_tokens.c.id == candidate.id, purpose)
        return None

    def _consume_where(self, match: ColumnElement[bool], purpose: str) -> ConsumedToken | None:
        row = self.session.execute(
            update(_tokens)
            .where(
                match,
                _tokens.c.purpose == purpose,
                _tokens.c.used_at.is_(None),
                _tokens.c.expires_at > self.now,
            )
            .values(used_at=self.now)
            .returning(_tokens.c.user_id, _tokens.c.email)
        ).first()
        return ConsumedToken(row.user_id, row.email) if row is not None else None

    def pending(self, purpose: str) -> list[tuple[int, str, datetime]]:
        """Unused, unexpired tokens of a purpose: (user_id, email, expires_at), newest first."""
        rows = self.session.execute(
            select(_tokens.c.user_id, _tokens.c.email, _tokens.c.expires_at)
            .where(
                _tokens.c.purpose == purpose,
                _tokens.c.used_at.is_(None),
                _tokens.c.expires_at > self.now,
            )
            .order_by(_tokens.c.id.desc())
        ).all()
        return [(row.user_id, row.email, aware(row.expires_at)) for row in rows]


def purge_expired(session: Session, now: datetime) -> int:
    """Delete the email tokens (used or not) whose expiry passed by `now`; returns how many."""
    purged = session.execute(delete(EmailToken).where(EmailToken.expires_at <= now)
                             .execution_options(synchronize_session=False))
    return int(purged.rowcount)  # type: ignore[attr-defined]
