"""Forgotten passwords: a mailed link and code, a new password, every session and refresh token ended.

    PasswordReset(services).request(email, ip=ip)         # always the same answer to the person
    PasswordReset(services).complete(new_password, token=…)  # or email=…, code=…

No enumeration: `request` does the same work for every address (one
outbox row); the lookup and the message happen later, in the background
sender (`ResetRequests`), so neither the page nor its timing says whether
an account has the address. Requests are counted per address and
per client address with the login throttle; past its limit nothing is sent
(and the answer is still the same). The link and code work once, for
`password_reset_ttl`, and only the newest message's do. Completing it sets
the password (policy applied), ends every browser and console session and
revokes every refresh token of the user, in one transaction with the token's
use: a refused password leaves the link usable.

Audit: `password.reset_requested` (subject: the username), `password.reset`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from authgate import audit
from authgate.accounts.email_tokens import PASSWORD_RESET, ConsumedToken, EmailTokens
from authgate.accounts.throttle import account_key
from authgate.clock import utcnow
from authgate.errors import InvalidInput
from authgate.mail.addresses import checked_address
from authgate.outbox import Envelope, enqueue
from authgate.storage.models import BrowserSession, ConsoleSession, User

if TYPE_CHECKING:
    from authgate.services import Realm, Services

logger = logging.getLogger("authgate.accounts")
REQUESTED = "password.reset_requested"
RESET = "password.reset"
TEMPLATE = "password_reset"
REQUEST_KIND = "password_reset_request"  # an outbox kind: a request to look up, not a message


class ResetThrottled(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


class ResetRefused(Exception):
    """The link or code is unknown, used, or expired (one message for all three)."""


@dataclass(frozen=True)
class ResetDone:
    user_id: int
    username: str


def request_key(email: str) -> str:
    """The throttle's account key for reset requests to an address (distinct from login counters)."""
    return account_key(f"reset-request:{email}")


def code_key(email: str) -> str:
    return account_key(f"reset-code:{email}")


class PasswordReset:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings

    def request(self, raw_email: str, *, ip: str) -> bool:
        """Accept a request for `raw_email`: queue it (True), or drop it when throttled (False, never shown).

        The request itself only queues `REQUEST_KIND` in the outbox, the same
        one write for any address; `ResetRequests` (the outbox's deliverer for
        that kind) looks the address up later and queues the messages. So
        neither the answer nor its timing depends on whether an account has it.
        """
        email = checked_address(
            raw_email
        )  # InvalidInput: a form error (the syntax reveals nothing)
        throttle = self.services.throttle
        if throttle.check(request_key(email), ip).retry_after > 0:
            logger.info("password reset request for a throttled address/client; nothing sent")
            return False
        throttle.failed(request_key(email), ip)  # every request counts: the limit is on requests
        with self.services.database.transaction() as session:
            enqueue(
                session,
                kind=REQUEST_KIND,
                target=email,
                payload={"email": email, "ip": ip},
                secret={},
                sealer=self.services.mailer.sealer,
            )
        self.services.outbox.wake()
        return True

    def send_to_address(self, email: str, *, ip: str | None, actor: str = "self-service") -> int:
        """Queue a reset message to every enabled account with this address; returns how many."""
        with self.services.realm(actor=actor) as realm:
            users = realm.session.scalars(
                select(User).where(User.email == email, User.disabled.is_(False)).order_by(User.id)
            ).all()
            for user in users:
                self.send_to(realm.session, user, actor=actor, ip=ip)
        return len(users)

    def send_to(self, session: Session, user: User, *, actor: str, ip: str | None = None) -> None:
        """Issue a token and queue the message, in the caller's transaction (also used by admins)."""
        if user.email is None:
            raise InvalidInput(f"user {user.username} has no email address", field="email")
        issued = EmailTokens(session).issue(
            user_id=user.id,
            email=user.email,
            purpose=PASSWORD_RESET,
            ttl=self.settings.password_reset_ttl,
        )
        mailer = self.services.mailer
        mailer.queue(
            session,
            to=user.email,
            template=TEMPLATE,
            context=self._context(
                user.name or user.username,
                mailer.link(f"/password/reset?token={issued.token}"),
                issued.code,
            ),
        )
        audit.record(session, REQUESTED, actor=actor, subject=user.username, ip=ip)

    def _context(self, name: str, link: str, code: str) -> dict[str, object]:
        return {
            "name": name,
            "link": link,
            "code": code,
            "minutes": self.settings.password_reset_ttl // 60,
        }

    def link_is_usable(self, token: str) -> bool:
        with self.services.reader() as realm:
            return EmailTokens(realm.session).peek(PASSWORD_RESET, token) is not None

    def complete(
        self,
        new_password: str,
        *,
        token: str | None = None,
        email: str | None = None,
        code: str | None = None,
        ip: str,
    ) -> ResetDone:
        """Set the new password through a link's token or a typed code; `ResetRefused`, `ResetThrottled`,
        or `InvalidInput` (the password policy: nothing used, the link still works)."""
        if token is None:
            address = checked_address(email or "")
            standing = self.services.throttle.check(code_key(address), ip)
            if standing.retry_after > 0:
                raise ResetThrottled(max(1, int(standing.retry_after)))
        try:
            with self.services.realm(actor="password reset") as realm:
                tokens = EmailTokens(realm.session)
                used = (
                    tokens.consume(PASSWORD_RESET, token)
                    if token is not None
                    else tokens.consume_code(PASSWORD_RESET, address, code or "")
                )
                if used is None:
                    raise ResetRefused()
                return self._set(realm, used, new_password, ip)
        except ResetRefused:
            if token is None:
                self.services.throttle.failed(code_key(address), ip)
            raise

    def _set(self, realm: Realm, used: ConsumedToken, new_password: str, ip: str) -> ResetDone:
        user = realm.users.get_by_id(used.user_id)
        if user.disabled:
            raise ResetRefused()
        if not new_password:
            raise InvalidInput("Enter a new password.", field="password")
        realm.users.set_password(
            user.username, new_password
        )  # revokes every refresh token (users.py)
        realm.session.execute(delete(BrowserSession).where(BrowserSession.user_id == user.id))
        realm.session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        EmailTokens(realm.session, now=utcnow()).void(user_id=user.id, purpose=PASSWORD_RESET)
        audit.record(realm.session, RESET, actor=user.username, subject=user.username, ip=ip)
        return ResetDone(user.id, user.username)


class ResetRequests:
    """The outbox's deliverer for `REQUEST_KIND`: turns a queued request into the messages it calls for."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def deliver(self, envelope: Envelope) -> None:
        sent = PasswordReset(self.services).send_to_address(
            str(envelope.payload["email"]), ip=envelope.payload.get("ip")
        )
        if sent:
            self.services.outbox.wake()
