"""The audit log: every security-relevant event, written in the caller's transaction.

Events that must survive a rolled-back transaction (a failed login) are
written with `record_now`, in a transaction of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from authgate.storage import limits
from authgate.storage.database import Database
from authgate.storage.models import AuditEvent

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
    return event


def record_now(database: Database, type: str, **fields: Any) -> None:
    with database.transaction() as session:
        record(session, type, **fields)


def query(
    session: Session,
    *,
    since: datetime | None = None,
    subject: str | None = None,
    type_prefix: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[AuditEvent]:
    """Newest first, keyset-paginated by id."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if since is not None:
        statement = statement.where(AuditEvent.at >= since)
    if subject is not None:
        statement = statement.where(AuditEvent.subject == subject)
    if type_prefix is not None:
        statement = statement.where(AuditEvent.type.startswith(type_prefix, autoescape=True))
    if before_id is not None:
        statement = statement.where(AuditEvent.id < before_id)
    return session.scalars(statement).all()
