"""Queue an event for every webhook subscribed to it, in the transaction of the audited change.

`audit.record` calls `queue_event` for each event it writes: the outbox rows
commit with the change and its audit record, or not at all (the outbox
pattern), so no event is sent for a change that rolled back and none is
lost for one that committed. An audit event that is no webhook event costs
nothing; one that is costs one read of the (small) webhooks table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from authgate.clock import utcnow
from authgate.outbox.queue import enqueue
from authgate.storage.models import Webhook
from authgate.webhooks.events import event_name

KIND = "webhook"


def queue_event(
    session: Session,
    audit_type: str,
    *,
    subject: str | None,
    actor: str | None = None,
    client_id: str | None = None,
    ip: str | None = None,
    outcome: str = "success",
    detail: Mapping[str, Any],
    now: datetime | None = None,
) -> int:
    """Queue the webhook event this audit event is, once per subscribed webhook; returns how many were queued."""
    name = event_name(audit_type, detail)
    if name is None:
        return 0
    subscribers = _subscribers(session, name)
    if not subscribers:
        return 0
    at = now or utcnow()
    data = {"subject": subject, "actor": actor, "client_id": client_id, "ip": ip, "outcome": outcome,
            **{key: value for key, value in detail.items() if key != "change"}}
    # Standard Webhooks' recommended payload shape: type, timestamp, data.
    body = {"type": name, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data}
    headline = f"{name} {subject or ''}".strip()
    for public_id, url in subscribers:
        enqueue(session, kind=KIND, target=url, now=at,
                payload={"webhook": public_id, "event": name, "subject": headline, "body": body})
    return len(subscribers)


def has_subscribers(session: Session, event: str) -> bool:
    return bool(_subscribers(session, event))


def _subscribers(session: Session, event: str) -> list[tuple[str, str]]:
    """(public id, URL) of each webhook subscribed to `event`; the table is small, the filter is Python's."""
    rows = session.execute(select(Webhook.public_id, Webhook.url, Webhook.events).order_by(Webhook.id))
    return [(public_id, url) for public_id, url, events in rows if event in events]
