"""Recovery codes: ten single-use codes for when the authenticator is lost, shown once.

Each is 10 characters of a 32-letter alphabet (50 random bits), shown as
`xxxxx-xxxxx`; stored only as a keyed digest (accounts/factor_secrets.py
says why a keyed SHA-256 and not argon2). Generating a set deletes the old
one. Using a code is one conditional UPDATE (`used_at` still empty), so a
code works once even when submitted twice at the same moment.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from authgate.accounts.factor_secrets import FactorSecrets
from authgate.clock import utcnow
from authgate.storage.models import RecoveryCode

COUNT = 10
ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # 32 letters and digits, no l/o/0/1 to misread
LENGTH = 10
CODE_FIELD_LENGTH = 40


def generate(
    session: Session, factor_secrets: FactorSecrets, user_id: int, *, now: datetime | None = None
) -> list[str]:
    """A new set of codes (the old set dies); returns them as shown to the person, once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [_new_code() for _ in range(COUNT)]
    at = now or utcnow()
    session.add_all(
        RecoveryCode(user_id=user_id, code_hash=factor_secrets.recovery_digest(user_id, code), created_at=at)
        for code in codes
    )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def use(
    session: Session, factor_secrets: FactorSecrets, user_id: int, raw: str, *, now: datetime | None = None
) -> bool:
    """Spend one code; False when it is malformed, unknown or used already."""
    code = normalise(raw)
    if code is None:
        return False
    spent = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == factor_secrets.recovery_digest(user_id, code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(spent.rowcount)  # type: ignore[attr-defined]


def remaining(session: Session, user_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0)


def remove(session: Session, user_id: int) -> bool:
    result = session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def normalise(raw: str) -> str | None:
    """The code without separators and in lower case, or None when it cannot be one."""
    code = raw.replace(" ", "").replace("-", "").lower()
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
