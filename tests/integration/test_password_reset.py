"""Forgotten password over real HTTP and real SMTP (aiosmtpd): request, mail, link or code, new password.

One server per backend for the module; each test makes its own user, so
tests do not see each other's passwords or messages.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from oidc_client.flow import BrowserLike, Flow, hidden_fields, query_of
from oidc_client.servers import serve_world
from sqlalchemy import select, update

from authgate.clock import utcnow
from authgate.outbox import OutboxSender
from authgate.storage.models import AuditEvent, EmailToken, OutboxMessage
from smtp_mailbox import SmtpServer, code_in, link_in

pytestmark = pytest.mark.xdist_group("test_password_reset")
OLD, NEW = "first-pour-over-bloom-1911", "second-french-press-plunge-2202"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer
) -> Iterator[Any]:
    yield from serve_world(
        request, tmp_path_factory.mktemp("reset"), smtp_url=smtp.url, product_name="Coffee Co"
    )


@pytest.fixture
def person(live_server: Any) -> dict[str, str]:
    name = "p" + secrets.token_hex(4)
    email = f"{name}@coffee.example"
    with live_server.services.realm("test") as realm:
        realm.users.create(name, password=OLD, email=email, name="Pat Person")
    return {"username": name, "email": email}


def delivered(server: Any, smtp: SmtpServer, to: str, count: int = 1) -> list[Any]:
    """Run the outbox (the server's own thread may be sending too) until `count` messages to `to` arrived (bounded)."""
    deadline = time.monotonic() + 10
    while len(smtp.mailbox.to(to)) < count:
        assert time.monotonic() < deadline, f"{count} message(s) to {to} expected"
        server.services.outbox.run_until_idle()
        time.sleep(0.01)
    return smtp.mailbox.to(to)


def last_error(server: Any, to: str) -> str | None:
    with server.services.reader() as realm:
        return realm.session.scalar(
            select(OutboxMessage.last_error).where(
                OutboxMessage.target == to, OutboxMessage.kind == "mail"
            )
        )


def forgot(browser: BrowserLike, email: str, *, drop_csrf: bool = False) -> httpx.Response:
    fields = hidden_fields(browser.get("/password/forgot").text)
    if drop_csrf:
        fields.pop("csrf_token")
    return browser.post("/password/forgot", data={**fields, "email": email})


def submit_reset(browser: BrowserLike, url: str, password: str, **extra: str) -> httpx.Response:
    page = browser.get(url)
    assert page.status_code == 200, page.text
    return browser.post(
        "/password/reset", data={**hidden_fields(page.text), "password": password, **extra}
    )


def login_status(server: Any, username: str, password: str) -> int:
    browser = BrowserLike(server.url)
    try:
        return browser.submit_login(
            browser.get(Flow().url()).headers["location"], username, password
        ).status_code
    finally:
        browser.close()


def refresh_token_of(server: Any, username: str, password: str) -> str:
    browser = BrowserLike(server.url)
    try:
        flow = Flow(scope="openid offline_access")
        response = browser.get(flow.url())
        response = browser.submit_login(response.headers["location"], username, password)
        response = browser.get(response.headers["location"])
        code = query_of(response.headers["location"])["code"]
        tokens = browser.redeem(flow, code).json()
        return str(tokens["refresh_token"])
    finally:
        browser.close()


def refresh(server: Any, token: str) -> httpx.Response:
    return httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token, "client_id": "coffee-spa"},
    )


def test_the_login_page_links_to_forgot_password(live_server: Any) -> None:
    browser = BrowserLike(live_server.url)
    page = browser.get(browser.get(Flow().url()).headers["location"])
    assert '<a href="/password/forgot">Forgot your password?</a>' in page.text


def test_reset_by_link_changes_the_password_and_ends_sessions_and_refresh_tokens(
    live_server: Any, smtp: SmtpServer, person: dict[str, str]
) -> None:
    old_refresh = refresh_token_of(live_server, person["username"], OLD)
    signed_in = BrowserLike(live_server.url)
    signed_in.submit_login(signed_in.get(Flow().url()).headers["location"], person["username"], OLD)
    browser = BrowserLike(live_server.url)
    answer = forgot(browser, person["email"])
    assert answer.status_code == 200 and "Check your email" in answer.text
    [message] = delivered(live_server, smtp, person["email"])
    assert message["Subject"] == "Reset your Coffee Co password"
    link = link_in(message, "/password/reset")
    assert link.startswith(live_server.url + "/password/reset?token=")
    path = link.removeprefix(live_server.url)
    assert (
        browser.get(path).status_code == 200 and browser.get(path).status_code == 200
    )  # a GET uses nothing
    done = submit_reset(browser, path, NEW)
    assert done.status_code == 303 and done.headers["location"] == "/password/reset/done"
    assert login_status(live_server, person["username"], OLD) == 401
    assert login_status(live_server, person["username"], NEW) == 303
    assert refresh(live_server, old_refresh).json()["error"] == "invalid_grant"
    after = signed_in.get(Flow(extra={"prompt": "none"}).url())
    assert query_of(after.headers["location"])["error"] == "login_required"
    again = browser.get(path)
    assert again.status_code == 400 and "does not work" in again.text  # single use
    with live_server.services.reader() as realm:
        types = realm.session.scalars(
            select(AuditEvent.type).where(AuditEvent.subject == person["username"])
        ).all()
        assert "password.reset_requested" in types and "password.reset" in types


def test_an_unknown_address_gets_the_same_page_and_no_message(
    live_server: Any, smtp: SmtpServer, person: dict[str, str]
) -> None:
    browser = BrowserLike(live_server.url)
    known, unknown = forgot(browser, person["email"]), forgot(browser, "nobody-here@coffee.example")
    assert known.status_code == unknown.status_code == 200
    assert (
        known.text == unknown.text
    )  # the same page, byte for byte (same browser, same CSRF token)
    with (
        live_server.services.reader() as realm
    ):  # the same work: one queued request each, looked up later
        requested = realm.session.scalars(
            select(OutboxMessage.target).where(
                OutboxMessage.kind == "password_reset_request",
                OutboxMessage.target.in_([person["email"], "nobody-here@coffee.example"]),
            )
        ).all()
        assert sorted(requested) == sorted([person["email"], "nobody-here@coffee.example"])
    delivered(live_server, smtp, person["email"])
    assert smtp.mailbox.to("nobody-here@coffee.example") == []


def test_reset_by_code(live_server: Any, smtp: SmtpServer, person: dict[str, str]) -> None:
    browser = BrowserLike(live_server.url)
    forgot(browser, person["email"])
    [message] = delivered(live_server, smtp, person["email"])
    code = code_in(message)
    wrong = submit_reset(browser, "/password/reset", NEW, email=person["email"], code="AAAA-AAAA")
    assert wrong.status_code == 400 and "not valid" in wrong.text
    done = submit_reset(browser, "/password/reset", NEW, email=person["email"], code=code.lower())
    assert done.status_code == 303
    assert login_status(live_server, person["username"], NEW) == 303


def test_wrong_codes_are_throttled(live_server: Any, person: dict[str, str]) -> None:
    browser = BrowserLike(live_server.url)
    statuses = [
        submit_reset(
            browser, "/password/reset", NEW, email=person["email"], code="AAAA-AAAA"
        ).status_code
        for _ in range(7)
    ]
    assert statuses[0] == 400 and statuses[-1] == 429


def test_an_expired_link_is_refused(
    live_server: Any, smtp: SmtpServer, person: dict[str, str]
) -> None:
    browser = BrowserLike(live_server.url)
    forgot(browser, person["email"])
    [message] = delivered(live_server, smtp, person["email"])
    path = link_in(message, "/password/reset").removeprefix(live_server.url)
    page = browser.get(path)
    with live_server.services.realm("test") as realm:  # 30 minutes later
        realm.session.execute(update(EmailToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert browser.get(path).status_code == 400
    refused = browser.post("/password/reset", data={**hidden_fields(page.text), "password": NEW})
    assert refused.status_code == 400 and "not valid" in refused.text
    assert login_status(live_server, person["username"], OLD) == 303


def test_a_weak_password_is_a_form_error_and_the_link_still_works(
    live_server: Any, smtp: SmtpServer, person: dict[str, str]
) -> None:
    browser = BrowserLike(live_server.url)
    forgot(browser, person["email"])
    path = link_in(
        delivered(live_server, smtp, person["email"])[0], "/password/reset"
    ).removeprefix(live_server.url)
    weak = submit_reset(browser, path, "password123")
    assert weak.status_code == 400 and 'id="password-help" class="field-error"' in weak.text
    assert submit_reset(browser, path, NEW).status_code == 303


def test_only_the_newest_link_works(
    live_server: Any, smtp: SmtpServer, person: dict[str, str]
) -> None:
    browser = BrowserLike(live_server.url)
    forgot(browser, person["email"])
    forgot(browser, person["email"])
    first, second = delivered(live_server, smtp, person["email"], count=2)[:2]
    links = [link_in(m, "/password/reset").removeprefix(live_server.url) for m in (first, second)]
    assert sorted(browser.get(link).status_code for link in links) == [200, 400]


BAD = [
    pytest.param("not-an-address", id="malformed"),
    pytest.param("a@coffee.example\r\nBcc: victim@example.com", id="header-injection"),
    pytest.param("a@coffee.example\nBcc: victim@example.com", id="header-injection-lf"),
    pytest.param("x" * 400 + "@coffee.example", id="over-long"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("email", BAD)
def test_bad_addresses_get_a_form_error_and_no_message(
    live_server: Any, smtp: SmtpServer, email: str
) -> None:
    before = len(smtp.mailbox.messages)
    response = forgot(BrowserLike(live_server.url), email)
    assert response.status_code == 400 and 'id="email-help" class="field-error"' in response.text
    live_server.services.outbox.run_until_idle()
    assert len(smtp.mailbox.messages) == before


def test_without_the_csrf_token_nothing_is_sent(live_server: Any, person: dict[str, str]) -> None:
    assert forgot(BrowserLike(live_server.url), person["email"], drop_csrf=True).status_code == 403


def test_while_smtp_is_down_requests_are_answered_and_the_message_arrives_after(
    live_server: Any, smtp: SmtpServer, person: dict[str, str]
) -> None:
    smtp.stop()
    try:
        browser = BrowserLike(live_server.url)
        started = time.monotonic()
        answer = forgot(browser, person["email"])
        assert answer.status_code == 200 and "Check your email" in answer.text
        assert time.monotonic() - started < 5  # the request never waits on SMTP
        live_server.services.outbox.run_until_idle()  # an attempt fails (here or on the server's thread)
        deadline = time.monotonic() + 10
        while last_error(live_server, person["email"]) is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        smtp.start()
    # An hour later for this sender (the backoff is over); the server's own thread waits out the real backoff.
    services = live_server.services
    later = OutboxSender(
        services.database,
        services.outbox.deliverers,
        services.mailer.sealer,
        services.outbox.policy,
        clock=lambda: utcnow() + timedelta(hours=1),
    )
    assert later.run_until_idle().sent == 1
    [message] = delivered(live_server, smtp, person["email"])
    assert (
        submit_reset(
            browser, link_in(message, "/password/reset").removeprefix(live_server.url), NEW
        ).status_code
        == 303
    )
