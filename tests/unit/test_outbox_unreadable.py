"""A queued message whose sealed part cannot be opened is never handed to its deliverer: the attempt fails with a
reason naming the likely cause (outbox/sender.py), whether the master key changed or the sealed bytes are no
message at all. A message opened with its own key is delivered, so the deliverer is not what refuses."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from authgate.masterkey import MasterKey
from authgate.outbox import Envelope, OutboxSender, RetryPolicy, Sealer, enqueue
from authgate.services import Services
from authgate.storage.models import OutboxMessage

QUEUED_AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KIND = "test-message"


class Recording:
    def __init__(self) -> None:
        self.delivered: list[dict[str, object]] = []

    def deliver(self, envelope: Envelope) -> None:
        self.delivered.append(envelope.secret)


def another_key() -> MasterKey:
    return MasterKey(secrets.token_bytes(32))


def queue(services: Services, sealer: Sealer) -> str:
    with services.realm("test") as realm:
        return enqueue(realm.session, kind=KIND, target="someone", payload={}, secret={"code": "1234"},
                       sealer=sealer, now=QUEUED_AT)


def send(services: Services, sealer: Sealer, deliverer: Recording) -> None:
    policy = RetryPolicy.from_settings(services.settings)
    sender = OutboxSender(services.database, {KIND: deliverer}, sealer, policy,
                          clock=lambda: QUEUED_AT + timedelta(seconds=1))
    assert sender.run_once().claimed == 1


def stored(services: Services, message_id: str) -> OutboxMessage:
    with services.reader() as realm:
        return realm.session.scalars(select(OutboxMessage).where(OutboxMessage.message_id == message_id)).one()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_message_opened_with_its_own_key_is_delivered(services: Services) -> None:
    key = another_key()
    message_id = queue(services, Sealer(key))
    deliverer = Recording()
    send(services, Sealer(key), deliverer)
    assert deliverer.delivered == [{"code": "1234"}]
    assert stored(services, message_id).status == "sent"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_message_sealed_under_another_master_key_is_not_delivered(services: Services) -> None:
    message_id = queue(services, Sealer(another_key()))
    deliverer = Recording()
    send(services, Sealer(another_key()), deliverer)
    assert deliverer.delivered == []
    row = stored(services, message_id)
    assert row.status != "sent" and "cannot be opened" in (row.last_error or ""), (row.status, row.last_error)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sealed_bytes_that_are_not_a_message_are_not_delivered(services: Services) -> None:
    key = another_key()
    message_id = queue(services, Sealer(key))
    not_json = key.encrypt(b"\xff not JSON", f"outbox:{message_id}")
    with pytest.raises(ValueError):  # the key opens it; what it holds is no message
        Sealer(key).open(message_id, not_json)
    with services.realm("test") as realm:
        realm.session.execute(
            update(OutboxMessage).where(OutboxMessage.message_id == message_id).values(sealed=not_json)
        )
    deliverer = Recording()
    send(services, Sealer(key), deliverer)
    assert deliverer.delivered == []
    row = stored(services, message_id)
    assert row.status != "sent" and "cannot be opened" in (row.last_error or ""), (row.status, row.last_error)
