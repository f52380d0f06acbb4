"""/webhooks: where events are sent. A generated secret is shown once, on creation; never again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from annotated_types import Ge, Le
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from authgate.admin.auth import Admin, AdminRoute, requires
from authgate.admin.errors import CONFLICT, NOT_FOUND
from authgate.admin.schemas import DECIMAL, NOT_NULL, Body, Page
from authgate.storage import limits
from authgate.storage.models import Webhook
from authgate.webhooks import history
from authgate.webhooks.events import CATALOGUE
from authgate.webhooks.subscriptions import WebhookSpec

router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=AdminRoute)
READ, WRITE = requires("webhooks:read"), requires("webhooks:write")
WebhookId = Annotated[str, Path(min_length=1, max_length=limits.WEBHOOK_ID, pattern=r"^wh_[0-9a-f]{1,37}$")]
MessageId = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]
Url = Annotated[str, Field(min_length=1, max_length=limits.WEBHOOK_URL, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")]
EventName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z_]+\.[a-z_]+$")]
Events = Annotated[list[EventName], Field(min_length=1, max_length=len(CATALOGUE))]
WebhookDescription = Annotated[str, Field(max_length=limits.WEBHOOK_DESCRIPTION, pattern=r"^[^\x00-\x1f\x7f]*$")]
Secret = Annotated[str, Field(min_length=38, max_length=120, pattern=r"^whsec_[A-Za-z0-9+/=]+$")]
Limit = Annotated[int, Ge(1), Le(200), DECIMAL]


class WebhookCreate(Body):
    url: Url
    events: Events = Field(description="Event names (GET /webhooks/events lists them).")
    description: WebhookDescription | None = None
    secret: Secret | None = Field(None, description="A Standard Webhooks secret; omitted: one is generated.")


class WebhookChange(Body):
    url: Annotated[Url | None, NOT_NULL] = None
    events: Annotated[Events | None, NOT_NULL] = None
    description: WebhookDescription | None = None
    secret: Annotated[Secret | None, NOT_NULL] = Field(None, description="Replaces the signing secret.")


class WebhookView(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    created_at: datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookView:
        return cls(id=webhook.public_id, url=webhook.url, events=list(webhook.events), description=webhook.description,
                   created_at=webhook.created_at)


class WebhookCreated(WebhookView):
    secret: str | None = Field(description="The generated secret, shown only in this response; null when given.")


class AttemptView(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryView(BaseModel):
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt and redelivery.")
    event: str
    status: str
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    attempts: list[AttemptView]


class EventView(BaseModel):
    name: str
    description: str


@router.get("/events", openapi_extra=READ, summary="List the events a webhook can subscribe to")
def list_events(admin: Admin) -> list[EventView]:
    return [EventView(name=name, description=text) for name, text in CATALOGUE.items()]


@router.get("", openapi_extra=READ, summary="List webhooks")
def list_webhooks(admin: Admin) -> list[WebhookView]:
    with admin.reader() as realm:
        return [WebhookView.of(webhook) for webhook in realm.webhooks.list()]


@router.post("", openapi_extra=WRITE, status_code=201, responses=CONFLICT, summary="Create a webhook")
def create_webhook(admin: Admin, body: WebhookCreate) -> WebhookCreated:
    """Without a `secret`, one is generated and returned in this response only."""
    with admin.realm() as realm:
        webhook, secret = realm.webhooks.create(WebhookSpec(**body.model_dump()))
        return WebhookCreated(**WebhookView.of(webhook).model_dump(), secret=secret)


@router.get("/{webhook_id}", openapi_extra=READ, responses=NOT_FOUND, summary="Get a webhook")
def get_webhook(admin: Admin, webhook_id: WebhookId) -> WebhookView:
    with admin.reader() as realm:
        return WebhookView.of(realm.webhooks.get(webhook_id))


@router.patch("/{webhook_id}", openapi_extra=WRITE, responses={**NOT_FOUND, **CONFLICT}, summary="Change a webhook")
def change_webhook(admin: Admin, webhook_id: WebhookId, body: WebhookChange) -> WebhookView:
    """Only the fields present change; `events` replaces the list."""
    with admin.realm() as realm:
        current = realm.webhooks.get(webhook_id)
        wanted = {"url": current.url, "events": list(current.events), "description": current.description,
                  **body.model_dump(include=body.model_fields_set)}
        webhook, _ = realm.webhooks.update(webhook_id, WebhookSpec(**wanted))
        return WebhookView.of(webhook)


@router.delete("/{webhook_id}", openapi_extra=WRITE, status_code=204, responses=NOT_FOUND, summary="Delete a webhook")
def delete_webhook(admin: Admin, webhook_id: WebhookId) -> None:
    """Deliveries still queued for it fail (the webhook is gone)."""
    with admin.realm() as realm:
        realm.webhooks.delete(webhook_id)


@router.get("/{webhook_id}/deliveries", openapi_extra=READ, responses=NOT_FOUND, summary="A webhook's delivery history")
def list_deliveries(
    admin: Admin,
    webhook_id: WebhookId,
    before: Annotated[int | None, Query(
        ge=1, le=limits.OUTBOX_MESSAGE_ID, description="Cursor: older than this.")] = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[DeliveryView]:
    """Newest first, each with every attempt made (time, HTTP status or error, duration)."""
    with admin.reader() as realm:
        rows = history.deliveries(realm.session, realm.webhooks.get(webhook_id), before_id=before, limit=limit)
    items = [DeliveryView(message_id=row.message_id, event=row.event, status=row.status, created_at=row.created_at,
                          next_attempt_at=row.next_attempt_at, last_error=row.last_error,
                          attempts=[AttemptView(**vars(attempt)) for attempt in row.attempts]) for row in rows]
    return Page[DeliveryView](items=items, next_cursor=str(rows[-1].id) if len(rows) == limit else None)


@router.post("/{webhook_id}/deliveries/{message_id}/redeliver", openapi_extra=WRITE, status_code=202,
             responses=NOT_FOUND, summary="Send a delivery again")
def redeliver(admin: Admin, webhook_id: WebhookId, message_id: MessageId) -> None:
    """Queued now with a fresh series of retries and the same `webhook-id`."""
    with admin.realm() as realm:
        history.redeliver(realm.session, realm.webhooks.get(webhook_id), message_id)
        realm.changed("webhook.redelivered", webhook_id, message_id=message_id)
    admin.services.outbox.wake()
