"""Password login, the one way every password is checked (password grant, hosted login page).

    user = PasswordLogin(services).authenticate(username, password, ip=ip, client_id=client_id)

or, to record the login in a transaction of the caller's own (the password
grant issues its refresh token in the same one):

    login = PasswordLogin(services)
    verified = login.verify(username, password, ip=ip, client_id=client_id)
    with services.database.transaction() as session:
        login.record(session, verified)
        ...

Raises `LoginFailed` for a wrong password, an unknown user or a disabled
account — the same message, and the same work (one argon2 verification, the
same counter and audit writes) — or `LoginThrottled(retry_after_seconds)`
when brute-force protection refuses the attempt (see accounts/throttle.py);
a refused attempt checks no password and is not counted again.

No transaction is open and no connection held while argon2 runs: one short
read before it (the throttle counters, the user), one write after it.

Audit: `login.succeeded` (in the transaction that records the login) and
`login.failed` with any lock it caused (`account.locked`, `address.blocked`),
subject = the normalised username as typed, so `authgate audit --user NAME`
finds them. Refused attempts are not logged one by one: the lock event is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from authgate import audit
from authgate.accounts.throttle import account_key, lock_events
from authgate.accounts.users import Credentials, find_credentials, record_login, verify_password
from authgate.storage.models import AuditEvent

if TYPE_CHECKING:
    from authgate.services import Services

FAILED_MESSAGE = "Invalid username or password."
# The `login.succeeded` event as `audit.record` writes it (the model's defaults fill the rest), as a
# prebuilt Core insert: every login writes one, and an ORM flush costs ~0.3 ms more.
_LOGIN_SUCCEEDED = insert(cast(Table, AuditEvent.__table__))


class LoginFailed(Exception):
    def __init__(self) -> None:
        super().__init__(FAILED_MESSAGE)


class LoginThrottled(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many failed attempts; try again in {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class LoginUser:
    """Who logged in: what callers need of the user (not an ORM object)."""

    id: int
    username: str


@dataclass(frozen=True)
class VerifiedLogin:
    """A right password, not yet recorded: `PasswordLogin.record` writes it."""

    credentials: Credentials
    new_hash: str | None  # the password rehashed with today's parameters, when the stored hash is outdated
    pair_counted: bool  # failures were counted for this account from this address: the success clears them
    account: str
    ip: str
    client_id: str | None

    @property
    def user(self) -> LoginUser:
        return LoginUser(self.credentials.id, self.credentials.username)


class PasswordLogin:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.throttle = services.throttle

    def authenticate(self, username: str, password: str, *, ip: str, client_id: str | None = None) -> LoginUser:
        """`verify`, then `record` in a transaction of its own."""
        verified = self.verify(username, password, ip=ip, client_id=client_id)
        with self.services.database.transaction() as session:
            self.record(session, verified)
        return verified.user

    def verify(self, username: str, password: str, *, ip: str, client_id: str | None = None) -> VerifiedLogin:
        """Check the password; a failure is counted and audited here, a success is left to `record`."""
        account = account_key(username)
        with self.services.database.reader() as session:
            standing = self.throttle.check(account, ip, session)
            if standing.retry_after > 0:
                raise LoginThrottled(max(1, math.ceil(standing.retry_after)))
            credentials = find_credentials(session, username)
        verification = verify_password(self.services.hasher, credentials, password)  # no connection held
        if credentials is None or not verification.ok:
            self._failed(account, ip, client_id)
            raise LoginFailed()
        return VerifiedLogin(credentials, verification.new_hash, standing.pair_counted, account, ip, client_id)

    def record(self, session: Session, verified: VerifiedLogin) -> None:
        """The success, in the caller's transaction: audit event, `last_login_at` (and rehash), the pair's counter cleared."""
        session.execute(_LOGIN_SUCCEEDED, {"type": audit.LOGIN_SUCCEEDED, "subject": verified.credentials.username,
                                           "client_id": verified.client_id, "ip": verified.ip})
        record_login(session, verified.credentials, new_hash=verified.new_hash)
        if verified.pair_counted:
            self.throttle.succeeded(verified.account, verified.ip, session)

    def _failed(self, account: str, ip: str, client_id: str | None) -> None:
        locks = self.throttle.failed(account, ip)
        with self.services.database.transaction() as session:
            audit.record(session, audit.LOGIN_FAILED, subject=account[:200], client_id=client_id, ip=ip, outcome="failure")
            for event in lock_events(locks, account=account[:200], ip=ip, client_id=client_id):
                audit.record(session, **event)


def unlock_account(services: Services, username: str, *, actor: str) -> int:
    """Clear an account's failure counters and locks from every address (audited); returns how many."""
    account = account_key(username)
    cleared = services.throttle.unlock(account)
    audit.record_now(services.database, audit.ACCOUNT_UNLOCKED, actor=actor, subject=account[:200], cleared=cleared)
    return cleared
