"""The console's server-side sessions: what the admin console, as an OAuth client, remembers per browser.

The browser holds only a random value in an HttpOnly cookie; the
`console_sessions` row holds its digest. Before login the row keeps the
pending authorization request (state, nonce, PKCE verifier); after login the
access and ID tokens. Both are encrypted with the master key and bound to the
row, so a database read yields neither live cookies nor usable tokens. The
identifier is replaced when the login completes (OWASP session fixation), and
a session ends with its access token.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from authgate import tokens
from authgate.clock import aware, utcnow
from authgate.http.sessions import is_secure
from authgate.masterkey import MasterKey, MasterKeyError
from authgate.storage.models import ConsoleSession

if TYPE_CHECKING:
    from authgate.services import Services

COOKIE = "authgate_console"
PENDING_FOR = timedelta(minutes=10)
MAX_COOKIE = 200


@dataclass(frozen=True)
class PendingLogin:
    state: str
    nonce: str
    code_verifier: str
    return_to: str


@dataclass(frozen=True)
class ConsoleLogin:
    user_id: int
    username: str
    access_token: str
    id_token: str
    expires_at: datetime
    flashes: list[dict[str, str]]


def cookie_name(issuer: str) -> str:
    """`__Host-` pins the cookie to this host over https (RFC 6265bis §4.1.3.2)."""
    return f"__Host-{COOKIE}" if is_secure(issuer) else COOKIE


class ConsoleSessions:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.issuer = services.settings.issuer
        self.cookie = cookie_name(self.issuer)
        self._master = MasterKey.from_settings(services.settings)

    # --- the login ------------------------------------------------------------------
    def begin(self, return_to: str) -> tuple[str, PendingLogin]:
        """A new pending login; returns (cookie value, the request to send)."""
        pending = PendingLogin(
            state=secrets.token_urlsafe(24), nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(48), return_to=return_to,
        )
        value = tokens.new_opaque()
        now = utcnow()
        with self.services.database.transaction() as session:
            purge_expired(session, now)
            session.add(ConsoleSession(
                id_hash=tokens.digest(value), secrets_encrypted=self._seal(value, {
                    "state": pending.state, "nonce": pending.nonce, "code_verifier": pending.code_verifier,
                }), return_to=return_to, flashes=[], created_at=now, expires_at=now + PENDING_FOR,
            ))
        return value, pending

    def pending(self, value: str | None) -> PendingLogin | None:
        row = self._row(value)
        if row is None or row.user_id is not None:
            return None
        data = self._open(value or "", row.secrets_encrypted)
        if data is None:
            return None
        return PendingLogin(data["state"], data["nonce"], data["code_verifier"], row.return_to)

    def complete(self, value: str, *, user_id: int, username: str, access_token: str, id_token: str,
                 expires_at: datetime) -> str:
        """Turn the pending login into a logged-in session under a new cookie value; returns it."""
        fresh = tokens.new_opaque()
        with self.services.database.transaction() as session:
            session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == tokens.digest(value)))
            session.add(ConsoleSession(
                id_hash=tokens.digest(fresh), user_id=user_id, username=username,
                secrets_encrypted=self._seal(fresh, {"access_token": access_token, "id_token": id_token}),
                return_to="/admin", flashes=[], created_at=utcnow(), expires_at=expires_at,
            ))
        return fresh

    # --- a logged-in session ----------------------------------------------------------
    def current(self, value: str | None) -> ConsoleLogin | None:
        row = self._row(value)
        if row is None or row.user_id is None or row.username is None:
            return None
        data = self._open(value or "", row.secrets_encrypted)
        if data is None:
            return None
        return ConsoleLogin(row.user_id, row.username, data["access_token"], data["id_token"],
                            aware(row.expires_at), list(row.flashes or []))

    def flash(self, value: str, kind: str, message: str) -> None:
        """A message for the next page this session sees (after a redirect)."""
        with self.services.database.transaction() as session:
            row = session.get(ConsoleSession, tokens.digest(value))
            if row is not None:
                row.flashes = [*(row.flashes or []), {"kind": kind, "message": message[:500]}][-5:]

    def clear_flashes(self, value: str) -> None:
        with self.services.database.transaction() as session:
            row = session.get(ConsoleSession, tokens.digest(value))
            if row is not None:
                row.flashes = []

    def end(self, value: str | None) -> None:
        if value:
            with self.services.database.transaction() as session:
                session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == tokens.digest(value)))

    # --- storage ------------------------------------------------------------------------
    def _row(self, value: str | None) -> ConsoleSession | None:
        if not value or len(value) > MAX_COOKIE:
            return None
        with self.services.database.reader() as session:
            row = session.get(ConsoleSession, tokens.digest(value))
        if row is not None and aware(row.expires_at) <= utcnow():
            self.end(value)
            return None
        return row

    def _seal(self, value: str, data: dict[str, Any]) -> bytes:
        return self._master.encrypt(json.dumps(data).encode(), context=f"console:{tokens.digest(value)}")

    def _open(self, value: str, blob: bytes) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self._master.decrypt(blob, context=f"console:{tokens.digest(value)}"))
        except MasterKeyError:
            return None  # sealed under another master key: the session is simply gone
        return data


def purge_expired(session: Session, now: datetime) -> int:
    """Delete the console sessions (and pending console logins) whose expiry passed by `now`; returns how many."""
    purged = session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now)
                             .execution_options(synchronize_session=False))
    return int(purged.rowcount)  # type: ignore[attr-defined]
