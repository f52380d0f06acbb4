"""The transactional outbox: messages queued with the change that causes them, delivered later.

    outbox.enqueue(session, kind="mail", target=address, payload={...}, secret={...}, sealer=sealer)

in the same transaction as the change; an `OutboxSender` (started and
stopped by the app's lifespan) claims due rows, hands each to the
`Deliverer` registered for its `kind`, and marks it sent, or schedules a
retry with exponential backoff, or after `outbox_max_attempts` marks it
failed (with the reason, in the audit log as `mail.failed` / `<kind>.failed`).
Delivery is at-least-once: a process that dies between sending and marking
leaves the row to be sent again after its lease; each row's `message_id` is
stable so receivers can drop the duplicate.
"""

from authgate.outbox.queue import Envelope, OutboxView, Sealer, enqueue, get_message, list_messages
from authgate.outbox.sender import Deliverer, DeliveryFailed, OutboxSender, RetryPolicy

__all__ = [
    "Deliverer",
    "DeliveryFailed",
    "Envelope",
    "OutboxSender",
    "OutboxView",
    "RetryPolicy",
    "Sealer",
    "enqueue",
    "get_message",
    "list_messages",
]
