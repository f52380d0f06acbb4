"""Sign-ins in progress at an upstream provider, and identities waiting to be linked.

Each is a row keyed by the digest of a random value — the `state` sent to
the provider (RFC 6749 §10.12), or the linking form's token — bound to the
browser that started it by the digest of a cookie of its own, short-lived
(`federation_login_ttl`) and single-use: taking it deletes it in one
statement, so a replayed `state` finds nothing. The nonce and PKCE verifier
(or the claims awaiting a link) are sealed with the master key, bound to the row.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from authgate import tokens
from authgate.clock import aware, utcnow
from authgate.federation.identities import UpstreamIdentity
from authgate.masterkey import MasterKey
from authgate.storage.database import Database
from authgate.storage.models import FederationAttempt

LOGIN, LINK = "login", "link"
# The longest state or form token accepted back: ours are 43 characters; anything longer is not ours.
MAX_TOKEN = 100


@dataclass(frozen=True)
class LoginAttempt:
    alias: str
    nonce: str
    code_verifier: str
    return_to: str


@dataclass(frozen=True)
class PendingLink:
    alias: str
    user_id: int
    identity: UpstreamIdentity
    return_to: str


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

    def begin_link(self, browser: str, user_id: int, identity: UpstreamIdentity, return_to: str) -> str:
        return self._insert(LINK, identity.alias, browser, user_id, return_to, identity.as_dict())

    def peek_link(self, token: str, browser: str | None) -> PendingLink | None:
        """The pending link, left in place (the form may be shown again after a wrong password)."""
        if not _plausible(token) or not browser:
            return None
        with self.database.reader() as session:
            row = session.get(FederationAttempt, tokens.digest(token))
            if row is None or not self._usable(row, browser, LINK):
                return None
            return self._pending(row)

    def take_link(self, token: str, browser: str | None) -> PendingLink | None:
        found = self._take(token, browser, LINK)
        return self._pending(found[0], found[1]) if found is not None else None

    def _insert(self, kind: str, alias: str, browser: str, user_id: int | None, return_to: str,
                secret: dict[str, Any]) -> str:
        value = secrets.token_urlsafe(32)
        id_hash = tokens.digest(value)
        now = utcnow()
        with self.database.transaction() as session:
            session.execute(delete(FederationAttempt).where(FederationAttempt.expires_at <= now))
            session.add(FederationAttempt(
                id_hash=id_hash, kind=kind, provider_alias=alias, browser_hash=tokens.digest(browser),
                user_id=user_id, sealed=self._master.encrypt(json.dumps(secret).encode(), _context(id_hash)),
                return_to=return_to, created_at=now, expires_at=now + self.ttl,
            ))
        return value

    def _take(self, value: str, browser: str | None, kind: str) -> tuple[FederationAttempt, dict[str, Any]] | None:
        if not _plausible(value) or not browser:
            return None
        with self.database.transaction() as session:
            row = session.scalar(select(FederationAttempt).where(FederationAttempt.id_hash == tokens.digest(value)))
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
                           row.return_to)


def _plausible(value: str) -> bool:
    return 0 < len(value) <= MAX_TOKEN and value.isascii()


def _context(id_hash: str) -> str:
    return f"federation-attempt:{id_hash}"
