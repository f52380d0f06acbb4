"""Webhooks: events from the audit log, queued in the outbox with the change, signed per Standard Webhooks.

- `events`: the catalogue of event names, and which audit event is which.
- `subscriptions`: the webhooks themselves (URL, events, sealed secret): `realm.webhooks`.
- `fanout`: one outbox message per subscribed webhook, in the transaction of the audited change.
- `delivery`: the outbox deliverer of kind "webhook" (httpx, no redirects, signed, every attempt recorded).
"""

from authgate.webhooks.events import CATALOGUE, event_name

__all__ = ["CATALOGUE", "event_name"]
