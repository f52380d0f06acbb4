"""Sign-ins in progress at an upstream provider, and what a federated sign-in leaves for later.

Each is a row of `federation_attempts`, single-use (taking it deletes it in
one statement, so a replay finds nothing), its secrets sealed with the
master key and bound to the row. Five kinds:

- `login`: a sign-in at the provider, keyed by the `state` sent there (RFC
  6749 §10.12), bound to the browser by a cookie of its own, living
  `federation_login_ttl`; holds the nonce and PKCE verifier.
- `link`: an identity waiting for the person to prove the existing account
  (the linking form's token; same cookie, same life).
- `factor`: what waits for the second step of a federated sign-in (keyed by
  the pending login, as long as it lives): the provider's sign-in, and the
  identity to link once the second factor is shown — never before.
- `session`: which provider signed a browser session in, keyed by its `sid`
  for as long as the session can live, with the provider's ID token when
  the provider is to be logged out of too (`upstream_logout`).
- `logout`: a logout waiting for the provider to send the browser back,
  keyed by the `state` sent there, bound to the browser's cookie; holds how
  to finish authgate's own logout.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from authgate import tokens
from authgate.accounts.mfa import PENDING_TTL
from authgate.clock import aware, utcnow
from authgate.federation.identities import UpstreamIdentity
from authgate.masterkey import MasterKey
from authgate.storage.database import Database
from authgate.storage.models import FederationAttempt

LOGIN, LINK, FACTOR, SESSION, LOGOUT = "login", "link", "factor", "session", "logout"
# The longest state or form token accepted back: ours are 43 characters; anything longer is not ours.
MAX_TOKEN = 100
# The browser's own random value that binds its sign-ins and logouts (`login`, `link`, `logout`) to it.
BROWSER_COOKIE = "authgate_federation"
BROWSER_COOKIE_PATH = "/login/idp"


def browser_of(cookie: str | None) -> str | None:
    """The browser value a cookie holds, when it could be one of ours."""
    return cookie if cookie and 20 <= len(cookie) <= MAX_TOKEN and cookie.isascii() else None


@dataclass(frozen=True)
class LoginAttempt:
    alias: str
    nonce: str
    code_verifier: str
    return_to: str


@dataclass(frozen=True)
class UpstreamSignIn:
    """The provider a sign-in went through, and its ID token when it is kept (the hint for logging out there)."""

    alias: str
    id_token: str | None = None


@dataclass(frozen=True)
class PendingLink:
    alias: str
    user_id: int
    identity: UpstreamIdentity
    return_to: str
    id_token: str | None = None


@dataclass(frozen=True)
class AfterSecondStep:
    """What a federated sign-in waiting for its second factor does once it is shown."""

    user_id: int
    upstream: UpstreamSignIn
    link: UpstreamIdentity | None  # linked only then: a correct password and a wrong code link nothing


class Attempts:
    def __init__(self, database: Database, master: MasterKey, ttl: int) -> None:
        self.database = database
        self._master = master
        self.ttl = timedelta(seconds=ttl)

    def begin_login(self, alias: str, browser: str, return_to: str) -> tuple[str, LoginAttempt]:
        """A new attempt; returns the `state` to send upstream and what the callback will need."""
        attempt = LoginAttempt(alias, secrets.token_urlsafe(32), secrets.token_urlsafe(48), return_to)
        state = self._insert(LOGIN, alias, browser, None, return_to,
                             {"nonce": attempt.nonce, "code_verifier": attempt.code_verifier})
        return state, attempt

    def take_login(self, state: str, browser: str | None) -> LoginAttempt | None:
        """The attempt `state` names, once: None when unknown, used, expired or started in another browser."""
        found = self._take(state, browser, LOGIN)
        if found is None:
            return None
        row, sealed = found
        return LoginAttempt(row.provider_alias, sealed["nonce"], sealed["code_verifier"], row.return_to)

    def begin_link(self, browser: str, user_id: int, identity: UpstreamIdentity, return_to: str,
                   id_token: str | None) -> str:
        return self._insert(LINK, identity.alias, browser, user_id, return_to,
                            {**identity.as_dict(), "id_token": id_token})

    def peek_link(self, token: str, browser: str | None) -> PendingLink | None:
        """The pending link, left in place (the form may be shown again after a wrong password)."""
        if not _plausible(token) or not browser:
            return None
        with self.database.reader() as session:
            row = session.get(FederationAttempt, _key(LINK, token))
            if row is None or not self._usable(row, browser, LINK):
                return None
            return self._pending(row)

    def take_link(self, token: str, browser: str | None) -> PendingLink | None:
        found = self._take(token, browser, LINK)
        return self._pending(found[0], found[1]) if found is not None else None

    # --- after the second factor ----------------------------------------------------------------
    def begin_after_second_step(self, pending: str, after: AfterSecondStep) -> None:
        """Keep `after` until the pending login (its cookie value `pending`) is finished, or expires."""
        self._insert(FACTOR, after.upstream.alias, pending, after.user_id, "", {
            "id_token": after.upstream.id_token, "link": after.link.as_dict() if after.link else None,
        }, value=pending, expires_at=utcnow() + PENDING_TTL)

    def take_after_second_step(self, pending: str, user_id: int) -> AfterSecondStep | None:
        found = self._take(pending, pending, FACTOR)
        if found is None or found[0].user_id != user_id:
            return None
        row, sealed = found
        link = UpstreamIdentity.from_dict(row.provider_alias, sealed["link"]) if sealed["link"] else None
        return AfterSecondStep(user_id, UpstreamSignIn(row.provider_alias, sealed["id_token"]), link)

    # --- which provider signed a session in -------------------------------------------------------
    def remember_session(self, sid: str, user_id: int, upstream: UpstreamSignIn, expires_at: datetime) -> None:
        self._insert(SESSION, upstream.alias, sid, user_id, "", {"id_token": upstream.id_token},
                     value=sid, expires_at=expires_at)

    def take_session(self, sid: str) -> UpstreamSignIn | None:
        """The provider that signed session `sid` in (forgotten now: the session is ending), or None."""
        found = self._take(sid, sid, SESSION)
        return UpstreamSignIn(found[0].provider_alias, found[1]["id_token"]) if found is not None else None

    # --- a logout waiting for the provider ------------------------------------------------------
    def begin_logout(self, alias: str, browser: str, finish: dict[str, Any]) -> str:
        """A logout sent to the provider; returns the `state` to send with it. `finish`: how to end ours."""
        return self._insert(LOGOUT, alias, browser, None, "", finish)

    def take_logout(self, state: str, browser: str | None) -> tuple[str, dict[str, Any]] | None:
        """(provider alias, how to finish) for `state`, once, in the browser that started it."""
        found = self._take(state, browser, LOGOUT)
        return (found[0].provider_alias, found[1]) if found is not None else None

    # --- rows ------------------------------------------------------------------------------------
    def _insert(self, kind: str, alias: str, browser: str, user_id: int | None, return_to: str,
                secret: dict[str, Any], *, value: str | None = None, expires_at: datetime | None = None) -> str:
        """A new row named by `value` (a new random one when None); returns the value."""
        value = value or secrets.token_urlsafe(32)
        id_hash = _key(kind, value)
        now = utcnow()
        with self.database.transaction() as session:
            purge_expired(session, now)
            session.add(FederationAttempt(
                id_hash=id_hash, kind=kind, provider_alias=alias, browser_hash=tokens.digest(browser),
                user_id=user_id, sealed=self._master.encrypt(json.dumps(secret).encode(), _context(id_hash)),
                return_to=return_to, created_at=now, expires_at=expires_at or now + self.ttl,
            ))
        return value

    def _take(self, value: str, browser: str | None, kind: str) -> tuple[FederationAttempt, dict[str, Any]] | None:
        if not _plausible(value) or not browser:
            return None
        with self.database.transaction() as session:
            row = session.scalar(select(FederationAttempt).where(FederationAttempt.id_hash == _key(kind, value)))
            if row is None:
                return None
            # Single use: whichever request deletes the row owns it (a concurrent replay deletes nothing).
            deleted = session.execute(delete(FederationAttempt).where(FederationAttempt.id_hash == row.id_hash))
            if deleted.rowcount != 1 or not self._usable(row, browser, kind):  # type: ignore[attr-defined]
                return None
            session.expunge(row)
        return row, self._open(row)

    def _usable(self, row: FederationAttempt, browser: str, kind: str) -> bool:
        return (row.kind == kind and aware(row.expires_at) > utcnow()
                and secrets.compare_digest(row.browser_hash, tokens.digest(browser)))

    def _open(self, row: FederationAttempt) -> dict[str, Any]:
        opened: dict[str, Any] = json.loads(self._master.decrypt(row.sealed, _context(row.id_hash)))
        return opened

    def _pending(self, row: FederationAttempt, sealed: dict[str, Any] | None = None) -> PendingLink:
        data = sealed if sealed is not None else self._open(row)
        assert row.user_id is not None
        return PendingLink(row.provider_alias, row.user_id, UpstreamIdentity.from_dict(row.provider_alias, data),
                           row.return_to, data.get("id_token"))


def _plausible(value: str) -> bool:
    return 0 < len(value) <= MAX_TOKEN and value.isascii()


def _key(kind: str, value: str) -> str:
    """A row's key: the digest of its kind and value (a session's `sid` is public; its row is found only by kind)."""
    return tokens.digest(f"{kind}:{value}")


def _context(id_hash: str) -> str:
    return f"federation-attempt:{id_hash}"


def purge_expired(session: Session, now: datetime) -> int:
    """Delete the federation attempts (sign-ins, links, logouts) whose expiry passed by `now`; returns how many."""
    purged = session.execute(delete(FederationAttempt).where(FederationAttempt.expires_at <= now)
                             .execution_options(synchronize_session=False))
    return int(purged.rowcount)  # type: ignore[attr-defined]
