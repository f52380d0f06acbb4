"""Webhooks end to end: events queued with the change, delivered through the outbox to a receiver on loopback
that verifies every signature with the `standardwebhooks` library, survives its being down, and gets every event.

The outbox's clock is moved by hand past each backoff; nothing sleeps.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from authgate.accounts.login import LoginFailed, PasswordLogin
from authgate.clock import utcnow
from authgate.outbox import OutboxSender, RetryPolicy
from authgate.services import Services
from authgate.storage.models import OutboxMessage, WebhookAttempt
from authgate.webhooks.delivery import WebhookDeliverer
from authgate.webhooks.subscriptions import WebhookSpec
from testkit import LiveServer, free_port

PASSWORD = "test-fixture webhook passphrase 5"


class Receiver:
    """A webhook endpoint: verifies each request with the library, keeps what it got (or answers `status`)."""

    def __init__(self, secret: str) -> None:
        self.verifier = Verifier(secret)
        self.received: list[tuple[str, dict[str, object]]] = []
        self.refused = 0
        self.status = 204
        self.lock = threading.Lock()

    async def hooks(self, request: Request) -> Response:
        body = await request.body()
        try:
            payload = self.verifier.verify(body, dict(request.headers))
        except WebhookVerificationError:
            with self.lock:
                self.refused += 1
            return PlainTextResponse("bad signature", status_code=400)
        with self.lock:
            self.received.append((request.headers["webhook-id"], payload))
        return Response(status_code=self.status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hooks", self.hooks, methods=["POST"]),
                                 Route("/healthz", lambda _request: PlainTextResponse("ok"))])


class ManualClock:
    def __init__(self) -> None:
        self.now = utcnow() + timedelta(seconds=60)  # past every message the test queues

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def hook(services: Services, port: int) -> tuple[str, str]:
    with services.realm(actor="test") as realm:
        webhook, secret = realm.webhooks.create(WebhookSpec(
            url=f"http://127.0.0.1:{port}/hooks", events=["user.created", "user.deleted", "login.failed"]))
        assert secret is not None and secret.startswith("whsec_")
        return webhook.public_id, secret


@pytest.fixture
def sender(services: Services) -> tuple[OutboxSender, ManualClock]:
    clock = ManualClock()
    deliverer = WebhookDeliverer(services.database, services.master_key, services.settings)  # signs with real time
    policy = RetryPolicy(max_attempts=8, base_delay=30, max_delay=3600, lease=120)
    return OutboxSender(services.database, {"webhook": deliverer}, services.mailer.sealer, policy, clock=clock), clock


@pytest.fixture
def receiver(hook: tuple[str, str], port: int) -> Iterator[tuple[Receiver, LiveServer]]:
    """Made, not started: the receiver is down until the test starts it."""
    receiver = Receiver(hook[1])
    server = LiveServer(receiver.app(), port)
    yield receiver, server
    if server.thread.is_alive():
        server.stop()


def make_events(services: Services) -> None:
    with services.realm(actor="test") as realm:
        for name in ("ann", "bob", "cy"):
            realm.users.create(name, password=PASSWORD)
    for _ in range(2):
        with pytest.raises(LoginFailed):
            PasswordLogin(services).authenticate("ann", "not the password", ip="127.0.0.1")
    with services.realm(actor="test") as realm:
        realm.users.delete("cy")
    with pytest.raises(RuntimeError), services.realm(actor="test") as realm:
        realm.users.create("rolled-back", password=PASSWORD)
        raise RuntimeError("a change that does not commit sends nothing")


def queued(services: Services) -> list[OutboxMessage]:
    with services.database.reader() as session:
        rows = session.query(OutboxMessage).filter(OutboxMessage.kind == "webhook").order_by(OutboxMessage.id).all()
        session.expunge_all()
        return rows


def test_a_receiver_that_was_down_gets_every_event_signed(services, hook, sender, receiver):
    outbox, clock = sender
    receiver_app, server = receiver
    make_events(services)
    messages = queued(services)
    events = [(message.payload["event"], message.payload["body"]["data"]["subject"]) for message in messages]
    assert events == [("user.created", "ann"), ("user.created", "bob"), ("user.created", "cy"),
                      ("login.failed", "ann"), ("login.failed", "ann"), ("user.deleted", "cy")]

    assert outbox.run_until_idle().retried == 6, "connection refused: every delivery waits for a retry"
    clock.advance(31)
    assert outbox.run_until_idle().retried == 6, "still down at the first retry"
    server.start()
    assert outbox.run_until_idle().claimed == 0, "the next retry is not due yet (backoff doubles)"
    clock.advance(61)
    assert outbox.run_until_idle().sent == 6

    ids = [webhook_id for webhook_id, _ in receiver_app.received]
    assert receiver_app.refused == 0, "every signature verifies"
    assert sorted(ids) == sorted(message.message_id for message in messages), "every event, each once"
    by_id = {message.message_id: message for message in messages}
    for webhook_id, payload in receiver_app.received:
        assert payload["type"] == by_id[webhook_id].payload["event"]
    assert [payload["data"]["subject"] for _, payload in receiver_app.received if payload["type"] == "user.created"] \
        == ["ann", "bob", "cy"], "one subject's events arrive in the order they happened"
    with services.database.reader() as session:
        attempts = session.query(WebhookAttempt).all()
        assert len(attempts) == 18 and sum(attempt.status_code == 204 for attempt in attempts) == 6


def test_at_least_once_a_delivery_sent_again_keeps_its_webhook_id(services, hook, sender, receiver):
    """A sender that died after sending (its lease ran out) sends again: the receiver dedupes by webhook-id."""
    outbox, clock = sender
    receiver_app, server = receiver
    server.start()
    with services.realm(actor="test") as realm:
        realm.users.create("dan", password=PASSWORD)
    [claimed] = outbox.claim()  # this sender "dies" here without delivering
    clock.advance(121)  # the lease runs out
    assert outbox.run_until_idle().sent == 1
    outbox.deliverers["webhook"].deliver(claimed)  # the first sender comes back to life and delivers too
    ids = [webhook_id for webhook_id, _ in receiver_app.received]
    assert ids == [claimed.message_id] * 2, "sent twice with the same id: the receiver drops the duplicate"


@pytest.mark.parametrize(("status", "outcome"), [(410, "failed"), (500, "pending"), (302, "pending")])
def test_what_an_answer_means(services, hook, sender, receiver, status, outcome):
    outbox, _ = sender
    receiver_app, server = receiver
    receiver_app.status = status
    server.start()
    with services.realm(actor="test") as realm:
        realm.users.create("eve", password=PASSWORD)
    outbox.run_until_idle()
    [message] = queued(services)
    assert message.status == outcome, "410 Gone ends the retries; an error or a redirect is retried (never followed)"


def test_the_body_is_what_was_signed_and_holds_no_secret(services, hook, sender, receiver):
    outbox, _ = sender
    receiver_app, server = receiver
    server.start()
    with services.realm(actor="test") as realm:
        realm.users.create("fay", password=PASSWORD)
        realm.users.set_password("fay", PASSWORD + " changed")
    outbox.run_until_idle()
    text = json.dumps([payload for _, payload in receiver_app.received])
    assert PASSWORD not in text and "$argon2" not in text


def test_a_login_queues_login_succeeded_on_every_path(services):
    """A login is recorded through `audit.record`, whose followers queue the webhook event in its transaction."""
    with services.realm(actor="test") as realm:
        realm.users.create("gil", password=PASSWORD)
    PasswordLogin(services).authenticate("gil", PASSWORD, ip="127.0.0.1")  # no webhook yet: nothing queued
    assert queued(services) == []
    with services.realm(actor="test") as realm:
        realm.webhooks.create(WebhookSpec(url="https://hooks.example/logins", events=["login.succeeded"]))
    PasswordLogin(services).authenticate("gil", PASSWORD, ip="127.0.0.1")
    [message] = queued(services)
    assert message.payload["body"]["type"] == "login.succeeded" and message.payload["body"]["data"]["subject"] == "gil"
