"""Invitations: an admin names an address (and roles); the person sets their own password from a mailed link.

Inviting creates the account at once (username: the address unless given;
no password, so nobody can log in to it yet) and mails a link and code that
work for `invitation_ttl`. Accepting sets the password (policy applied) and
marks the address verified (the message reached it). An invitation can be
resent (a new link; the old one stops working) or revoked (the link stops
working, and the account goes when nobody ever set its password).

Audit: `invitation.sent`, `invitation.accepted`, `invitation.revoked`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from authgate import audit
from authgate.accounts.email_tokens import INVITATION, EmailTokens
from authgate.accounts.throttle import account_key
from authgate.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from authgate.mail.addresses import checked_address
from authgate.storage.models import User

if TYPE_CHECKING:
    from authgate.services import Realm, Services

SENT = "invitation.sent"
ACCEPTED = "invitation.accepted"
REVOKED = "invitation.revoked"


class InvitationRefused(Exception):
    """The link or code is unknown, used, expired or revoked."""


class InvitationThrottled(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class PendingInvitation:
    username: str
    email: str
    expires_at: datetime


def code_key(email: str) -> str:
    return account_key(f"invitation-code:{email}")


class Invitations:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings

    def invite(
        self, realm: Realm, raw_email: str, *, roles: list[str], username: str | None = None
    ) -> User:
        """Create the account (no password) and queue the invitation, in the realm's transaction."""
        email = checked_address(raw_email)
        if realm.session.scalar(select(User.id).where(User.email == email).limit(1)) is not None:
            raise AlreadyExists("user with email", email)
        user = realm.users.create(username or email, email=email, roles=roles)
        self._send(realm, user)
        return user

    def resend(self, realm: Realm, username: str) -> User:
        user = self._invited(realm, username)
        self._send(realm, user)
        return user

    def revoke(self, realm: Realm, username: str) -> None:
        user = self._invited(realm, username)
        EmailTokens(realm.session).void(user_id=user.id, purpose=INVITATION)
        audit.record(
            realm.session, REVOKED, actor=realm.actor, subject=user.username, email=user.email
        )
        realm.users.delete(user.username)

    def pending(self, realm: Realm) -> list[PendingInvitation]:
        found = []
        for user_id, email, expires_at in EmailTokens(realm.session).pending(INVITATION):
            user = realm.session.get(User, user_id)
            if user is not None and user.password_hash is None:
                found.append(PendingInvitation(user.username, email, expires_at))
        return found

    def _invited(self, realm: Realm, username: str) -> User:
        user = realm.users.get(username)
        if user.password_hash is not None:
            raise Conflict(f"user {user.username} already accepted (or was not invited)")
        if user.email is None:
            raise InvalidInput(f"user {user.username} has no email address", field="email")
        return user

    def _send(self, realm: Realm, user: User) -> None:
        assert user.email is not None
        issued = EmailTokens(realm.session).issue(
            user_id=user.id, email=user.email, purpose=INVITATION, ttl=self.settings.invitation_ttl
        )
        mailer = self.services.mailer
        mailer.queue(
            realm.session,
            to=user.email,
            template="invitation",
            context={
                "inviter": realm.actor,
                "username": user.username,
                "code": issued.code,
                "link": mailer.link(f"/invitation?token={issued.token}"),
                "days": self.settings.invitation_ttl // 86400,
            },
        )
        audit.record(
            realm.session, SENT, actor=realm.actor, subject=user.username, email=user.email
        )

    def link_is_usable(self, token: str) -> str | None:
        """The invited username when the link works, else None."""
        with self.services.reader() as realm:
            peeked = EmailTokens(realm.session).peek(INVITATION, token)
            return realm.users.get_by_id(peeked.user_id).username if peeked is not None else None

    def accept(
        self,
        password: str,
        *,
        ip: str,
        token: str | None = None,
        email: str | None = None,
        code: str | None = None,
    ) -> str:
        """Set the invited person's password through the link or the code; returns the username."""
        address = None
        if token is None:
            address = checked_address(email or "")
            standing = self.services.throttle.check(code_key(address), ip)
            if standing.retry_after > 0:
                raise InvitationThrottled(max(1, int(standing.retry_after)))
        if not password:
            raise InvalidInput("Choose a password.", field="password")
        with self.services.realm(actor="invitation") as realm:
            tokens = EmailTokens(realm.session)
            used = (
                tokens.consume(INVITATION, token)
                if token is not None
                else tokens.consume_code(INVITATION, address or "", code or "")
            )
            if used is not None:
                try:
                    user = realm.users.get_by_id(used.user_id)
                except NotFound:
                    raise InvitationRefused() from None
                realm.users.set_password(user.username, password)
                user.email_verified = True
                audit.record(
                    realm.session, ACCEPTED, actor=user.username, subject=user.username, ip=ip
                )
                return user.username
        if address is not None:
            self.services.throttle.failed(code_key(address), ip)
        raise InvitationRefused()
