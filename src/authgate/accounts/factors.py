"""Every second factor a user has, whatever its kind: the one registry pages, admin API and policies read.

A kind of factor is a `FactorSource` in `SOURCES`: it lists a user's factors
of its kind (never a secret), renames and removes them. Adding a kind (the
passkeys) is one new source and one line in `SOURCES`.

"Has a second factor" is defined here once (`has_second_factor`): a factor
whose `second_factor` is true. Recovery codes are listed but are no second
factor of their own: they stand in for one, and die with the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol, TypeVar

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from authgate import text
from authgate.accounts import passkeys, recovery_codes, totp
from authgate.clock import aware
from authgate.errors import InvalidInput, NotFound
from authgate.storage import limits
from authgate.storage.models import Passkey, RecoveryCode, TotpFactor

NAME_LENGTH = 100


@dataclass(frozen=True)
class Factor:
    kind: str  # "totp", "passkey", "recovery_codes"
    id: str  # unique within the user's factors of this kind
    name: str
    created_at: datetime
    last_used_at: datetime | None
    second_factor: bool  # counts towards "has a second factor"
    renamable: bool
    detail: str | None = None  # e.g. "7 of 10 left"


class FactorSource(Protocol):
    kind: ClassVar[str]
    second_factor: ClassVar[bool]  # its factors count towards "has a second factor"

    def exists_for(self, user_id: ColumnElement[int] | int) -> ColumnElement[bool]:
        """SQL: the user has a factor of this kind (for policy checks in one statement)."""
        ...

    def list(self, session: Session, user_id: int) -> list[Factor]: ...

    def rename(self, session: Session, user_id: int, factor_id: str, name: str) -> bool: ...

    def remove(self, session: Session, user_id: int, factor_id: str) -> bool: ...


class TotpSource:
    kind: ClassVar[str] = "totp"
    second_factor: ClassVar[bool] = True

    def exists_for(self, user_id: ColumnElement[int] | int) -> ColumnElement[bool]:
        return exists().where(TotpFactor.user_id == user_id, TotpFactor.confirmed_at.is_not(None))

    def list(self, session: Session, user_id: int) -> list[Factor]:
        rows = session.scalars(select(TotpFactor).where(
            TotpFactor.user_id == user_id, TotpFactor.confirmed_at.is_not(None)))
        return [Factor(self.kind, str(row.id), row.name, aware(row.created_at),
                       aware(row.last_used_at) if row.last_used_at else None, second_factor=self.second_factor,
                       renamable=True)
                for row in rows]

    def rename(self, session: Session, user_id: int, factor_id: str, name: str) -> bool:
        return _renamed(self._find(session, user_id, factor_id), name)

    def remove(self, session: Session, user_id: int, factor_id: str) -> bool:
        return self._find(session, user_id, factor_id) is not None and totp.remove(session, user_id)

    @staticmethod
    def _find(session: Session, user_id: int, factor_id: str) -> TotpFactor | None:
        return _row(session, TotpFactor, user_id, factor_id, TotpFactor.confirmed_at.is_not(None))


class RecoveryCodeSource:
    kind: ClassVar[str] = "recovery_codes"
    second_factor: ClassVar[bool] = False
    ID: ClassVar[str] = "set"

    def exists_for(self, user_id: ColumnElement[int] | int) -> ColumnElement[bool]:
        return exists().where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))

    def list(self, session: Session, user_id: int) -> list[Factor]:
        row = session.execute(
            select(func.count(), func.count(RecoveryCode.used_at), func.min(RecoveryCode.created_at),
                   func.max(RecoveryCode.used_at)).where(RecoveryCode.user_id == user_id)).one()
        total, used, created, last_used = row
        if not total:
            return []
        return [Factor(self.kind, self.ID, "Recovery codes", aware(created), aware(last_used) if last_used else None,
                       second_factor=self.second_factor, renamable=False, detail=f"{total - used} of {total} left")]

    def rename(self, session: Session, user_id: int, factor_id: str, name: str) -> bool:
        return False

    def remove(self, session: Session, user_id: int, factor_id: str) -> bool:
        return factor_id == self.ID and recovery_codes.remove(session, user_id)


class PasskeySource:
    """Passkeys (accounts/passkeys.py): with user verification each is a second factor, and a first one too."""

    kind: ClassVar[str] = "passkey"
    second_factor: ClassVar[bool] = True

    def exists_for(self, user_id: ColumnElement[int] | int) -> ColumnElement[bool]:
        return exists().where(Passkey.user_id == user_id)

    def list(self, session: Session, user_id: int) -> list[Factor]:
        return [Factor(self.kind, str(info.id), info.name, info.created_at, info.last_used_at,
                       second_factor=self.second_factor, renamable=True,
                       detail="synced passkey" if info.synced else "device-bound passkey")
                for info in passkeys.passkeys_of(session, user_id)]

    def rename(self, session: Session, user_id: int, factor_id: str, name: str) -> bool:
        return _renamed(_row(session, Passkey, user_id, factor_id), name)

    def remove(self, session: Session, user_id: int, factor_id: str) -> bool:
        row = _row(session, Passkey, user_id, factor_id)
        if row is None:
            return False
        session.delete(row)
        return True


FactorRow = TypeVar("FactorRow", TotpFactor, Passkey)


def _row(session: Session, model: type[FactorRow], user_id: int, factor_id: str,
         *where: ColumnElement[bool]) -> FactorRow | None:
    """The user's factor row with this id (a decimal number that fits the column), or None."""
    if not (factor_id.isascii() and factor_id.isdigit() and len(factor_id) <= 10
            and int(factor_id) <= limits.largest_of(model.id)):
        return None
    return session.scalar(select(model).where(model.id == int(factor_id), model.user_id == user_id, *where))


def _renamed(row: TotpFactor | Passkey | None, name: str) -> bool:
    if row is None:
        return False
    row.name = name
    return True


SOURCES: tuple[FactorSource, ...] = (TotpSource(), PasskeySource(), RecoveryCodeSource())


def factors_of(session: Session, user_id: int) -> list[Factor]:
    """The user's factors, every kind, second factors first (never a secret)."""
    found = [factor for source in SOURCES for factor in source.list(session, user_id)]
    return sorted(found, key=lambda factor: (not factor.second_factor, factor.created_at))


def has_second_factor(session: Session, user_id: int) -> bool:
    return bool(session.scalar(select(second_factor_exists(user_id))))


def second_factor_exists(user_id: ColumnElement[int] | int) -> ColumnElement[bool]:
    """SQL: the user has a second factor (any source that counts), for policies read in one statement."""
    return or_(*(source.exists_for(user_id) for source in SOURCES if source.second_factor))


def rename(session: Session, user_id: int, kind: str, factor_id: str, name: str) -> Factor:
    """Raises NotFound for no such factor of this user, InvalidInput for a bad name or a kind without names."""
    checked = text.checked(name.strip(), NAME_LENGTH, field="name", what="Name")
    if not checked:
        raise InvalidInput("Enter a name.", field="name")
    source = _source(kind)
    if not source.rename(session, user_id, factor_id, checked):
        if any(factor.id == factor_id for factor in source.list(session, user_id)):
            raise InvalidInput("This factor cannot be renamed.", field="name")
        raise NotFound("factor", f"{kind}/{factor_id}")
    return next(factor for factor in source.list(session, user_id) if factor.id == factor_id)


def remove(session: Session, user_id: int, kind: str, factor_id: str) -> Factor:
    """Remove one factor; when no second factor is left, the recovery codes go too. Raises NotFound."""
    source = _source(kind)
    found = next((factor for factor in source.list(session, user_id) if factor.id == factor_id), None)
    if found is None or not source.remove(session, user_id, factor_id):
        raise NotFound("factor", f"{kind}/{factor_id}")
    session.flush()
    if not has_second_factor(session, user_id):
        recovery_codes.remove(session, user_id)
    return found


def _source(kind: str) -> FactorSource:
    found = next((source for source in SOURCES if source.kind == kind), None)
    if found is None:
        raise NotFound("factor kind", kind[:40])
    return found
