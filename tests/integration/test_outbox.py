"""The transactional outbox delivering mail to a real SMTP server (aiosmtpd on loopback), on both databases.

The sender is driven by hand (`run_once`) with a clock the test moves, so
retries, backoff and leases are exercised without sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from authgate import bootstrap
from authgate.mail.delivery import deliverer_for
from authgate.mail.mailer import KIND
from authgate.outbox import OutboxSender, RetryPolicy, list_messages
from authgate.services import Services
from authgate.settings import Settings
from authgate.storage.models import AuditEvent, OutboxMessage
from authgate.testing.clock import FakeClock
from smtp_mailbox import SmtpServer, html_of, text_of


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    """The sender's time: a second ahead of the real clock that stamps queued messages, then moved by hand."""
    return FakeClock(time.time() + 1)


def at(clock: FakeClock) -> Callable[[], datetime]:
    return lambda: datetime.fromtimestamp(clock(), UTC)


@pytest.fixture
def mail_services(
    make_settings: Callable[..., Settings], database_url: str, smtp: SmtpServer
) -> Iterator[Services]:
    services = Services(
        make_settings(
            database_url=database_url,
            smtp_url=smtp.url,
            outbox_max_attempts=4,
            outbox_retry_base=30,
            outbox_lease=60,
            product_name="Coffee Co",
        )
    )
    bootstrap.prepare(services)
    yield services
    services.database.dispose()


def sender(services: Services, clock: FakeClock) -> OutboxSender:
    """A sender on `clock`, which is first moved to at least a second past the real time that stamped the queue."""
    clock.now = max(clock.now, time.time() + 1)
    return OutboxSender(
        services.database,
        {KIND: deliverer_for(services.settings)},
        services.mailer.sealer,
        RetryPolicy.from_settings(services.settings),
        clock=at(clock),
    )


def queue(services: Services, to: str = "ada@example.com", *, name: str = "Ada") -> str:
    with services.realm("test") as realm:
        return services.mailer.queue(
            realm.session,
            to=to,
            template="password_reset",
            context={
                "name": name,
                "link": "http://x/password/reset?token=t",
                "code": "ABCD-EFGH",
                "minutes": 30,
            },
        )


def statuses(services: Services) -> list[tuple[str, int]]:
    with services.reader() as realm:
        return [
            (row.status, row.attempts)
            for row in realm.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def test_a_queued_message_is_delivered_with_text_html_and_a_stable_message_id(
    backend: str, mail_services: Services, smtp: SmtpServer, clock: FakeClock
) -> None:
    message_id = queue(mail_services)
    assert smtp.mailbox.messages == []  # queued, not sent by the request
    assert sender(mail_services, clock).run_once().sent == 1
    [received] = smtp.mailbox.messages
    assert (
        received["To"] == "ada@example.com"
        and received["Subject"] == "Reset your Coffee Co password"
    )
    assert received["Message-ID"] == f"<{message_id}@127.0.0.1>"
    assert "ABCD-EFGH" in text_of(received) and "ABCD-EFGH" in html_of(received)
    assert statuses(mail_services) == [("sent", 1)]
    assert sender(mail_services, clock).run_once().claimed == 0  # never twice


def test_a_rolled_back_change_sends_nothing(
    backend: str, mail_services: Services, smtp: SmtpServer, clock: FakeClock
) -> None:
    with pytest.raises(RuntimeError), mail_services.realm("test") as realm:
        mail_services.mailer.queue(
            realm.session,
            to="ada@example.com",
            template="password_reset",
            context={"name": "Ada", "link": "l", "code": "c", "minutes": 30},
        )
        raise RuntimeError("the change failed")
    assert sender(mail_services, clock).run_once().claimed == 0 and smtp.mailbox.messages == []


def test_the_body_is_sealed_while_queued_and_dropped_once_sent(
    backend: str, mail_services: Services, clock: FakeClock
) -> None:
    queue(mail_services)
    with mail_services.reader() as realm:
        row = realm.session.scalars(select(OutboxMessage)).one()
        assert row.sealed and b"ABCD-EFGH" not in row.sealed and "ABCD-EFGH" not in str(row.payload)
    sender(mail_services, clock).run_once()
    with mail_services.reader() as realm:
        assert realm.session.scalars(select(OutboxMessage.sealed)).one() is None


def test_an_smtp_outage_is_retried_with_backoff_and_every_message_arrives_once(
    backend: str, mail_services: Services, smtp: SmtpServer, clock: FakeClock
) -> None:
    smtp.stop()
    ids = [queue(mail_services, f"user{n}@example.com") for n in range(3)]
    outbox = sender(mail_services, clock)
    assert outbox.run_once().retried == 3
    assert outbox.run_once().claimed == 0  # backing off
    clock.advance(29)
    assert outbox.run_once().claimed == 0
    clock.advance(2)
    assert outbox.run_once().retried == 3  # second attempt after 30 s; the next waits 60 s
    clock.advance(59)
    assert outbox.run_once().claimed == 0
    smtp.start()
    clock.advance(2)
    assert outbox.run_once().sent == 3
    assert sorted(m["Message-ID"] for m in smtp.mailbox.messages) == sorted(
        f"<{i}@127.0.0.1>" for i in ids
    )
    assert statuses(mail_services) == [("sent", 3)] * 3


def test_a_message_that_keeps_failing_ends_failed_with_the_reason_audited(
    backend: str, mail_services: Services, smtp: SmtpServer, clock: FakeClock
) -> None:
    smtp.stop()
    message_id = queue(mail_services)
    outbox = sender(mail_services, clock)
    for _ in range(4):
        outbox.run_once()
        clock.advance(3600)
    assert statuses(mail_services) == [("failed", 4)]
    with mail_services.reader() as realm:
        [view] = list_messages(realm.session, status="failed")
        assert view.message_id == message_id and "unreachable" in (view.last_error or "")
        event = realm.session.scalars(
            select(AuditEvent).where(AuditEvent.type == "mail.failed")
        ).one()
        assert event.subject == "ada@example.com" and event.outcome == "failure"
        assert event.detail["message_id"] == message_id and "unreachable" in event.detail["reason"]
    smtp.start()
    clock.advance(3600)
    assert outbox.run_once().claimed == 0  # failed is final


def test_a_permanent_refusal_fails_at_once(
    backend: str, mail_services: Services, smtp: SmtpServer, clock: FakeClock
) -> None:
    smtp.mailbox.refuse_with = "550 5.1.1 No such mailbox"
    queue(mail_services)
    assert sender(mail_services, clock).run_once().failed == 1
    assert statuses(mail_services) == [("failed", 1)]


def test_a_restart_between_queueing_and_delivery_loses_nothing(
    backend: str,
    make_settings: Callable[..., Settings],
    mail_services: Services,
    smtp: SmtpServer,
    clock: FakeClock,
) -> None:
    queue(mail_services, "before@example.com")
    crashed = sender(mail_services, clock)
    queue(mail_services, "claimed@example.com")
    # A process claims both and dies before sending: the rows stay pending under its lease.
    assert len(crashed.claim()) == 2
    mail_services.database.dispose()
    restarted = Services(mail_services.settings)
    try:
        outbox = sender(restarted, clock)
        assert outbox.run_once().claimed == 0  # still leased to the dead process
        clock.advance(61)
        assert outbox.run_once().sent == 2
        assert sorted(m["To"] for m in smtp.mailbox.messages) == [
            "before@example.com",
            "claimed@example.com",
        ]
    finally:
        restarted.database.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_senders_racing_deliver_each_message_once(
    backend: str, mail_services: Services, smtp: SmtpServer, clock: FakeClock
) -> None:
    ids = [queue(mail_services, f"user{n}@example.com") for n in range(40)]
    senders = [sender(mail_services, clock), sender(Services(mail_services.settings), clock)]
    for one in senders:
        one.batch = 3
    start = threading.Barrier(2)

    def run(one: OutboxSender) -> None:
        start.wait()
        one.run_until_idle()

    threads = [threading.Thread(target=run, args=(one,)) for one in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    received = [m["Message-ID"] for m in smtp.mailbox.messages]
    assert sorted(received) == sorted(f"<{i}@127.0.0.1>" for i in ids)  # all of them, none twice
    senders[1].database.dispose()


def test_without_smtp_the_message_is_written_to_the_log_in_full(
    backend: str,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    services = Services(make_settings(database_url=database_url))
    bootstrap.prepare(services)
    try:
        assert any("AUTHGATE_SMTP_URL is unset" in w for w in services.settings.insecure_defaults())
        queue(services)
        with caplog.at_level(logging.WARNING, logger="authgate.mail"):
            assert sender(services, clock).run_once().sent == 1
        assert (
            "To: ada@example.com" in caplog.text
            and "http://x/password/reset?token=t" in caplog.text
        )
        assert "ABCD-EFGH" in caplog.text
    finally:
        services.database.dispose()


def test_the_templates_directory_overrides_a_packaged_template(
    backend: str,
    make_settings: Callable[..., Settings],
    database_url: str,
    smtp: SmtpServer,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    branded = tmp_path / "branding"
    branded.mkdir()
    (branded / "password_reset.subject.txt").write_text(
        "{{ product_name }}: new password for {{ name }}"
    )
    services = Services(
        make_settings(
            database_url=database_url,
            smtp_url=smtp.url,
            email_templates_dir=branded,
            product_name="Brew Bar",
            email_link_base="https://id.brew.example",
        )
    )
    bootstrap.prepare(services)
    try:
        assert services.mailer.link("/x") == "https://id.brew.example/x"
        queue(services)
        sender(services, clock).run_once()
        [received] = smtp.mailbox.messages
        assert received["Subject"] == "Brew Bar: new password for Ada"  # the override
        assert "Brew Bar" in text_of(
            received
        )  # the packaged body, with the product name from settings
    finally:
        services.database.dispose()


def test_a_name_with_a_header_injection_stays_in_the_body(
    backend: str, mail_services: Services, smtp: SmtpServer, clock: FakeClock
) -> None:
    queue(mail_services, name="Ada\r\nBcc: victim@example.com\r\nSubject: owned")
    sender(mail_services, clock).run_once()
    [received] = smtp.mailbox.messages
    assert received["Bcc"] is None and received.get_all("Subject") == [
        "Reset your Coffee Co password"
    ]
    assert received.get_all("To") == ["ada@example.com"]
