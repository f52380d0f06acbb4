"""Queueing a message in the caller's transaction, and reading the queue for the admin's views."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from authgate.clock import aware, utcnow
from authgate.masterkey import MasterKey
from authgate.storage.models import OutboxMessage

STATUSES = ("pending", "sent", "failed")


class Sealer:
    """Encrypts the secret part of a message (its body: links, codes) with the master key, bound to the message."""

    def __init__(self, master: MasterKey) -> None:
        self._master = master

    def seal(self, message_id: str, secret: dict[str, Any]) -> bytes:
        return self._master.encrypt(json.dumps(secret).encode(), _context(message_id))

    def open(self, message_id: str, sealed: bytes | None) -> dict[str, Any]:
        if sealed is None:
            return {}
        value: dict[str, Any] = json.loads(self._master.decrypt(sealed, _context(message_id)))
        return value


def _context(message_id: str) -> str:
    return f"outbox:{message_id}"


@dataclass(frozen=True)
class Envelope:
    """One message as a deliverer sees it: the stored row, its secret part opened."""

    id: int
    message_id: str
    kind: str
    target: str
    payload: dict[str, Any]
    secret: dict[str, Any]
    attempt: int  # 1 for the first attempt


@dataclass(frozen=True)
class OutboxView:
    """One message as the admin API, console and CLI show it (never the sealed part)."""

    id: int
    message_id: str
    kind: str
    target: str
    subject: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def enqueue(
    session: Session,
    *,
    kind: str,
    target: str,
    payload: dict[str, Any],
    secret: dict[str, Any] | None = None,
    sealer: Sealer | None = None,
    now: datetime | None = None,
) -> str:
    """Queue one message in the caller's transaction (it is sent only if that commits); returns its message_id.

    `secret` (sealed by `sealer`) is for what must not sit in the clear; a message with none has no sealed part.
    """
    if (secret is None) != (sealer is None):
        raise ValueError("a secret part needs a sealer, and a sealer a secret part")
    message_id = uuid.uuid4().hex
    session.add(
        OutboxMessage(
            message_id=message_id,
            kind=kind,
            target=target[:400],
            payload=payload,
            sealed=sealer.seal(message_id, secret) if sealer is not None and secret is not None else None,
            status="pending",
            attempts=0,
            next_attempt_at=now or utcnow(),
        )
    )
    return message_id


def list_messages(
    session: Session,
    *,
    status: str | None = None,
    target: str | None = None,
    before_id: int | None = None,
    limit: int | None = 50,
) -> Sequence[OutboxView]:
    """Newest first, keyset-paginated by id."""
    statement = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        statement = statement.where(OutboxMessage.status == status)
    if target is not None:
        statement = statement.where(OutboxMessage.target == target)
    if before_id is not None:
        statement = statement.where(OutboxMessage.id < before_id)
    return [_view(row) for row in session.scalars(statement)]


def get_message(session: Session, message_id: str) -> OutboxView | None:
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == message_id))
    return _view(row) if row is not None else None


def _view(row: OutboxMessage) -> OutboxView:
    subject = row.payload.get("subject") if isinstance(row.payload, dict) else None
    return OutboxView(
        id=row.id,
        message_id=row.message_id,
        kind=row.kind,
        target=row.target,
        subject=subject,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=aware(row.next_attempt_at) if row.status == "pending" else None,
        last_error=row.last_error,
        created_at=aware(row.created_at),
        sent_at=aware(row.sent_at) if row.sent_at else None,
    )


def purge_finished(session: Session, *, older_than: datetime) -> int:
    """Delete the messages sent, or failed for good, before `older_than`; returns how many. Pending ones stay.

    A sent message is dated by when it was sent; a failed one (which records no end) by when it was queued.
    """
    finished_at = func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at)
    purged = session.execute(
        delete(OutboxMessage).where(OutboxMessage.status.in_(("sent", "failed")), finished_at < older_than)
        .execution_options(synchronize_session=False))
    return int(purged.rowcount)  # type: ignore[attr-defined]
