"""Email verification over real HTTP and SMTP: registration, change of address, link (button) and code."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from oidc_client.flow import BrowserLike, Flow, hidden_fields, query_of
from oidc_client.servers import serve_world

from smtp_mailbox import SmtpServer, code_in, link_in, text_of

pytestmark = pytest.mark.xdist_group("test_email_verification")
PASSWORD = "filter-coffee-drip-kettle-4242"


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
        request, tmp_path_factory.mktemp("verify"), smtp_url=smtp.url, registration_enabled=True
    )


def delivered(server: Any, smtp: SmtpServer, to: str, count: int = 1) -> list[Any]:
    deadline = time.monotonic() + 10
    while len(smtp.mailbox.to(to)) < count:
        assert time.monotonic() < deadline, f"{count} message(s) to {to} expected"
        server.services.outbox.run_until_idle()
        time.sleep(0.01)
    return smtp.mailbox.to(to)


def register(browser: BrowserLike, username: str, email: str) -> Any:
    fields = hidden_fields(browser.get("/register").text)
    return browser.post(
        "/register", data={**fields, "username": username, "email": email, "password": PASSWORD}
    )


def id_token_claims(browser: BrowserLike) -> dict[str, Any]:
    flow = Flow(scope="openid email")
    response = browser.get(flow.url())
    code = query_of(response.headers["location"])["code"]
    id_token = browser.redeem(flow, code).json()["id_token"]
    return dict(jwt.decode(id_token, options={"verify_signature": False}))


def test_registration_sends_a_link_whose_button_verifies_the_address(
    live_server: Any, smtp: SmtpServer
) -> None:
    name = "r" + secrets.token_hex(4)
    email = f"{name}@coffee.example"
    browser = BrowserLike(live_server.url)
    assert register(browser, name, email).status_code == 303
    assert id_token_claims(browser)["email_verified"] is False
    [message] = delivered(live_server, smtp, email)
    path = link_in(message, "/email/verify").removeprefix(live_server.url)
    page = browser.get(path)
    assert page.status_code == 200 and ">Confirm</button>" in page.text
    assert id_token_claims(browser)["email_verified"] is False  # opening the link changed nothing
    done = browser.post("/email/verify", data=hidden_fields(page.text))
    assert done.status_code == 200 and f"{email} is now confirmed" in done.text
    claims = id_token_claims(browser)
    assert claims["email"] == email and claims["email_verified"] is True
    assert browser.post("/email/verify", data=hidden_fields(page.text)).status_code == 400  # used


def test_the_code_verifies_too(live_server: Any, smtp: SmtpServer) -> None:
    name = "c" + secrets.token_hex(4)
    email = f"{name}@coffee.example"
    browser = BrowserLike(live_server.url)
    register(browser, name, email)
    code = code_in(delivered(live_server, smtp, email)[0])
    fields = hidden_fields(browser.get("/email/verify").text)
    assert (
        browser.post(
            "/email/verify", data={**fields, "email": email, "code": "ZZZZ-ZZZZ"}
        ).status_code
        == 400
    )
    assert (
        browser.post("/email/verify", data={**fields, "email": email, "code": code}).status_code
        == 200
    )
    assert id_token_claims(browser)["email_verified"] is True


def test_a_change_of_address_waits_for_the_new_one_and_tells_the_old_one(
    live_server: Any, smtp: SmtpServer
) -> None:
    name = "m" + secrets.token_hex(4)
    old, new = f"{name}@coffee.example", f"{name}-new@coffee.example"
    browser = BrowserLike(live_server.url)
    register(browser, name, old)
    verify = delivered(live_server, smtp, old)[0]
    browser.post(
        "/email/verify",
        data=hidden_fields(
            browser.get(link_in(verify, "/email/verify").removeprefix(live_server.url)).text
        ),
    )
    fields = hidden_fields(browser.get("/account/email").text)
    answer = browser.post("/account/email", data={**fields, "email": new})
    assert answer.status_code == 200 and "Check your email" in answer.text
    [notice] = [m for m in delivered(live_server, smtp, old, count=2) if m is not verify]
    assert new in text_of(notice)
    claims = id_token_claims(browser)
    assert (
        claims["email"] == old and claims["email_verified"] is True
    )  # the old address until confirmed
    page = browser.get(
        link_in(delivered(live_server, smtp, new)[0], "/email/verify").removeprefix(live_server.url)
    )
    assert browser.post("/email/verify", data=hidden_fields(page.text)).status_code == 200
    claims = id_token_claims(browser)
    assert claims["email"] == new and claims["email_verified"] is True


@pytest.mark.parametrize(
    "email", ["nope", "a@coffee.example\r\nBcc: x@example.com", "y" * 330 + "@coffee.example"]
)
def test_bad_addresses_at_registration_and_change_are_form_errors(
    live_server: Any, smtp: SmtpServer, email: str
) -> None:
    before = len(smtp.mailbox.messages)
    browser = BrowserLike(live_server.url)
    assert register(browser, "b" + secrets.token_hex(4), email).status_code == 400
    browser.submit_login(browser.get(Flow().url()).headers["location"], "barista")
    fields = hidden_fields(browser.get("/account/email").text)
    response = browser.post("/account/email", data={**fields, "email": email})
    assert response.status_code == 400 and 'id="email-help" class="field-error"' in response.text
    live_server.services.outbox.run_until_idle()
    assert len(smtp.mailbox.messages) == before


def test_a_broken_link_opens_a_page_that_says_so(live_server: Any) -> None:
    response = BrowserLike(live_server.url).get("/email/verify?token=not-a-real-token")
    assert response.status_code == 400 and "does not work" in response.text


def test_a_verified_address_logs_in_like_the_username(live_server: Any, smtp: SmtpServer) -> None:
    name = "e" + secrets.token_hex(4)
    email = f"{name}@coffee.example"
    browser = BrowserLike(live_server.url)
    register(browser, name, email)

    def login_with(identifier: str) -> int:
        other = BrowserLike(live_server.url)
        try:
            return other.submit_login(
                other.get(Flow().url()).headers["location"], identifier, PASSWORD
            ).status_code
        finally:
            other.close()

    assert login_with(email) == 401  # not verified yet: the address names nobody
    page = browser.get(
        link_in(delivered(live_server, smtp, email)[0], "/email/verify").removeprefix(
            live_server.url
        )
    )
    browser.post("/email/verify", data=hidden_fields(page.text))
    assert login_with(email) == 303 and login_with(name) == 303
    assert (
        login_with(f"{name}@COFFEE.EXAMPLE") == 303
    )  # the domain is case-insensitive (the local part is not: RFC 5321 §2.4)


def test_wrong_codes_are_throttled(live_server: Any) -> None:
    browser = BrowserLike(live_server.url)
    fields = hidden_fields(browser.get("/email/verify").text)
    statuses = [
        browser.post(
            "/email/verify", data={**fields, "email": "guess@coffee.example", "code": "AAAA-AAAA"}
        ).status_code
        for _ in range(7)
    ]
    assert statuses[0] == 400 and statuses[-1] == 429
