"""Proving an email address: a mailed link and code; confirming sets `email_verified` (OIDC Core §5.1).

Sent on self-registration, when an admin creates a user with an address
(unless marked verified), and for a change of address: the new address gets
the link, the old one is told, and the old one stays the account's address
until the new one is confirmed. Confirming makes the token's address the
user's, verified. Audit: `email.verification_sent`, `email.change_requested`,
`email.verified`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from authgate import audit
from authgate.accounts.email_tokens import VERIFY_EMAIL, EmailTokens
from authgate.accounts.throttle import account_key
from authgate.errors import InvalidInput
from authgate.mail.addresses import checked_address
from authgate.storage.models import User

if TYPE_CHECKING:
    from authgate.services import Services

SENT = "email.verification_sent"
CHANGE_REQUESTED = "email.change_requested"
VERIFIED = "email.verified"


class VerificationRefused(Exception):
    """The link or code is unknown, used, or expired."""


class VerificationThrottled(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Verified:
    username: str
    email: str


def code_key(email: str) -> str:
    return account_key(f"verify-code:{email}")


class EmailVerification:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings

    def send(self, session: Session, user: User, *, actor: str, email: str | None = None) -> None:
        """Queue a verification message for `email` (default: the user's address), in the caller's transaction."""
        address = email or user.email
        if address is None:
            raise InvalidInput(f"user {user.username} has no email address", field="email")
        issued = EmailTokens(session).issue(
            user_id=user.id,
            email=address,
            purpose=VERIFY_EMAIL,
            ttl=self.settings.email_verification_ttl,
        )
        mailer = self.services.mailer
        mailer.queue(
            session,
            to=address,
            template="verify_email",
            context={
                "name": user.name or user.username,
                "link": mailer.link(f"/email/verify?token={issued.token}"),
                "code": issued.code,
                "hours": self.settings.email_verification_ttl // 3600,
            },
        )
        audit.record(session, SENT, actor=actor, subject=user.username, email=address)

    def request_change(self, session: Session, user: User, raw_email: str, *, actor: str) -> str:
        """Send the link to the new address and a notice to the old one; the address changes when confirmed."""
        new = checked_address(raw_email)
        if new == user.email and user.email_verified:
            raise InvalidInput("That is already your confirmed address.", field="email")
        self.send(session, user, actor=actor, email=new)
        if user.email and user.email != new:
            self.services.mailer.queue(
                session,
                to=user.email,
                template="email_changed",
                context={"name": user.name or user.username, "new_email": new},
            )
        audit.record(session, CHANGE_REQUESTED, actor=actor, subject=user.username, email=new)
        return new

    def link_is_usable(self, token: str) -> bool:
        with self.services.reader() as realm:
            return EmailTokens(realm.session).peek(VERIFY_EMAIL, token) is not None

    def confirm(
        self,
        *,
        ip: str,
        token: str | None = None,
        email: str | None = None,
        code: str | None = None,
    ) -> Verified:
        """Use a link's token or a typed code: the address becomes the user's, verified."""
        address = None
        if token is None:
            address = checked_address(email or "")
            standing = self.services.throttle.check(code_key(address), ip)
            if standing.retry_after > 0:
                raise VerificationThrottled(max(1, int(standing.retry_after)))
        with self.services.realm(actor="email verification") as realm:
            tokens = EmailTokens(realm.session)
            used = (
                tokens.consume(VERIFY_EMAIL, token)
                if token is not None
                else tokens.consume_code(VERIFY_EMAIL, address or "", code or "")
            )
            if used is not None:
                user = realm.users.get_by_id(used.user_id)
                user.email, user.email_verified = used.email, True
                audit.record(
                    realm.session,
                    VERIFIED,
                    actor=user.username,
                    subject=user.username,
                    ip=ip,
                    email=used.email,
                )
                return Verified(user.username, used.email)
        if address is not None:
            self.services.throttle.failed(code_key(address), ip)
        raise VerificationRefused()
