"""Forgotten password in headless Chromium, with the server's own background sender delivering to aiosmtpd.

The one end-to-end email test that does not drive the outbox by hand: the
request wakes the sender thread, and the test polls the mailbox (bounded).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import testkit
from authgate import bootstrap
from authgate.services import Services
from authgate.settings import Settings
from authgate.web.app import create_app
from smtp_mailbox import SmtpServer, link_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
OLD, NEW = "aeropress-inverted-bloom-3030", "moka-pot-stovetop-crema-4040"  # TEST FIXTURE ONLY


@pytest.fixture
def reset_world(tmp_path: Path) -> Iterator[tuple[Any, SmtpServer]]:
    smtp = SmtpServer().start()
    port = testkit.free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        master_key=testkit.TEST_MASTER_KEY,
        issuer=f"http://127.0.0.1:{port}",
        database_url=f"sqlite:///{tmp_path / 'authgate.db'}",
        smtp_url=smtp.url,
        outbox_poll_interval=0.2,
        product_name="Coffee Co",
    )
    services = Services(settings)
    bootstrap.prepare(services)
    with services.realm("test") as realm:
        realm.users.create("dana", password=OLD, email="dana@coffee.example", name="Dana")
    server = testkit.LiveServer(create_app(services=services), port).start()
    yield server, smtp
    server.stop()
    services.database.dispose()
    smtp.stop()


def test_a_person_resets_their_password_from_the_received_message(
    page: Any, reset_world: Any, screenshot: Any
) -> None:
    server, smtp = reset_world
    page.goto(server.url + "/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    page.get_by_label("Email address").fill("dana@coffee.example")
    page.get_by_role("button", name="Send me a reset link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    [message] = smtp.mailbox.wait_for(1, timeout=15)  # delivered by the server's sender thread
    assert message["To"] == "dana@coffee.example"
    page.goto(link_in(message, "/password/reset"))
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    screenshot("reset-form")
    page.get_by_label("New password").fill(NEW)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    page.goto(server.url + "/login")
    page.get_by_label("Username").fill(
        "dana@coffee.example"
    )  # login by the (not yet verified) address: refused
    page.get_by_label("Password").fill(NEW)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("incorrect")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(OLD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("incorrect")
    page.get_by_label("Password").fill(NEW)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
