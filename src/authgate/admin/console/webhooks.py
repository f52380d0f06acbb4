"""Console pages for webhooks: list, create (a generated secret shown once), delivery history, redelivery, delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from authgate.admin.console.forms import optional, problem_of, read
from authgate.admin.console.view import Console
from authgate.admin.webhooks import WebhookCreate, WebhookView
from authgate.errors import DomainError, NotFound
from authgate.webhooks import history
from authgate.webhooks.events import CATALOGUE
from authgate.webhooks.subscriptions import WebhookSpec


def href(webhook_id: str, suffix: str = "") -> str:
    return f"/admin/webhooks/{quote(webhook_id, safe='')}{suffix}"


def webhook_list(console: Console) -> Response:
    with console.caller.reader() as realm:
        webhooks = [WebhookView.of(webhook) for webhook in realm.webhooks.list()]
    return console.render("webhooks.html", {"webhooks": webhooks, "href": href})


def _form(console: Console, values: dict[str, Any], problems: dict[str, str], status: int = 200) -> Response:
    return console.render("webhook_new.html", {"values": values, "problems": problems, "catalogue": CATALOGUE},
                          status=status)


def new_webhook(console: Console) -> Response:
    return _form(console, {"url": "", "events": [], "description": ""}, {})


def create_webhook(console: Console) -> Response:
    values = {"url": console.value("url", 1000).strip(), "events": console.values("events"),
              "description": optional(console.value("description", 1000)),
              "secret": optional(console.value("secret", 200))}
    body, problems = read(WebhookCreate, values)
    if body is None:
        return _form(console, values, problems, 422)
    try:
        with console.caller.realm() as realm:
            webhook, secret = realm.webhooks.create(WebhookSpec(**body.model_dump()))
            view = WebhookView.of(webhook)
    except DomainError as error:
        return _form(console, values, problem_of(error), 422)
    # The secret is on this response only: never in a flash message, never shown again.
    return console.render("webhook_secret.html", {"webhook": view, "secret": secret, "href": href}, status=201)


def webhook_detail(console: Console) -> Response:
    """The webhook and its delivery history: each delivery with every attempt (time, HTTP status or error)."""
    before = console.number("before", 2**31 - 1)
    with console.caller.reader() as realm:
        webhook = realm.webhooks.get(console.path("webhook_id"))
        deliveries = history.deliveries(realm.session, webhook, before_id=before, limit=PAGE)
        view = WebhookView.of(webhook)
    older = f"?before={deliveries[-1].id}" if len(deliveries) == PAGE else None
    return console.render("webhook.html", {"webhook": view, "deliveries": deliveries, "href": href, "older": older,
                                           "catalogue": CATALOGUE})


PAGE = 50


def redeliver(console: Console) -> Response:
    webhook_id = console.path("webhook_id")
    message_id = console.value("message_id", 100)
    try:
        with console.caller.realm() as realm:
            history.redeliver(realm.session, realm.webhooks.get(webhook_id), message_id)
            realm.changed("webhook.redelivered", webhook_id, message_id=message_id)
    except NotFound as error:
        if error.kind == "webhook":
            raise
        return console.done(href(webhook_id), "That delivery is not one of this webhook's.", "error")
    console.services.outbox.wake()
    return console.done(href(webhook_id), f"Delivery {message_id} queued again.")


def confirm_delete(console: Console) -> Response:
    with console.caller.reader() as realm:
        view = WebhookView.of(realm.webhooks.get(console.path("webhook_id")))
    return console.render("confirm.html", {
        "title": f"Delete the webhook to {view.url}?", "action": href(view.id, "/delete"), "cancel": href(view.id),
        "message": "No more events are sent to it; deliveries still queued fail. This cannot be undone.",
        "button": "Delete webhook",
    })


def delete_webhook(console: Console) -> Response:
    with console.caller.realm() as realm:
        realm.webhooks.delete(console.path("webhook_id"))
    return console.done("/admin/webhooks", "Webhook deleted.")
