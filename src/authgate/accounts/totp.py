"""Authenticator apps: time-based one-time passwords (RFC 6238) with `pyotp`.

Enrolment is two steps: `begin` stores a new secret, unconfirmed (shown to
the person as a QR code and as text); `confirm` accepts it once the person
types a first code from their app. Only a confirmed app is a factor.

A code is accepted for the current 30-second step and one step either side
(RFC 6238 §5.2: "at most one time step" of network delay and clock drift),
and never twice: the newest accepted step is stored, and accepting a code
is one conditional UPDATE (`last_step` below the code's step), so two
concurrent submissions of one code race for one row and exactly one wins.
A code of an older step than the last accepted one is refused too, which
is what RFC 6238 §5.2 asks ("MUST NOT accept the second attempt of the
same OTP after the successful validation").
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from authgate.accounts.factor_secrets import FactorSecrets
from authgate.clock import utcnow
from authgate.storage.models import TotpFactor

DIGITS = 6
INTERVAL = 30  # seconds; what every authenticator app assumes (RFC 6238 §5.2)
DRIFT_STEPS = 1
DEFAULT_NAME = "Authenticator app"
# Long enough for a pasted code with spaces; anything longer is refused as a form error.
CODE_FIELD_LENGTH = 32


class TotpUnavailable(Exception):
    """No confirmed authenticator app (or no enrolment begun, for `confirm`)."""


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, to show once
    uri: str  # otpauth:// for the QR code


def normalise_code(raw: str) -> str | None:
    """The six digits the person typed (spaces and a middle dash allowed), or None when it cannot be a code."""
    code = raw.replace(" ", "").replace("-", "")
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    return code


def begin(session: Session, secrets: FactorSecrets, user_id: int, *, account_name: str, issuer: str) -> Enrolment:
    """A new, unconfirmed secret for the user (replacing an unconfirmed one). Refuses if one is confirmed."""
    existing = session.scalar(select(TotpFactor).where(TotpFactor.user_id == user_id))
    if existing is not None and existing.confirmed_at is not None:
        raise TotpUnavailable("An authenticator app is set up already; remove it first.")
    secret = pyotp.random_base32()
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(TotpFactor(user_id=user_id, name=DEFAULT_NAME, secret_sealed=secrets.seal_totp(user_id, secret)))
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(name=account_name, issuer_name=issuer)
    return Enrolment(secret, uri)


def pending_secret(session: Session, secrets: FactorSecrets, user_id: int, *, account_name: str,
                   issuer: str) -> Enrolment | None:
    """The unconfirmed enrolment begun earlier (a page shown again), or None."""
    row = session.scalar(select(TotpFactor).where(TotpFactor.user_id == user_id, TotpFactor.confirmed_at.is_(None)))
    if row is None:
        return None
    secret = secrets.open_totp(user_id, row.secret_sealed)
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(name=account_name, issuer_name=issuer)
    return Enrolment(secret, uri)


def confirm(session: Session, secrets: FactorSecrets, user_id: int, code: str, *, now: datetime | None = None) -> bool:
    """Accept the first code of an unconfirmed enrolment: the app is set up. False for a wrong code."""
    row = session.scalar(select(TotpFactor).where(TotpFactor.user_id == user_id, TotpFactor.confirmed_at.is_(None)))
    if row is None:
        raise TotpUnavailable("No authenticator app is being set up.")
    return _accept(session, secrets, row, code, now or utcnow(), confirming=True)


def verify(session: Session, secrets: FactorSecrets, user_id: int, code: str, *, now: datetime | None = None) -> bool:
    """A code of the user's confirmed app, accepted at most once. False for a wrong or replayed code."""
    row = session.scalar(select(TotpFactor).where(TotpFactor.user_id == user_id, TotpFactor.confirmed_at.is_not(None)))
    if row is None:
        raise TotpUnavailable("No authenticator app is set up.")
    return _accept(session, secrets, row, code, now or utcnow(), confirming=False)


def has_confirmed(session: Session, user_id: int) -> bool:
    return session.scalar(select(TotpFactor.id).where(
        TotpFactor.user_id == user_id, TotpFactor.confirmed_at.is_not(None))) is not None


def remove(session: Session, user_id: int) -> bool:
    result = session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _accept(session: Session, secrets: FactorSecrets, row: TotpFactor, code: str, now: datetime, *,
            confirming: bool) -> bool:
    normalised = normalise_code(code)
    if normalised is None:
        return False
    totp = pyotp.TOTP(secrets.open_totp(row.user_id, row.secret_sealed), digits=DIGITS, interval=INTERVAL)
    current = totp.timecode(now)
    matched = next((step for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1)
                    if hmac.compare_digest(totp.generate_otp(step), normalised)), None)
    if matched is None:
        return False
    values: dict[str, object] = {"last_step": matched, "last_used_at": now}
    if confirming:
        values["confirmed_at"] = now
    accepted = session.execute(
        update(TotpFactor)
        .where(TotpFactor.id == row.id, or_(TotpFactor.last_step.is_(None), TotpFactor.last_step < matched))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(accepted.rowcount)  # type: ignore[attr-defined]
