"""Console pages for email: the outbox, invitations, and sending a user a reset or verification message."""

from __future__ import annotations

from starlette.responses import Response

from authgate import outbox
from authgate.accounts.email_verification import EmailVerification
from authgate.accounts.invitations import Invitations
from authgate.accounts.password_reset import PasswordReset
from authgate.admin.console.users import href
from authgate.admin.console.view import Console
from authgate.errors import DomainError
from authgate.views import RoleView

PAGE_SIZE = 50


def mail_page(console: Console) -> Response:
    """The outbox (newest first, filtered by status) and the pending invitations, with the invite form."""
    status = console.value("status", 10)
    status = status if status in outbox.queue.STATUSES else ""
    with console.caller.reader() as realm:
        messages = outbox.list_messages(realm.session, status=status or None, limit=PAGE_SIZE)
        invitations = Invitations(console.services).pending(realm)
        roles = [RoleView.of(role) for role in realm.roles.list()]
    return console.render(
        "mail.html",
        {
            "messages": messages,
            "status": status,
            "statuses": outbox.queue.STATUSES,
            "invitations": invitations,
            "roles": roles,
            "href": href,
        },
    )


def invite(console: Console) -> Response:
    email = console.value("email", 400)
    try:
        with console.caller.realm() as realm:
            user = Invitations(console.services).invite(realm, email, roles=console.values("roles"))
            name = user.username
    except DomainError as error:
        return console.done("/admin/mail", f"Not invited: {error.message}", "error")
    console.services.outbox.wake()
    return console.done("/admin/mail", f"Invitation to {name} queued.")


def resend_invitation(console: Console) -> Response:
    username = console.path("username")
    try:
        with console.caller.realm() as realm:
            Invitations(console.services).resend(realm, username)
    except DomainError as error:
        return console.done("/admin/mail", error.message, "error")
    console.services.outbox.wake()
    return console.done("/admin/mail", f"Invitation to {username} sent again.")


def revoke_invitation(console: Console) -> Response:
    username = console.path("username")
    try:
        with console.caller.realm() as realm:
            Invitations(console.services).revoke(realm, username)
    except DomainError as error:
        return console.done("/admin/mail", error.message, "error")
    return console.done("/admin/mail", f"Invitation of {username} revoked.")


def send_reset(console: Console) -> Response:
    username = console.path("username")
    try:
        with console.caller.realm() as realm:
            PasswordReset(console.services).send_to(
                realm.session, realm.users.get(username), actor=console.caller.actor
            )
    except DomainError as error:
        return console.done(href(username), error.message, "error")
    console.services.outbox.wake()
    return console.done(href(username), "Password reset message queued.")


def send_verification(console: Console) -> Response:
    username = console.path("username")
    try:
        with console.caller.realm() as realm:
            EmailVerification(console.services).send(
                realm.session, realm.users.get(username), actor=console.caller.actor
            )
    except DomainError as error:
        return console.done(href(username), error.message, "error")
    console.services.outbox.wake()
    return console.done(href(username), "Verification message queued.")
