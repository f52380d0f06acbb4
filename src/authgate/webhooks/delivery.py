"""Delivering one webhook message: sign it (Standard Webhooks), POST it, record the attempt.

The outbox (outbox/sender.py) claims the message and retries it with
backoff; this deliverer makes one attempt. The `webhook-id` is the outbox
message's id, the same on every attempt and on a manual redelivery, so a
receiver drops duplicates by it (delivery is at-least-once). A redirect is
never followed (the receiver's answer must come from the URL registered);
a 2xx answer is success, 410 Gone ends the retries, anything else is retried.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime

import httpx
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook as Signer

from authgate.clock import utcnow
from authgate.masterkey import MasterKey
from authgate.outbox.queue import Envelope
from authgate.outbox.sender import DeliveryFailed
from authgate.settings import Settings
from authgate.storage.database import Database
from authgate.storage.models import Webhook, WebhookAttempt
from authgate.webhooks.urls import AddressRefused, check_destination

USER_AGENT = "authgate-webhooks"


class WebhookDeliverer:
    def __init__(
        self,
        database: Database,
        master_key: MasterKey,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.database = database
        self.master_key = master_key
        self.timeout = settings.webhook_timeout
        self.allow_loopback = settings.webhook_reaches_loopback
        self.allow_private = bool(settings.webhook_allow_private_addresses)
        self.clock = clock
        self.transport = transport

    def deliver(self, envelope: Envelope) -> None:
        public_id = str(envelope.payload.get("webhook", ""))
        with self.database.reader() as session:
            webhook = session.scalar(select(Webhook).where(Webhook.public_id == public_id))
            if webhook is None:
                raise DeliveryFailed("the webhook was deleted", permanent=True)
            url, sealed = webhook.url, webhook.secret_sealed
        secret = self.master_key.decrypt(sealed, f"webhook:{public_id}").decode()
        body = json.dumps(envelope.payload.get("body", {}), separators=(",", ":"), sort_keys=True)
        started = time.monotonic()
        status, error = self._post(url, envelope.message_id, secret, body)
        self._record(envelope.message_id, public_id, status, error, started)
        if error is not None:
            raise DeliveryFailed(error, permanent=status == 410)

    def _post(self, url: str, message_id: str, secret: str, body: str) -> tuple[int | None, str | None]:
        try:
            check_destination(url, allow_loopback=self.allow_loopback, allow_private=self.allow_private)
        except AddressRefused as refused:
            return None, f"{refused} (AUTHGATE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES)"
        except OSError as error:
            return None, f"cannot resolve the host: {error.strerror or type(error).__name__}"
        sent_at = self.clock()
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Signer(secret).sign(message_id, sent_at, body),
        }
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False, transport=self.transport) as client:
                response = client.post(url, content=body.encode(), headers=headers)
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {str(error)[:200] or 'no answer'}"
        if response.is_success:
            return response.status_code, None
        if response.is_redirect:
            return response.status_code, f"HTTP {response.status_code}: redirect not followed"
        return response.status_code, f"HTTP {response.status_code}"

    def _record(self, message_id: str, public_id: str, status: int | None, error: str | None, started: float) -> None:
        with self.database.transaction() as session:
            session.add(WebhookAttempt(message_id=message_id, webhook_id=public_id, at=self.clock(), status_code=status,
                                       error=error[:500] if error else None,
                                       duration_ms=int((time.monotonic() - started) * 1000)))
