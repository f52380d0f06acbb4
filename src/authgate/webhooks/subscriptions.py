"""The webhooks: where events go, which events, and the secret that signs them.

The secret is a Standard Webhooks secret (`whsec_` + base64 of 24–64 random
bytes), encrypted at rest with the master key and bound to the webhook's id;
it is shown once, when generated, and never again (the realm export carries
it only with `--include-secrets`).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from authgate import text
from authgate.errors import AlreadyExists, InvalidInput, NotFound
from authgate.masterkey import MasterKey, MasterKeyError
from authgate.storage import limits
from authgate.storage.models import Webhook
from authgate.webhooks.events import CATALOGUE
from authgate.webhooks.urls import validate_webhook_url

if TYPE_CHECKING:
    from authgate.services import Realm

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
_SECRET_RANGE = (24, 64)  # bytes: at least 192 bits (Standard Webhooks: 24 to 64)


@dataclass(frozen=True)
class WebhookSpec:
    url: str
    events: Sequence[str]
    description: str | None = None
    secret: str | None = None


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def validate_secret(secret: str) -> str:
    """A `whsec_…` secret whose key is 24 to 64 bytes of base64."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 120:
        raise InvalidInput("secret must be whsec_ followed by base64 (omit it to have one generated)", field="secret")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("secret must be whsec_ followed by base64", field="secret") from None
    if not _SECRET_RANGE[0] <= len(key) <= _SECRET_RANGE[1]:
        raise InvalidInput("secret must hold 24 to 64 bytes of key (base64)", field="secret")
    return secret


def validate_events(events: Sequence[str]) -> list[str]:
    """Known event names, each once, sorted (the stored and exported order)."""
    if not events:
        raise InvalidInput("events must name at least one event", field="events")
    unknown = [event for event in events if event not in CATALOGUE]
    if unknown:
        raise InvalidInput(f"unknown event {text.shown(unknown[0])!r}; known: {', '.join(CATALOGUE)}", field="events")
    return sorted(set(events))


class WebhookService:
    def __init__(self, realm: Realm, master_key: Callable[[], MasterKey] | None) -> None:
        """`master_key` is asked for only when a secret is sealed or opened (listing needs none)."""
        self.realm = realm
        self.session = realm.session
        self.master_key = master_key

    def list(self) -> Sequence[Webhook]:
        return self.session.scalars(select(Webhook).order_by(Webhook.url)).all()

    def find(self, public_id: str) -> Webhook | None:
        if not limits.is_storable(public_id, limits.WEBHOOK_ID):
            return None
        return self.session.scalar(select(Webhook).where(Webhook.public_id == public_id))

    def find_by_url(self, url: str) -> Webhook | None:
        if not limits.is_storable(url, limits.WEBHOOK_URL):
            return None
        return self.session.scalar(select(Webhook).where(Webhook.url == url))

    def get(self, public_id: str) -> Webhook:
        webhook = self.find(public_id)
        if webhook is None:
            raise NotFound("webhook", public_id)
        return webhook

    def create(self, spec: WebhookSpec) -> tuple[Webhook, str | None]:
        """Create a webhook; returns it and, when the secret was generated, the secret (shown once)."""
        url = validate_webhook_url(spec.url)
        if self.find_by_url(url) is not None:
            raise AlreadyExists("webhook", url)
        generated = new_secret() if spec.secret is None else None
        webhook = Webhook(public_id="wh_" + secrets.token_hex(12), url=url, events=validate_events(spec.events),
                          description=text.checked(spec.description, limits.WEBHOOK_DESCRIPTION,
                                                   field="description", what="Description"))
        webhook.secret_sealed = self._seal(webhook.public_id, generated or validate_secret(spec.secret or ""))
        self.session.add(webhook)
        self.session.flush()
        self.realm.changed("webhook.created", webhook.public_id, url=url, events=webhook.events)
        return webhook, generated

    def update(self, public_id: str, spec: WebhookSpec) -> tuple[Webhook, bool]:
        """Make a webhook match `spec` (its secret only when `spec` gives one); returns it and whether it changed."""
        webhook = self.get(public_id)
        url = validate_webhook_url(spec.url)
        other = self.find_by_url(url)
        if other is not None and other.id != webhook.id:
            raise AlreadyExists("webhook", url)
        events = validate_events(spec.events)
        description = text.checked(
            spec.description, limits.WEBHOOK_DESCRIPTION, field="description", what="Description"
        )
        changed = (webhook.url, webhook.events, webhook.description) != (url, events, description)
        webhook.url, webhook.events, webhook.description = url, events, description
        if spec.secret is not None and validate_secret(spec.secret) != self.secret_of(webhook):
            webhook.secret_sealed = self._seal(webhook.public_id, spec.secret)
            changed = True
        if changed:
            self.realm.changed("webhook.updated", public_id, url=url, events=events)
        return webhook, changed

    def delete(self, public_id: str) -> None:
        webhook = self.get(public_id)
        self.session.delete(webhook)
        self.realm.changed("webhook.deleted", public_id, url=webhook.url)

    def secret_of(self, webhook: Webhook) -> str:
        return self._key().decrypt(webhook.secret_sealed, _context(webhook.public_id)).decode()

    def _seal(self, public_id: str, secret: str) -> bytes:
        return self._key().encrypt(secret.encode(), _context(public_id))

    def _key(self) -> MasterKey:
        if self.master_key is None:
            raise MasterKeyError("webhook secrets need the master key, which this session was not given")
        return self.master_key()


def _context(public_id: str) -> str:
    return f"webhook:{public_id}"
