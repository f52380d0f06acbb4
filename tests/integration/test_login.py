"""PasswordLogin on both databases: no connection held while argon2 runs, what a success and a failure write."""

from __future__ import annotations

from datetime import timedelta

import argon2
import pytest
from sqlalchemy import select, text

from authgate import audit, bootstrap
from authgate.accounts.login import LoginFailed, LoginThrottled, PasswordLogin
from authgate.accounts.passwords import PasswordHasher
from authgate.accounts.throttle import Throttle, account_key
from authgate.clock import aware
from authgate.services import Services
from authgate.storage.database import Database, DatabaseUnavailable
from authgate.storage.models import AuditEvent, User

PASSWORD = "a perfectly fine passphrase"
IP = "192.0.2.10"


@pytest.fixture
def login(services: Services) -> PasswordLogin:
    with services.realm() as realm:
        realm.users.create("abe", password=PASSWORD)
        realm.users.create("off", password=PASSWORD, disabled=True)
    return PasswordLogin(services)


def pair_counted(services: Services, username: str, ip: str) -> bool:
    return services.throttle.check(account_key(username), ip).pair_counted


def login_events(services: Services) -> list[tuple[str, str | None, str]]:
    with services.database.reader() as session:
        return [(event.type, event.subject, event.outcome) for event in session.scalars(
            select(AuditEvent).where(AuditEvent.type.startswith("login.")).order_by(AuditEvent.id))]


def test_no_connection_is_held_while_argon2_runs(services, login, monkeypatch):
    pool = services.database.engine.pool
    held: list[int] = []
    hasher = services.hasher

    def verify(stored, password):
        held.append(pool.checkedout())  # type: ignore[attr-defined]
        return PasswordHasher.verify(hasher, stored, password)

    def burn(password):
        held.append(pool.checkedout())  # type: ignore[attr-defined]
        PasswordHasher.burn(hasher, password)

    monkeypatch.setattr(hasher, "verify", verify)
    monkeypatch.setattr(hasher, "burn", burn)
    login.authenticate("abe", PASSWORD, ip=IP)
    with pytest.raises(LoginFailed):
        login.authenticate("ghost", PASSWORD, ip=IP)
    assert held == [0, 0]


def test_a_success_is_recorded_and_clears_the_pair_only(services, login):
    with pytest.raises(LoginFailed):
        login.authenticate("abe", "wrong", ip=IP)
    assert pair_counted(services, "abe", IP)
    user = login.authenticate("ABE", PASSWORD, ip=IP, client_id="app")
    assert (user.username, user.id > 0) == ("abe", True)
    assert not pair_counted(services, "abe", IP)
    with services.database.reader() as session:
        assert session.scalar(select(User.last_login_at).where(User.username == "abe")) is not None
    assert login_events(services) == [(audit.LOGIN_FAILED, "abe", "failure"), (audit.LOGIN_SUCCEEDED, "abe", "success")]
    keys = Throttle.keys("abe", IP)
    counted = services.throttle.counters.state([keys["account"], keys["address"]]).counted
    assert counted == {keys["account"], keys["address"]}


@pytest.mark.parametrize(("username", "password"), [
    pytest.param("abe", "wrong", id="wrong password"),
    pytest.param("ghost", PASSWORD, id="unknown user"),
    pytest.param("off", PASSWORD, id="disabled account"),
    pytest.param("bad name!", PASSWORD, id="impossible username"),
])
def test_failures_are_alike_and_counted(services, login, username, password):
    with pytest.raises(LoginFailed) as failed:
        login.authenticate(username, password, ip=IP)
    assert str(failed.value) == "Invalid username or password."
    assert pair_counted(services, username, IP)
    assert login_events(services) == [(audit.LOGIN_FAILED, account_key(username), "failure")]
    with services.database.reader() as session:
        assert session.scalars(select(User.last_login_at).where(User.last_login_at.is_not(None))).all() == []


def test_a_throttled_attempt_checks_no_password(services, make_settings, login, monkeypatch):
    services.__dict__["throttle"] = Throttle.from_settings(make_settings(lockout_pair_threshold=1), services.database)
    login = PasswordLogin(services)  # with that throttle
    with pytest.raises(LoginFailed):
        login.authenticate("abe", "wrong", ip=IP)
    monkeypatch.setattr(services.hasher, "verify", lambda *args: pytest.fail("a refused attempt was hashed"))
    with pytest.raises(LoginThrottled) as throttled:
        login.authenticate("abe", PASSWORD, ip=IP)
    assert throttled.value.retry_after_seconds >= 1


def test_a_rehash_does_not_overwrite_a_password_set_meanwhile(settings):
    weak = Services(settings)
    weak.__dict__["hasher"] = PasswordHasher(memory_kib=19456, time_cost=2)
    bootstrap.prepare(weak)
    with weak.realm() as realm:
        realm.users.create("abe", password=PASSWORD)
    stronger = Services(settings, weak.database)
    stronger.__dict__["hasher"] = PasswordHasher(memory_kib=19456, time_cost=3)
    login = PasswordLogin(stronger)

    verified = login.verify("abe", PASSWORD, ip=IP)
    assert verified.new_hash is not None
    with stronger.realm() as realm:
        realm.users.set_password("abe", "another perfectly fine passphrase")
    with stronger.database.transaction() as session:
        login.record(session, verified)
    with stronger.database.reader() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "abe"))
    assert stored is not None and argon2.PasswordHasher().verify(stored, "another perfectly fine passphrase")

    login.authenticate("abe", "another perfectly fine passphrase", ip=IP)  # an up-to-date hash: nothing to upgrade
    assert login.verify("abe", "another perfectly fine passphrase", ip=IP).new_hash is None
    weak.database.dispose()


def test_a_lock_is_read_with_the_user_and_refuses(services, make_settings, login):
    throttle = Throttle.from_settings(make_settings(lockout_account_threshold=2), services.database)
    services.__dict__["throttle"] = throttle
    login = PasswordLogin(services)  # with that throttle: the account locks at its second failure
    assert services.throttle.counts_in_database
    for ip in ("192.0.2.1", "192.0.2.2"):
        with pytest.raises(LoginFailed):
            login.authenticate("abe", "wrong", ip=ip)
    with pytest.raises(LoginThrottled) as throttled:  # from a third address, with the right password
        login.authenticate("abe", PASSWORD, ip="192.0.2.3")
    assert throttled.value.retry_after_seconds >= 1
    with pytest.raises(LoginFailed):  # another account from that address: not locked, checked
        login.authenticate("ghost", PASSWORD, ip="192.0.2.3")


def test_a_login_is_recorded_in_one_transaction_on_both_databases(services, login, monkeypatch):
    opened = 0
    transaction = Database.transaction

    def counted(self: Database):  # type: ignore[no-untyped-def]
        nonlocal opened
        opened += 1
        return transaction(self)

    monkeypatch.setattr(Database, "transaction", counted)
    user = login.authenticate("abe", PASSWORD, ip=IP, client_id="app")
    assert user.username == "abe" and opened == 1, "the same path on SQLite and PostgreSQL: one transaction"
    with services.database.reader() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.type == audit.LOGIN_SUCCEEDED)).one()
        last_login_at = session.scalar(select(User.last_login_at).where(User.username == "abe"))
    assert (event.actor, event.subject, event.client_id, event.ip, event.outcome, event.detail) == (
        None, "abe", "app", IP, "success", {})
    assert last_login_at is not None and abs(aware(last_login_at) - aware(event.at)) < timedelta(minutes=1)


def test_a_one_statement_connection_answers_an_outage_as_unavailable():
    nowhere = Database("postgresql+psycopg://postgres@127.0.0.1:1/authgate")  # nothing listens on port 1
    with pytest.raises(DatabaseUnavailable), nowhere.statement() as connection:
        connection.execute(text("SELECT 1"))
    nowhere.dispose()
