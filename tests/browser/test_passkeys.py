"""Passkeys in headless Chromium, with Chromium's virtual authenticator (DevTools Protocol `WebAuthn`).

Register a passkey from the account page, sign out, sign in with it alone
("Sign in with a passkey") and through autofill (conditional mediation on the
username field); the browser session records the passkey's methods (RFC 8176
amr). WebAuthn needs a host name for its RP ID (never an IP address), so the
server's issuer is http://localhost:PORT.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

import testkit
from authgate import audit, bootstrap
from authgate.services import Services
from authgate.settings import Settings
from authgate.storage.models import AuditEvent, BrowserSession, Passkey
from authgate.web.app import create_app

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
PASSWORD = "french-press-coarse-grind-5050"  # TEST FIXTURE ONLY


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[str, Services]]:
    port = testkit.free_port()
    issuer = f"http://localhost:{port}"
    settings = Settings(data_dir=tmp_path / "data", master_key=testkit.TEST_MASTER_KEY, issuer=issuer,
                        database_url=f"sqlite:///{tmp_path / 'authgate.db'}")
    services = Services(settings)
    bootstrap.prepare(services)
    with services.realm(actor="test") as realm:
        realm.users.create("ada", password=PASSWORD)
    server = testkit.LiveServer(create_app(services=services), port).start()
    yield issuer, services
    server.stop()
    services.database.dispose()


def virtual_authenticator(page: Any) -> tuple[Any, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True,
    }})
    return cdp, added["authenticatorId"]


# How each navigator.credentials.get was asked, kept across pages (sessionStorage) (the page's CSP
# does not apply to an init script).
RECORD_MEDIATION = """
const originalGet = navigator.credentials.get.bind(navigator.credentials);
navigator.credentials.get = (options) => {
  const asked = JSON.parse(sessionStorage.getItem("mediations") || "[]");
  sessionStorage.setItem("mediations", JSON.stringify([...asked, options.mediation || "optional"]));
  return originalGet(options);
};
"""


def sign_in_with_password(page: Any, issuer: str) -> None:
    page.goto(f"{issuer}/login?return_to=/account/passkeys")
    page.fill("#username", "ada")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{issuer}/account/passkeys")


def session_methods(services: Services) -> list[list[str]]:
    with services.database.reader() as session:
        return [row.amr for row in session.scalars(select(BrowserSession).order_by(BrowserSession.created_at))]


def mediations(page: Any) -> list[str]:
    asked: list[str] = page.evaluate("JSON.parse(sessionStorage.getItem('mediations') || '[]')")
    page.evaluate("sessionStorage.removeItem('mediations')")
    return asked


def sign_out_to_the_login_page(page: Any, issuer: str) -> None:
    """A fresh browser session at the login page (which may sign in through autofill at once)."""
    page.evaluate("sessionStorage.removeItem('mediations')")
    page.context.clear_cookies()
    page.goto(f"{issuer}/login?return_to=%2Faccount")


def test_register_then_sign_in_with_the_passkey_alone_and_through_autofill(
    page: Any, world: tuple[str, Services]
) -> None:
    issuer, services = world
    cdp, authenticator = virtual_authenticator(page)
    page.add_init_script(RECORD_MEDIATION)
    sign_in_with_password(page, issuer)
    expect(page.get_by_text("You have no passkey yet.")).to_be_visible()

    page.fill("#passkey-name", "Test laptop")
    page.click("#passkey-register button[type=submit]")
    expect(page).to_have_url(f"{issuer}/account/passkeys?done=added")
    expect(page.locator(".passkey-name")).to_have_text("Test laptop")
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]
    with services.database.reader() as session:
        stored = session.scalars(select(Passkey)).one()
        assert stored.name == "Test laptop" and stored.user_id is not None

    # Autofill: the login page asks for a passkey with conditional mediation as it loads (the username
    # field offers it); the virtual authenticator picks the one credential, and the person is in.
    sign_out_to_the_login_page(page, issuer)
    expect(page).to_have_url(f"{issuer}/account")
    assert mediations(page) == ["conditional"]
    assert session_methods(services)[-1] == ["hwk", "user", "mfa"]

    # "Sign in with a passkey", no username: while the authenticator does not answer by itself, the
    # page waits on its autofill request; the button cancels it and asks outright.
    cdp.send("WebAuthn.setAutomaticPresenceSimulation", {"authenticatorId": authenticator, "enabled": False})
    sign_out_to_the_login_page(page, issuer)
    assert page.get_attribute("#username", "autocomplete") == "username webauthn"
    page.wait_for_function("(sessionStorage.getItem('mediations') || '').includes('conditional')")
    cdp.send("WebAuthn.setAutomaticPresenceSimulation", {"authenticatorId": authenticator, "enabled": True})
    page.click("#passkey-sign-in")
    expect(page).to_have_url(f"{issuer}/account")
    assert mediations(page) == ["conditional", "optional"]
    assert session_methods(services)[-1] == ["hwk", "user", "mfa"]
    with services.database.reader() as session:
        used = session.scalars(select(AuditEvent).where(AuditEvent.type == audit.PASSKEY_USED)).all()
        assert len(used) == 2
        assert session.scalars(select(Passkey)).one().last_used_at is not None
