"""Webhooks in the admin API and the console, over real HTTP: CRUD, the secret shown once, bad input refused,
delivery history with its attempts, and redelivery through the console's CSRF-protected form."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from test_admin_console import hidden, log_in
from test_admin_support import ROOT_PASSWORD, AdminWorld, admin_world  # noqa: F401

from authgate.storage.models import OutboxMessage


def api(world: AdminWorld, method: str, path: str, body: Any = None) -> httpx.Response:
    with world.client(world.root_token) as client:
        return client.request(method, f"/webhooks{path}", json=body)


BAD_INPUT = [
    ("NUL in the URL", {"url": "https://hooks.example/\x00", "events": ["user.created"]}, "url"),
    ("an over-long URL", {"url": "https://hooks.example/" + "a" * 400, "events": ["user.created"]}, "url"),
    ("a scheme other than http(s)", {"url": "ftp://hooks.example/x", "events": ["user.created"]}, "url"),
    ("credentials in the URL", {"url": "https://user:pw@hooks.example/x", "events": ["user.created"]}, "url"),
    ("plain http off loopback", {"url": "http://hooks.example/x", "events": ["user.created"]}, "url"),
    ("an unknown event", {"url": "https://hooks.example/x", "events": ["user.exploded"]}, "events"),
    ("no event", {"url": "https://hooks.example/x", "events": []}, "events"),
    ("a secret not in whsec_ form", {"url": "https://hooks.example/x", "events": ["user.created"],
                                     "secret": "s" * 40}, "secret"),
    ("a whsec_ secret too short", {"url": "https://hooks.example/x", "events": ["user.created"],
                                   "secret": "whsec_" + "QUJD" * 7}, "secret"),
    ("an unknown field", {"url": "https://hooks.example/x", "events": ["user.created"], "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("body", "field"), [pytest.param(body, field, id=name) for name, body, field in BAD_INPUT])
def test_bad_input_is_a_422_naming_the_field(admin_world: AdminWorld, body: dict[str, Any], field: str) -> None:
    response = api(admin_world, "POST", "", body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_input" and response.json().get("field") == field


def test_crud_shows_a_generated_secret_once_and_audits(admin_world: AdminWorld) -> None:
    created = api(
        admin_world, "POST", "", {"url": "https://hooks.example/a", "events": ["user.created", "login.failed"]}
    )
    assert created.status_code == 201, created.text
    webhook = created.json()
    assert webhook["secret"].startswith("whsec_") and webhook["id"].startswith("wh_")
    assert webhook["events"] == ["login.failed", "user.created"]
    shown = api(admin_world, "GET", f"/{webhook['id']}").json()
    assert "secret" not in shown and webhook["secret"] not in str(api(admin_world, "GET", "").json())
    again = api(admin_world, "POST", "", {"url": "https://hooks.example/a", "events": ["user.created"]})
    assert again.status_code == 409
    changed = api(admin_world, "PATCH", f"/{webhook['id']}", {"events": ["user.deleted"]})
    assert changed.status_code == 200 and changed.json()["events"] == ["user.deleted"]
    assert api(admin_world, "PATCH", f"/{webhook['id']}", {"url": None}).status_code == 422
    assert api(admin_world, "DELETE", f"/{webhook['id']}").status_code == 204
    assert api(admin_world, "GET", f"/{webhook['id']}").status_code == 404
    with admin_world.client(admin_world.root_token) as client:
        changes = client.get("/audit", params={"type": "admin.change"}).json()["items"]
    assert {"webhook.created", "webhook.updated", "webhook.deleted"} <= {event["detail"]["change"] for event in changes}
    assert webhook["secret"] not in str(changes)


def test_the_catalogue_is_listed(admin_world: AdminWorld) -> None:
    names = {event["name"] for event in api(admin_world, "GET", "/events").json()}
    assert {"user.created", "user.deleted", "login.failed", "client.created", "token.revoked"} <= names


def test_console_history_shows_attempts_and_redelivery_sends_again(admin_world: AdminWorld) -> None:
    services = admin_world.server.services  # type: ignore[attr-defined]
    services.outbox.stop()  # this test sends, step by step, instead of the server's background sender
    browser, _ = log_in(admin_world, "root", ROOT_PASSWORD, start="/admin/webhooks")
    form = browser.get("/admin/webhooks/new")
    created = browser.post("/admin/webhooks/new", data={
        "csrf_token": hidden(form.text, "csrf_token"), "url": "http://127.0.0.1:9/nobody-listens",
        "events": ["user.created"], "description": "console test",
    })
    assert created.status_code == 201 and "whsec_" in created.text, "the generated secret, shown once"
    webhook_id = re.search(r'href="/admin/webhooks/(wh_[0-9a-f]+)"', created.text).group(1)  # type: ignore[union-attr]
    with admin_world.client(admin_world.root_token) as client:
        assert client.post("/users", json={"username": "hooked"}).status_code == 201
    services.outbox.run_until_idle()  # port 9: refused; the attempt is recorded
    page = browser.get(f"/admin/webhooks/{webhook_id}")
    assert "user.created" in page.text and "ConnectError" in page.text and "pending" in page.text
    message_id = hidden(page.text, "message_id")
    with services.database.transaction() as session:  # give up on it, as the outbox does after its last attempt
        session.query(OutboxMessage).filter_by(message_id=message_id).update({"status": "failed"})
    assert "failed" in browser.get(f"/admin/webhooks/{webhook_id}").text

    page = browser.get(f"/admin/webhooks/{webhook_id}")
    refused = browser.post(f"/admin/webhooks/{webhook_id}/redeliver", data={"message_id": message_id})
    assert refused.status_code == 403, "no CSRF token, no redelivery"
    again = browser.post(f"/admin/webhooks/{webhook_id}/redeliver",
                         data={"csrf_token": hidden(page.text, "csrf_token"), "message_id": message_id})
    assert again.status_code == 200 and f"Delivery {message_id} queued again." in again.text
    with services.database.reader() as session:
        row = session.query(OutboxMessage).filter_by(message_id=message_id).one()
        assert (row.status, row.attempts) == ("pending", 0)
    services.outbox.run_until_idle()
    assert browser.get(f"/admin/webhooks/{webhook_id}").text.count("no answer") == 2, "two attempts in the history"
    other = browser.post(f"/admin/webhooks/{webhook_id}/redeliver",
                         data={"csrf_token": hidden(page.text, "csrf_token"), "message_id": "f" * 32})
    assert "not one of this webhook" in other.text
    browser.close()
