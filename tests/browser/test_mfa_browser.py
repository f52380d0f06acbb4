"""Second factors in headless Chromium: an authenticator app set up from the account page (the code computed with
pyotp from the secret the page shows), then a login with password and code; a wrong code refused; a recovery code
that works once; a role with `require_mfa` leading through enrolment at the next login."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

import testkit
from authgate import bootstrap
from authgate.services import Services
from authgate.settings import Settings
from authgate.storage.models import AuditEvent
from authgate.web.app import create_app

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
PASSWORD = "harbour-lantern-quiet-5512"  # TEST FIXTURE ONLY


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    port = testkit.free_port()
    overrides = getattr(request, "param", {})
    settings = Settings(data_dir=tmp_path / "data", master_key=testkit.TEST_MASTER_KEY,
                        issuer=f"http://127.0.0.1:{port}", database_url=f"sqlite:///{tmp_path / 'authgate.db'}",
                        **overrides)
    services = Services(settings)
    bootstrap.prepare(services)
    live = testkit.LiveServer(create_app(services=services), port).start()
    live.services = services  # type: ignore[attr-defined]
    yield live
    live.stop()
    services.database.dispose()


def new_user(server: Any, *roles: str) -> str:
    name = "p" + secrets.token_hex(4)
    with server.services.realm("test") as realm:
        realm.users.create(name, password=PASSWORD, roles=list(roles))
    return name


def sign_in(page: Any, server: Any, username: str, goal: str = "/account") -> None:
    page.goto(server.url + goal)
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page: Any, server: Any) -> None:
    page.goto(server.url + "/logout")
    page.get_by_role("button", name="Sign out").click()


def test_set_up_an_app_then_sign_in_with_password_and_code(page: Any, server: Any, screenshot: Any) -> None:
    username = new_user(server)
    sign_in(page, server, username, "/account/factors")
    expect(page.get_by_role("heading", name="Sign-in methods")).to_be_visible()
    page.get_by_role("link", name="Add an authenticator app").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    app = pyotp.TOTP(page.locator("#totp-secret").inner_text().strip())
    page.get_by_label("Code from the app").fill(app.now())
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    codes = [code.strip() for code in page.locator("#recovery-codes code").all_inner_texts()]
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code) for code in codes)
    screenshot("recovery-codes")
    sign_out(page, server)

    sign_in(page, server, username)
    expect(page.get_by_role("heading", name="Authentication code")).to_be_visible()
    wrong = f"{(int(app.now()) + 123_457) % 1_000_000:06d}"
    page.get_by_label("Authentication code").fill(wrong)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    # The enrolment spent this step's code: the next step's (inside the ±1 step window) signs in.
    page.get_by_label("Authentication code").fill(app.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    page.goto(server.url + "/account/factors")
    expect(page.locator(".factor[data-kind=totp]")).to_contain_text("Authenticator app")
    expect(page.locator(".factor[data-kind=recovery_codes]")).to_contain_text("10 of 10 left")
    sign_out(page, server)

    sign_in(page, server, username)
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("You have 9 recovery codes left")).to_be_visible()
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    sign_out(page, server)

    sign_in(page, server, username)
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("used already")


def test_a_role_that_requires_mfa_leads_through_enrolment(page: Any, server: Any) -> None:
    with server.services.realm("test") as realm:
        realm.roles.create("treasurer", require_mfa=True)
    username = new_user(server, "treasurer")
    sign_in(page, server, username)
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    page.goto(server.url + "/account")  # no session yet: back to the login page
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    page.goto(server.url + "/login/enrol")
    app = pyotp.TOTP(page.locator("#totp-secret").inner_text().strip())
    page.get_by_label("Code from the app").fill(app.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()


# Two wrong codes lock this account from this address; the lock (10 minutes) outlasts the test, so nothing races.
@pytest.mark.parametrize("server", [{"lockout_pair_threshold": 2, "lockout_base_delay": 600.0}], indirect=True)
def test_wrong_codes_are_throttled_per_account(page: Any, server: Any) -> None:
    username = new_user(server)
    sign_in(page, server, username, "/account/factors")
    page.get_by_role("link", name="Add an authenticator app").click()
    app = pyotp.TOTP(page.locator("#totp-secret").inner_text().strip())
    page.get_by_label("Code from the app").fill(app.now())
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    sign_out(page, server)

    sign_in(page, server, username)
    wrong = f"{(int(app.now()) + 123_457) % 1_000_000:06d}"
    for _ in range(2):
        page.get_by_label("Authentication code").fill(wrong)
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("alert")).to_contain_text("not right")
    # Locked now: even the right code is not looked at.
    page.get_by_label("Authentication code").fill(app.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")
    expect(page.get_by_role("heading", name="Authentication code")).to_be_visible()
    with server.services.database.reader() as session:
        types = session.scalars(select(AuditEvent.type)).all()
    assert types.count("factor.failed") == 2 and any(kind.endswith("locked") for kind in types), types
