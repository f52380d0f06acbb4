"""Login rules that depend on the email address: `login_requires_verified_email`, and uniqueness for login by email."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from authgate import bootstrap
from authgate.accounts.login import LoginFailed, LoginUnverified, PasswordLogin
from authgate.services import Services
from authgate.settings import Settings

PASSWORD = "cold-brew-overnight-steep-5151"


@pytest.fixture
def strict(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Services]:
    services = Services(
        make_settings(database_url=database_url, login_requires_verified_email=True)
    )
    bootstrap.prepare(services)
    yield services
    services.database.dispose()


def test_an_unverified_address_is_refused_only_after_the_right_password(
    backend: str, strict: Services
) -> None:
    with strict.realm("test") as realm:
        realm.users.create("ada", password=PASSWORD, email="ada@example.com")
    login = PasswordLogin(strict)
    with pytest.raises(LoginFailed) as wrong:
        login.authenticate("ada", "not-the-password-at-all", ip="192.0.2.1")
    assert not isinstance(wrong.value, LoginUnverified)
    with pytest.raises(LoginUnverified):
        login.authenticate("ada", PASSWORD, ip="192.0.2.1")
    with strict.realm("test") as realm:
        realm.users.update("ada", email_verified=True)
    assert login.authenticate("ada", PASSWORD, ip="192.0.2.1").username == "ada"


def test_an_address_two_accounts_have_verified_names_neither(
    backend: str, services: Services
) -> None:
    with services.realm("test") as realm:
        realm.users.create(
            "ada", password=PASSWORD, email="shared@example.com", email_verified=True
        )
        realm.users.create("bob", password=PASSWORD, email="solo@example.com", email_verified=True)
    login = PasswordLogin(services)
    assert login.authenticate("solo@example.com", PASSWORD, ip="192.0.2.1").username == "bob"
    assert login.authenticate("shared@example.com", PASSWORD, ip="192.0.2.1").username == "ada"
    with services.realm("test") as realm:
        realm.users.update("bob", email="shared@example.com", email_verified=True)
    with pytest.raises(LoginFailed):
        login.authenticate("shared@example.com", PASSWORD, ip="192.0.2.1")


def test_a_changed_address_is_no_longer_verified(backend: str, services: Services) -> None:
    with services.realm("test") as realm:
        realm.users.create("ada", email="ada@example.com", email_verified=True)
        assert realm.users.update("ada", email="ada@elsewhere.example").email_verified is False


def test_the_login_page_asks_to_confirm_first_and_sends_a_new_link(
    backend: str, make_settings: Callable[..., Settings], database_url: str
) -> None:
    from oidc_client.flow import BrowserLike
    from sqlalchemy import select

    from authgate.storage.models import OutboxMessage
    from authgate.web.app import create_app
    from testkit import LiveServer, free_port

    port = free_port()
    services = Services(
        make_settings(
            database_url=database_url,
            issuer=f"http://127.0.0.1:{port}",
            login_requires_verified_email=True,
        )
    )
    bootstrap.prepare(services)
    with services.realm("test") as realm:
        realm.users.create("ada", password=PASSWORD, email="ada@example.com")
    server = LiveServer(create_app(services=services), port).start()
    browser = BrowserLike(server.url)
    try:
        login = "/login"
        refused = browser.submit_login(login, "ada", PASSWORD)
        assert refused.status_code == 403 and "Confirm your email address first" in refused.text
        assert browser.submit_login(login, "ada", "wrong-password-here-123").status_code == 401
        with services.reader() as realm:
            subjects = realm.session.scalars(select(OutboxMessage.payload)).all()
            assert [m["subject"] for m in subjects] == ["Confirm your email address for authgate"]
        with services.realm("test") as realm:
            realm.users.update("ada", email_verified=True)
        assert browser.submit_login(login, "ada", PASSWORD).status_code == 303
    finally:
        browser.close()
        server.stop()
        services.database.dispose()
