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
    services = Services(make_settings(database_url=database_url, login_requires_verified_email=True))
    bootstrap.prepare(services)
    yield services
    services.database.dispose()


def test_an_unverified_address_is_refused_only_after_the_right_password(backend: str, strict: Services) -> None:
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


def test_an_address_two_accounts_have_verified_names_neither(backend: str, services: Services) -> None:
    with services.realm("test") as realm:
        realm.users.create("ada", password=PASSWORD, email="shared@example.com", email_verified=True)
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
