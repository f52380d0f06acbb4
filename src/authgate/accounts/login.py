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
read before it (the throttle counters, the user: one statement when the
counters are the database's), one transaction after it (`record`), the
same on SQLite and PostgreSQL.

Audit: `login.succeeded` (written by `record`, through `audit.record` like
every audit event, so a webhook subscribed to it is queued in the same
transaction) and `login.failed` with any lock it caused (`account.locked`,
`address.blocked`), subject = the normalised username as typed, so
`authgate audit --user NAME` finds them. Refused attempts are not logged one
by one: the lock event is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Select, Table, bindparam, literal_column, select
from sqlalchemy.orm import Session

from authgate import audit
from authgate.accounts.throttle import (
    LOCKED_UNTIL,
    PAIR_COUNTED,
    Standing,
    Throttle,
    account_key,
    lock_events,
)
from authgate.accounts.users import (
    CREDENTIAL_COLUMNS,
    Credentials,
    credentials_of,
    find_credentials,
    login_name,
    record_login,
    resolve_login_name,
    verify_password,
)
from authgate.storage.models import User

if TYPE_CHECKING:
    from authgate.services import Services

FAILED_MESSAGE = "Invalid username or password."
_users = cast(Table, User.__table__)


class LoginFailed(Exception):
    def __init__(self) -> None:
        super().__init__(FAILED_MESSAGE)


class LoginUnverified(LoginFailed):
    """The password is right, but `login_requires_verified_email` and the address is not confirmed yet."""

    def __init__(self, username: str) -> None:
        super().__init__()
        self.args = ("The email address of this account is not confirmed yet.",)
        self.username = username


class LoginThrottled(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many failed attempts; try again in {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class LoginUser:
    """Who logged in: what callers need of the user (not an ORM object)."""

    id: int
    username: str
    subject: str  # the `sub` of the user's tokens


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
        return LoginUser(self.credentials.id, self.credentials.username, self.credentials.subject)


class PasswordLogin:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.throttle = services.throttle

    def authenticate(self, username: str, password: str, *, ip: str, client_id: str | None = None) -> LoginUser:
        """`verify`, then `record` the login in a transaction of its own."""
        verified = self.verify(username, password, ip=ip, client_id=client_id)
        with self.services.database.transaction() as session:
            self.record(session, verified)
        return verified.user

    def verify(self, username: str, password: str, *, ip: str, client_id: str | None = None) -> VerifiedLogin:
        """Check the password; a failure is counted and audited here, a success is left to `record`."""
        verified = self._verify(username, password, ip=ip, client_id=client_id)
        self.services.metrics.login("success")
        return verified

    def _verify(self, username: str, password: str, *, ip: str, client_id: str | None) -> VerifiedLogin:
        if "@" in username:  # perhaps an email address (accounts/users.py: resolve_login_name)
            with self.services.database.reader() as session:
                username = resolve_login_name(session, username)
        account = account_key(username)
        credentials, standing = self._read(username, account, ip)
        if standing.retry_after > 0:
            self.services.metrics.login("locked")
            raise LoginThrottled(max(1, math.ceil(standing.retry_after)))
        verification = verify_password(self.services.hasher, credentials, password)  # no connection held
        if credentials is None or not verification.ok:
            self._failed(account, ip, client_id)
            self.services.metrics.login("wrong_password")
            raise LoginFailed()
        admit(self.services, credentials)  # the right password: saying why not reveals nothing new
        return VerifiedLogin(credentials, verification.new_hash, standing.pair_counted, account, ip, client_id)

    def reconfirm(self, username: str, password: str, *, ip: str) -> LoginUser:
        """A signed-in person proves their password again (to change it): throttled, and a failure
        counted and audited, exactly as a login — but a success is no login and is not recorded as one."""
        verified = self._verify(username, password, ip=ip, client_id=None)  # not a login: not counted as one
        if verified.pair_counted:
            with self.services.database.transaction() as session:
                self.throttle.succeeded(verified.account, verified.ip, session)
        return verified.user

    def _read(self, username: str, account: str, ip: str) -> tuple[Credentials | None, Standing]:
        """The user and the throttle standing: one statement when the counters are the database's."""
        if not self.throttle.counts_in_database:
            with self.services.database.reader() as session:
                standing = self.throttle.check(account, ip, session)
                return (find_credentials(session, username) if standing.retry_after <= 0 else None), standing
        with self.services.database.statement() as connection:
            row = connection.execute(_CREDENTIALS_AND_STANDING, {
                "username": login_name(username), **Throttle.standing_parameters(account, ip)}).one()
        return credentials_of(row), Throttle.standing_from(row.locked_until, row.pair_counted)

    def record(self, session: Session, verified: VerifiedLogin) -> None:
        """The success, in the caller's transaction: the audit event, `last_login_at` (and rehash), the pair's
        counter cleared."""
        audit.record(session, audit.LOGIN_SUCCEEDED, subject=verified.credentials.username,
                     client_id=verified.client_id, ip=verified.ip)
        record_login(session, verified.credentials, new_hash=verified.new_hash)
        if verified.pair_counted:
            self.throttle.succeeded(verified.account, verified.ip, session)

    def _failed(self, account: str, ip: str, client_id: str | None) -> None:
        count_failure(self.services, account, ip, client_id, method="pwd")


def admit(services: Services, credentials: Credentials) -> None:
    """Whether a person proven to own an account (by a password, a passkey…) may log in to it:
    LoginFailed for a disabled account, LoginUnverified while `login_requires_verified_email` waits."""
    if credentials.disabled:
        raise LoginFailed()
    if services.settings.login_requires_verified_email and not credentials.email_verified:
        services.metrics.login("unverified")
        raise LoginUnverified(credentials.username)


def count_failure(services: Services, account: str, ip: str, client_id: str | None, *, method: str) -> None:
    """A failed proof for `account` (`account_key`) from `ip`: counted by the throttle and audited, with
    any lock it caused. `method` is how the proof was attempted (RFC 8176: "pwd", "hwk"…)."""
    locks = services.throttle.failed(account, ip)
    with services.database.transaction() as session:
        audit.record(session, audit.LOGIN_FAILED, subject=account[:200], client_id=client_id, ip=ip,
                     outcome="failure", **({} if method == "pwd" else {"method": method}))
        for event in lock_events(locks, account=account[:200], ip=ip, client_id=client_id):
            audit.record(session, **event)
    for lock in locks:
        services.metrics.throttle_lock(lock.kind)




def unlock_account(services: Services, username: str, *, actor: str) -> int:
    """Clear an account's failure counters and locks from every address (audited); returns how many."""
    account = account_key(username)
    cleared = services.throttle.unlock(account)
    audit.record_now(services.database, audit.ACCOUNT_UNLOCKED, actor=actor, subject=account[:200], cleared=cleared)
    return cleared


# --- statements, built once (SQLAlchemy reuses their compiled form, psycopg prepares their text) -----------
def _credentials_and_standing() -> Select[Any]:
    """The user a login names (NULLs for none: an outer join on one row) with the throttle's standing."""
    one_row = select(literal_column("1").label("one")).subquery("one_row")
    found = one_row.outerjoin(_users, _users.c.username == bindparam("username"))
    return select(*CREDENTIAL_COLUMNS, LOCKED_UNTIL.label("locked_until"),
                  PAIR_COUNTED.label("pair_counted")).select_from(found)


_CREDENTIALS_AND_STANDING = _credentials_and_standing()
