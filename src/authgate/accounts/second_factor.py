"""Checking a second factor at login: throttled per account like a password, audited either way.

A wrong code counts as a failed login in the brute-force throttle
(accounts/throttle.py: the pair, the account, the address), so guessing six
digits is slowed exactly as guessing a password; a locked account is refused
before any code is checked (`FactorThrottled`). `factor.used` or
`factor.failed` (and any lock) land in the audit log; spending a recovery
code is `recovery_code.used`, with how many are left.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from authgate import audit
from authgate.accounts import recovery_codes, totp
from authgate.accounts.mfa import Pending
from authgate.accounts.throttle import account_key, lock_events

if TYPE_CHECKING:
    from authgate.services import Services

# RFC 8176 §2: "otp" for an RFC 6238 code. A recovery code is no registered method of its own (a
# printed one-time secret, NIST's "look-up secret"): it adds nothing but "mfa" (mfa.combined).
TOTP_AMR = ("otp",)
RECOVERY_AMR: tuple[str, ...] = ()


class FactorThrottled(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many failed attempts; try again in {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Shown:
    """A second factor shown: its methods (RFC 8176), and for a recovery code how many remain."""

    amr: tuple[str, ...]
    recovery_codes_left: int | None = None


class SecondFactorCheck:
    def __init__(self, services: Services) -> None:
        self.services = services

    def totp(self, pending: Pending, code: str, *, ip: str) -> Shown | None:
        secrets = self.services.factor_secrets
        if not self._attempt(pending, ip, "totp", lambda session: totp.verify(session, secrets, pending.user_id, code)):
            return None
        return Shown(TOTP_AMR)

    def recovery_code(self, pending: Pending, code: str, *, ip: str) -> Shown | None:
        secrets = self.services.factor_secrets
        left: list[int] = []

        def spend(session: Session) -> bool:
            if not recovery_codes.use(session, secrets, pending.user_id, code):
                return False
            left.append(recovery_codes.remaining(session, pending.user_id))
            audit.record(session, audit.RECOVERY_CODE_USED, subject=pending.username, ip=ip, remaining=left[0])
            return True

        if not self._attempt(pending, ip, "recovery_code", spend):
            return None
        return Shown(RECOVERY_AMR, recovery_codes_left=left[0])

    def throttled_for(self, pending: Pending, *, ip: str) -> int:
        """Seconds until this account may try a factor from this address again (0: now)."""
        retry_after = self.services.throttle.check(account_key(pending.username), ip).retry_after
        return max(1, math.ceil(retry_after)) if retry_after > 0 else 0

    def _attempt(self, pending: Pending, ip: str, kind: str, check: Callable[[Session], bool]) -> bool:
        """Raises FactorThrottled when locked; otherwise runs `check` and counts a failure."""
        wait = self.throttled_for(pending, ip=ip)
        if wait:
            raise FactorThrottled(wait)
        with self.services.database.transaction() as session:
            accepted = check(session)
            if accepted:
                audit.record(session, audit.FACTOR_USED, subject=pending.username, ip=ip, kind=kind)
        if accepted:
            return True
        account = account_key(pending.username)
        locks = self.services.throttle.failed(account, ip)
        with self.services.database.transaction() as session:
            audit.record(session, audit.FACTOR_FAILED, subject=pending.username, ip=ip, outcome="failure", kind=kind)
            for event in lock_events(locks, account=account[:200], ip=ip, client_id=None):
                audit.record(session, **event)
        return False
