"""Password login, the one way every password is checked (password grant, hosted login page).

    user = PasswordLogin(services).authenticate(username, password, ip=ip, client_id=client_id)

Raises `LoginFailed` for a wrong password, an unknown user or a disabled
account — the same message, and the same work (one argon2 verification, the
same counter and audit writes) — or `LoginThrottled(retry_after_seconds)`
when brute-force protection refuses the attempt (see accounts/throttle.py);
a refused attempt checks no password and is not counted again.

Audit: `login.succeeded` (in the transaction that records the login) and
`login.failed` with any lock it caused (`account.locked`, `address.blocked`),
subject = the normalised username as typed, so `authgate audit --user NAME`
finds them. Refused attempts are not logged one by one: the lock event is.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from authgate import audit
from authgate.accounts.throttle import account_key, lock_events
from authgate.storage.models import User

if TYPE_CHECKING:
    from authgate.services import Services

FAILED_MESSAGE = "Invalid username or password."


class LoginFailed(Exception):
    def __init__(self) -> None:
        super().__init__(FAILED_MESSAGE)


class LoginThrottled(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many failed attempts; try again in {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


class PasswordLogin:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.throttle = services.throttle

    def authenticate(self, username: str, password: str, *, ip: str, client_id: str | None = None) -> User:
        account = account_key(username)
        wait = self.throttle.retry_after(account, ip)
        if wait > 0:
            raise LoginThrottled(max(1, math.ceil(wait)))
        with self.services.realm(actor=account[:200]) as realm:
            user = realm.users.check_password(username, password)
            if user is not None:
                audit.record(realm.session, audit.LOGIN_SUCCEEDED, subject=user.username, client_id=client_id, ip=ip)
        if user is None:
            self._failed(account, ip, client_id)
            raise LoginFailed()
        self.throttle.succeeded(account, ip)
        return user

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
