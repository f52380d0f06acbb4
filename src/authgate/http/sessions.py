"""Browser sessions of the hosted pages: who is logged in, since when, in this browser.

The cookie holds a random value; the `browser_sessions` table holds only its
SHA-256 digest, so a database read does not yield live cookies. A session
ends when it is idle for `session_idle_ttl`, `session_absolute_ttl` after the
login, or at logout. Every login starts a new session with a new cookie
value (OWASP session fixation: the identifier is rotated on privilege change).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection
from starlette.responses import Response

from authgate import tokens
from authgate.clock import aware, utcnow
from authgate.storage.models import BrowserSession, User

if TYPE_CHECKING:
    from authgate.services import Services

COOKIE = "authgate_session"
# Writing last_seen_at on every request would turn each page view into a write.
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class ActiveSession:
    sid: str
    user_id: int
    username: str
    subject: str  # the user's `sub`
    auth_time: datetime
    amr: tuple[str, ...]  # how the person authenticated (RFC 8176), e.g. ("pwd",)


def cookie_name(issuer: str) -> str:
    """`__Host-` pins the cookie to this host over https (RFC 6265bis §4.1.3.2)."""
    return f"__Host-{COOKIE}" if is_secure(issuer) else COOKIE


def is_secure(issuer: str) -> bool:
    return urlsplit(issuer).scheme == "https"


def set_flow_cookie(response: Response, issuer: str, name: str, value: str, *, max_age: int, path: str) -> None:
    """A short-lived cookie that binds a flow (a sign-in elsewhere, a logout there) to this browser: HttpOnly,
    SameSite=Lax (the provider sends the browser back with a top-level GET), Secure over https."""
    response.set_cookie(name, value, max_age=max_age, path=path, secure=is_secure(issuer), httponly=True,
                        samesite="lax")


class BrowserSessions:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.cookie = cookie_name(self.settings.issuer)

    def start(self, user_id: int, *, amr: Sequence[str], ip: str | None, user_agent: str | None,
              replacing: str | None = None) -> tuple[str, str]:
        """A new session after a successful login; returns (cookie value, sid). Ends `replacing`.

        `amr` says how the person authenticated (RFC 8176 values: "pwd" for a password, …).
        """
        value = tokens.new_opaque()
        sid = secrets.token_urlsafe(16)
        now = utcnow()
        with self.services.database.transaction() as session:
            purge_expired(session, now)
            if replacing:
                session.execute(delete(BrowserSession).where(BrowserSession.id_hash == tokens.digest(replacing)))
            session.add(BrowserSession(
                id_hash=tokens.digest(value), sid=sid, user_id=user_id, auth_time=now, created_at=now,
                last_seen_at=now, expires_at=now + timedelta(seconds=self.settings.session_absolute_ttl),
                ip=ip, user_agent=(user_agent or "")[:400] or None, amr=list(amr),
            ))
        return value, sid

    def current(self, request: HTTPConnection) -> ActiveSession | None:
        """The live session named by the request's cookie, or None (expired ones are deleted)."""
        value = request.cookies.get(self.cookie)
        if not value or len(value) > 200:
            return None
        now = utcnow()
        with self.services.database.reader() as session:
            row = session.execute(
                select(BrowserSession, User.username, User.subject, User.disabled)
                .join(User, User.id == BrowserSession.user_id)
                .where(BrowserSession.id_hash == tokens.digest(value))
            ).first()
        if row is None:
            return None
        browser_session, username, subject, disabled = row
        idle_deadline = aware(browser_session.last_seen_at) + timedelta(seconds=self.settings.session_idle_ttl)
        if disabled or aware(browser_session.expires_at) <= now or idle_deadline <= now:
            self.end(value)
            return None
        if now - aware(browser_session.last_seen_at) >= TOUCH_EVERY:
            self._touch(browser_session.id_hash, now)
        return ActiveSession(browser_session.sid, browser_session.user_id, username, subject,
                             aware(browser_session.auth_time), tuple(browser_session.amr))

    def end(self, value: str | None) -> str | None:
        """End the session named by a cookie value; returns its sid when there was one."""
        if not value:
            return None
        with self.services.database.transaction() as session:
            found = session.get(BrowserSession, tokens.digest(value))
            if found is None:
                return None
            session.delete(found)
            return found.sid

    def end_others(self, user_id: int, keep_sid: str | None) -> None:
        """End every other session of a user (after a password change)."""
        with self.services.database.transaction() as session:
            statement = delete(BrowserSession).where(BrowserSession.user_id == user_id)
            if keep_sid:
                statement = statement.where(BrowserSession.sid != keep_sid)
            session.execute(statement)

    def _touch(self, id_hash: str, now: datetime) -> None:
        with self.services.database.transaction() as session:
            found = session.get(BrowserSession, id_hash)
            if found is not None:
                found.last_seen_at = now

    # --- the cookie ----------------------------------------------------------------
    def set_cookie(self, response: Response, value: str) -> None:
        """HttpOnly, SameSite=Lax (top-level redirects back from clients carry it), Secure over https."""
        response.set_cookie(
            self.cookie, value, max_age=self.settings.session_absolute_ttl, path="/",
            secure=is_secure(self.settings.issuer), httponly=True, samesite="lax",
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(
            self.cookie, path="/", secure=is_secure(self.settings.issuer), httponly=True, samesite="lax"
        )


def purge_expired(session: Session, now: datetime) -> int:
    """Delete the browser sessions (their absolute expiry) whose expiry passed by `now`; returns how many."""
    purged = session.execute(delete(BrowserSession).where(BrowserSession.expires_at <= now)
                             .execution_options(synchronize_session=False))
    return int(purged.rowcount)  # type: ignore[attr-defined]
