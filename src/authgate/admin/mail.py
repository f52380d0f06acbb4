"""Email administration: the outbox, password resets, verification messages, invitations.

Every operation that sends queues its message in the same transaction as
its audit record; the background sender delivers it (202: accepted, not yet
delivered). The outbox is listed without its sealed bodies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from annotated_types import Ge, Le
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from authgate import outbox
from authgate.accounts.email_verification import EmailVerification
from authgate.accounts.invitations import Invitations
from authgate.accounts.password_reset import PasswordReset
from authgate.admin.auth import Admin, AdminRoute, requires
from authgate.admin.errors import CONFLICT, NOT_FOUND
from authgate.admin.schemas import DECIMAL, Body, Email, Page, RoleName, Username
from authgate.errors import NotFound
from authgate.storage import limits
from authgate.views import UserView

router = APIRouter(tags=["email"], route_class=AdminRoute)
READ, WRITE = requires("users:read"), requires("users:write")
UsernameIn = Annotated[Username, Path(description="Compared case-insensitively.")]
Limit = Annotated[int, Ge(1), Le(500), DECIMAL]
MessageId = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]


class OutboxMessageView(BaseModel):
    """A queued message as admins see it: where it goes and how delivery went (never its body)."""

    message_id: str
    kind: str
    target: str
    subject: str | None
    status: Literal["pending", "sent", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, view: outbox.OutboxView) -> OutboxMessageView:
        return cls.model_validate(view, from_attributes=True)


class InvitationCreate(Body):
    email: Email
    roles: list[RoleName] = Field(default_factory=list, max_length=100)
    username: Username | None = Field(None, description="Default: the email address.")


class InvitationView(BaseModel):
    username: str
    email: str
    expires_at: datetime


@router.get("/outbox", openapi_extra=READ, summary="List queued, sent and failed messages")
def list_outbox(
    admin: Admin,
    status: Annotated[Literal["pending", "sent", "failed"] | None, Query()] = None,
    before: Annotated[
        int | None, Query(ge=1, le=limits.OUTBOX_MESSAGE_ID, description="Cursor: messages older than this.")
    ] = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[OutboxMessageView]:
    """Newest first."""
    with admin.reader() as realm:
        rows = outbox.list_messages(realm.session, status=status, before_id=before, limit=limit)
    items = [OutboxMessageView.of(row) for row in rows]
    return Page[OutboxMessageView](
        items=items, next_cursor=str(rows[-1].id) if len(rows) == limit else None
    )


@router.get(
    "/outbox/{message_id}",
    openapi_extra=READ,
    responses=NOT_FOUND,
    summary="Get one message's delivery state",
)
def get_outbox_message(admin: Admin, message_id: MessageId) -> OutboxMessageView:
    with admin.reader() as realm:
        found = outbox.get_message(realm.session, message_id)
    if found is None:
        raise NotFound("message", message_id)
    return OutboxMessageView.of(found)


@router.post(
    "/users/{username}/password-reset",
    openapi_extra=WRITE,
    status_code=202,
    responses=NOT_FOUND,
    summary="Send a user a password reset message",
)
def send_reset(admin: Admin, username: UsernameIn) -> None:
    """422 when the user has no email address."""
    with admin.realm() as realm:
        PasswordReset(admin.services).send_to(
            realm.session, realm.users.get(username), actor=admin.actor
        )
    admin.services.outbox.wake()


@router.post(
    "/users/{username}/verification",
    openapi_extra=WRITE,
    status_code=202,
    responses=NOT_FOUND,
    summary="Send a user a new email verification message",
)
def send_verification(admin: Admin, username: UsernameIn) -> None:
    with admin.realm() as realm:
        EmailVerification(admin.services).send(
            realm.session, realm.users.get(username), actor=admin.actor
        )
    admin.services.outbox.wake()


@router.post(
    "/invitations",
    openapi_extra=WRITE,
    status_code=201,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Invite a person by email",
)
def invite(admin: Admin, body: InvitationCreate) -> UserView:
    """Creates the account without a password and mails the person a link to choose one.
    409 when an account has this address or username; 404 names a role that does not exist."""
    with admin.realm() as realm:
        view = UserView.of(
            Invitations(admin.services).invite(
                realm, body.email, roles=body.roles, username=body.username
            )
        )
    admin.services.outbox.wake()
    return view


@router.get("/invitations", openapi_extra=READ, summary="List pending invitations")
def list_invitations(admin: Admin) -> list[InvitationView]:
    with admin.reader() as realm:
        return [
            InvitationView(username=i.username, email=i.email, expires_at=i.expires_at)
            for i in Invitations(admin.services).pending(realm)
        ]


@router.post(
    "/invitations/{username}/resend",
    openapi_extra=WRITE,
    status_code=202,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Send an invitation again (the old link stops working)",
)
def resend_invitation(admin: Admin, username: UsernameIn) -> None:
    with admin.realm() as realm:
        Invitations(admin.services).resend(realm, username)
    admin.services.outbox.wake()


@router.delete(
    "/invitations/{username}",
    openapi_extra=WRITE,
    status_code=204,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Revoke an invitation (the invited account goes too)",
)
def revoke_invitation(admin: Admin, username: UsernameIn) -> None:
    with admin.realm() as realm:
        Invitations(admin.services).revoke(realm, username)
