"""Multi-factor policy and the pending login: who must show a second factor, and the login in between.

Policy (`requirement`), written once and read by the login page, the
authorization endpoint (step-up) and the password grant (no bypass):

- `AUTHGATE_MFA=off`: no second factor is asked for or offered.
- A user with a second factor (accounts/factors.py) always shows it.
- A user without one must enrol at the next login when `AUTHGATE_MFA=required`,
  or when a role they hold requires it (`role_requires_mfa`).

A role requires MFA when its `require_mfa` is true. Left unset (None), only
the built-in `admin` role requires it, and only once MFA is *available* to
its holders — defined as: at least one holder of `admin` has a second
factor. So the first admin of a fresh install is not locked into enrolment
on first run, but as soon as one administrator enrols, every other
administrator is led through enrolment at their next login. `false` on the
admin role opts out; `true` on any role requires it at once.

The pending login (`PendingLogins`) is the state between a right password
and the second factor (or enrolment), and between a one-factor session and
its step-up: a row keyed by the digest of a random cookie value (the browser
holds the value, never a user id), living `PENDING_TTL`, spent once by
`finish` in the transaction that starts the session.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from authgate import tokens
from authgate.accounts.factors import second_factor_exists
from authgate.clock import aware, utcnow
from authgate.settings import Settings
from authgate.storage.database import Database
from authgate.storage.models import PendingLogin, Role, User, user_roles

ADMIN_ROLE = "admin"  # bootstrap.ADMIN_ROLE (not imported: bootstrap sits above the services)
PENDING_TTL = timedelta(minutes=10)
# RFC 8176 §2: "mfa" is added to the methods whenever more than one factor was shown.
MFA = "mfa"


class Requirement(enum.Enum):
    NONE = "none"  # one factor is enough
    SECOND_FACTOR = "second_factor"  # the user has one: ask for it
    ENROL = "enrol"  # a policy requires one and the user has none: set one up first


def requirement(session: Session, settings: Settings, user_id: int) -> Requirement:
    """One statement in the usual case (asked at every login and password grant); a second one only for a
    holder of `admin` left at the default, to see whether any admin has a factor."""
    if settings.mfa == "off":
        return Requirement.NONE
    held = select(user_roles.c.role_id).where(user_roles.c.user_id == user_id)
    has_factor, role_requires, admin_default = session.execute(select(
        second_factor_exists(user_id),
        exists().where(Role.id.in_(held), Role.require_mfa.is_(True)),
        exists().where(Role.id.in_(held), Role.name == ADMIN_ROLE, Role.require_mfa.is_(None)),
    )).one()
    if has_factor:
        return Requirement.SECOND_FACTOR
    if settings.mfa == "required" or role_requires or (admin_default and _an_admin_has_a_factor(session)):
        return Requirement.ENROL
    return Requirement.NONE


def _an_admin_has_a_factor(session: Session) -> bool:
    """The built-in admin role's default: MFA is "available" to admins once one of them has a second factor."""
    admins = (select(user_roles.c.user_id).join(Role, Role.id == user_roles.c.role_id)
              .where(Role.name == ADMIN_ROLE, second_factor_exists(user_roles.c.user_id)))
    return bool(session.scalar(select(exists(admins))))


def is_multi_factor(amr: Iterable[str]) -> bool:
    return MFA in amr


def combined(first: Sequence[str], second: Sequence[str]) -> tuple[str, ...]:
    """The methods of a login that showed `first`, then the second factor's `second`: RFC 8176 `mfa` added."""
    return tuple(dict.fromkeys([*first, *second, MFA]))


@dataclass(frozen=True)
class Pending:
    user_id: int
    username: str
    amr: tuple[str, ...]
    must_enrol: bool
    return_to: str


class PendingLogins:
    def __init__(self, database: Database) -> None:
        self.database = database

    def begin(self, user_id: int, *, amr: Sequence[str], must_enrol: bool, return_to: str,
              now: datetime | None = None) -> str:
        """A new pending login; returns the value for the browser's cookie."""
        value = tokens.new_opaque()
        at = now or utcnow()
        with self.database.transaction() as session:
            purge_expired(session, at)
            session.add(PendingLogin(
                id_hash=tokens.digest(value), user_id=user_id, amr=list(amr), must_enrol=must_enrol,
                return_to=return_to, created_at=at, expires_at=at + PENDING_TTL,
            ))
        return value

    def find(self, value: str | None, *, now: datetime | None = None) -> Pending | None:
        """The live pending login a cookie value names, or None (expired, finished, or no cookie)."""
        if not value or len(value) > 200:
            return None
        with self.database.reader() as session:
            row = session.execute(
                select(PendingLogin, User.username).join(User, User.id == PendingLogin.user_id)
                .where(PendingLogin.id_hash == tokens.digest(value), User.disabled.is_not(True))
            ).first()
        if row is None or aware(row[0].expires_at) <= (now or utcnow()):
            return None
        pending, username = row
        return Pending(pending.user_id, username, tuple(pending.amr), pending.must_enrol, pending.return_to)

    def enrolled(self, value: str) -> None:
        """The pending login's user has set up a factor: what remains is to finish it."""
        with self.database.transaction() as session:
            found = session.get(PendingLogin, tokens.digest(value))
            if found is not None:
                found.must_enrol = False

    @staticmethod
    def finish(session: Session, value: str, *, now: datetime | None = None) -> bool:
        """Spend the pending login, in the caller's transaction; False when it was spent or expired already."""
        spent = session.execute(delete(PendingLogin).where(
            PendingLogin.id_hash == tokens.digest(value), PendingLogin.expires_at > (now or utcnow())))
        return bool(spent.rowcount)  # type: ignore[attr-defined]

    def cancel(self, value: str | None) -> None:
        if value:
            with self.database.transaction() as session:
                session.execute(delete(PendingLogin).where(PendingLogin.id_hash == tokens.digest(value)))


def purge_expired(session: Session, now: datetime) -> int:
    """Delete the pending logins (waiting for a second factor) whose expiry passed by `now`; returns how many."""
    purged = session.execute(delete(PendingLogin).where(PendingLogin.expires_at <= now)
                             .execution_options(synchronize_session=False))
    return int(purged.rowcount)  # type: ignore[attr-defined]
