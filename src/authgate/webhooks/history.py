"""A webhook's deliveries and their attempts (what the console shows), and manual redelivery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from authgate.clock import aware, utcnow
from authgate.errors import NotFound
from authgate.storage import limits
from authgate.storage.models import OutboxMessage, Webhook, WebhookAttempt
from authgate.webhooks.fanout import KIND


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class Delivery:
    """One event sent to one webhook: the outbox message, and each attempt made at it."""

    id: int
    message_id: str  # the `webhook-id` header
    event: str
    status: str  # pending | sent | failed
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    attempts: Sequence[Attempt]


def _of_webhook(webhook: Webhook) -> ColumnElement[bool]:
    # A webhook's messages go to its URL (the outbox's target); URLs are unique among webhooks.
    return and_(OutboxMessage.kind == KIND, OutboxMessage.target == webhook.url)


def deliveries(session: Session, webhook: Webhook, *, before_id: int | None = None, limit: int = 50) -> list[Delivery]:
    """Newest first, keyset-paginated by id."""
    statement = select(OutboxMessage).where(_of_webhook(webhook)).order_by(OutboxMessage.id.desc()).limit(limit)
    if before_id is not None:
        statement = statement.where(OutboxMessage.id < before_id)
    messages = session.scalars(statement).all()
    attempts: dict[str, list[Attempt]] = {}
    if messages:
        rows = session.scalars(select(WebhookAttempt)
                               .where(WebhookAttempt.message_id.in_([message.message_id for message in messages]))
                               .order_by(WebhookAttempt.id))
        for row in rows:
            attempts.setdefault(row.message_id, []).append(
                Attempt(aware(row.at), row.status_code, row.error, row.duration_ms))
    return [Delivery(
        id=message.id, message_id=message.message_id, event=str(message.payload.get("event", "")),
        status=message.status, created_at=aware(message.created_at),
        next_attempt_at=aware(message.next_attempt_at) if message.status == "pending" else None,
        last_error=message.last_error, attempts=attempts.get(message.message_id, []),
    ) for message in messages]


def redeliver(session: Session, webhook: Webhook, message_id: str, *, now: datetime | None = None) -> None:
    """Send a delivery again, now, with a fresh series of attempts and the same `webhook-id` (receivers may
    have it already: they drop the duplicate). NotFound unless the message is one of this webhook's."""
    if not limits.is_storable(message_id, 64):
        raise NotFound("delivery", message_id)
    done = session.execute(
        update(OutboxMessage).where(OutboxMessage.message_id == message_id, _of_webhook(webhook))
        .values(status="pending", attempts=0, next_attempt_at=now or utcnow(), last_error=None)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound("delivery", message_id)
