"""The audit log: every security-relevant event, written in the caller's transaction.

Events that must survive a rolled-back transaction (a failed login) are
written with `record_now`, in a transaction of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from authgate.storage import limits
from authgate.storage.database import Database
from authgate.storage.models import AuditEvent

# `Session.info` key of the callables that follow every event recorded in that session's transaction
# (`follower(session, type, subject=…, actor=…, client_id=…, ip=…, outcome=…, detail=…)`): the webhooks'
# fan-out, wired by services.py through `Database.session_info`, so this module imports none of them.
FOLLOWERS = "authgate.audit.followers"

# The event types, so that filters and dashboards have a fixed vocabulary.
LOGIN_SUCCEEDED = "login.succeeded"
LOGIN_FAILED = "login.failed"
ACCOUNT_LOCKED = "account.locked"
ACCOUNT_UNLOCKED = "account.unlocked"
ADDRESS_BLOCKED = "address.blocked"
TOKEN_ISSUED = "token.issued"
REFRESH_REUSED = "refresh_token.reused"
TOKEN_REVOKED = "token.revoked"
CODE_REUSED = "authorization_code.reused"
LOGOUT = "logout"
ADMIN_CHANGE = "admin.change"
KEY_ROTATED = "signing_key.rotated"
PASSWORD_CHANGED = "password.changed"  # by the person themself (an admin setting one is an admin.change)
PASSKEY_REGISTERED = "passkey.registered"
PASSKEY_RENAMED = "passkey.renamed"
PASSKEY_USED = "passkey.used"
PASSKEY_REMOVED = "passkey.removed"
PASSKEY_REFUSED = "passkey.refused"  # a ceremony that failed verification: origin, RP ID, counter, unknown key…
# Signing in with another identity provider (federation/): the login, a user created at a first login,
# an upstream identity linked to or unlinked from a user, and the provider refusing or failing a check.
FEDERATED_LOGIN = "federation.login"
FEDERATED_USER_CREATED = "federation.user_created"
FEDERATED_LINKED = "federation.linked"
FEDERATED_UNLINKED = "federation.unlinked"
FEDERATED_REFUSED = "federation.refused"
FACTOR_ENROLLED = "factor.enrolled"
FACTOR_USED = "factor.used"
FACTOR_FAILED = "factor.failed"
FACTOR_RENAMED = "factor.renamed"
FACTOR_REMOVED = "factor.removed"  # by the person, or by an admin (actor user:NAME)
RECOVERY_CODE_USED = "recovery_code.used"
RECOVERY_CODES_REGENERATED = "recovery_codes.regenerated"
MAINTENANCE_PURGED = "maintenance.purged"  # `authgate purge`: what was deleted, per kind (not a webhook event)


def record(
    session: Session,
    type: str,
    *,
    actor: str | None = None,
    subject: str | None = None,
    client_id: str | None = None,
    ip: str | None = None,
    outcome: str = "success",
    **detail: Any,
) -> AuditEvent:
    # Never lost for a value that does not fit: an identifier may be longer than the subject
    # column (an API's is 400), and whatever reaches here is cut to fit rather than refused.
    event = AuditEvent(
        type=type, actor=limits.fit(actor, limits.AUDIT_ACTOR),
        subject=limits.fit(subject, limits.AUDIT_SUBJECT),
        client_id=limits.fit(client_id, limits.AUDIT_CLIENT_ID),
        ip=limits.fit(ip, limits.IP_ADDRESS), outcome=outcome, detail=detail,
    )
    session.add(event)
    # Followers (the webhooks' fan-out) write in the same transaction: they commit with the event or not at all.
    for follower in session.info.get(FOLLOWERS, ()):
        follower(session, type, subject=event.subject, actor=event.actor, client_id=event.client_id,
                 ip=event.ip, outcome=outcome, detail=detail)
    return event


def record_now(database: Database, type: str, **fields: Any) -> None:
    with database.transaction() as session:
        record(session, type, **fields)


def query(
    session: Session,
    *,
    since: datetime | None = None,
    subject: str | None = None,
    user: str | None = None,
    role: str | None = None,
    type_prefix: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[AuditEvent]:
    """Newest first, keyset-paginated by id.

    `subject` matches whatever the event is about; `user` only events about that user or done by them
    (not a role or client that shares the name); `role` only admin changes to that role.
    """
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if since is not None:
        statement = statement.where(AuditEvent.at >= since)
    if subject is not None:
        statement = statement.where(AuditEvent.subject == subject)
    if user is not None:
        statement = statement.where(_about_user(user))
    if role is not None:
        statement = statement.where(_admin_change_of("role.", role))
    if type_prefix is not None:
        statement = statement.where(AuditEvent.type.startswith(type_prefix, autoescape=True))
    if before_id is not None:
        statement = statement.where(AuditEvent.id < before_id)
    return session.scalars(statement).all()


def _change_kind() -> ColumnElement[str]:
    change: ColumnElement[str] = AuditEvent.detail["change"].as_string()
    return change


def _admin_change_of(kind: str, name: str) -> ColumnElement[bool]:
    """An admin change of `kind` (`user.`, `role.` …: `Realm.changed` prefixes what it changed) to `name`."""
    return and_(AuditEvent.type == ADMIN_CHANGE, AuditEvent.subject == name,
                _change_kind().startswith(kind, autoescape=True))


def _about_user(username: str) -> ColumnElement[bool]:
    """Events whose subject is the user (admin changes only when they changed a user), or whose actor is:
    the console and admin API name an admin `user:NAME`, the hosted pages the person by name."""
    about = and_(AuditEvent.subject == username,
                 or_(AuditEvent.type != ADMIN_CHANGE, _change_kind().startswith("user.", autoescape=True)))
    return or_(about, AuditEvent.actor == username, AuditEvent.actor == f"user:{username}")


def detail_lines(detail: Mapping[str, Any]) -> list[str]:
    """An event's details as people read them, one `key: value` per line (the admin API keeps the JSON)."""
    return [f"{key.replace('_', ' ')}: {_readable(value)}" for key, value in detail.items()]


def _readable(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {_readable(item)}" for key, item in value.items()) or "—"
    if isinstance(value, list | tuple | set):
        return ", ".join(_readable(item) for item in value) or "—"
    return str(value)
