"""The factors' rules on both databases, with the clock passed in: TOTP drift window and replay, secrets bound to
their user, recovery codes single-use and regenerable, the factor registry, the admin default of `require_mfa`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from authgate.accounts import factors, mfa, recovery_codes, totp
from authgate.masterkey import MasterKeyError
from authgate.services import Services

PASSWORD = "copper-kettle-mountain-6502"  # TEST FIXTURE ONLY
NOW = datetime(2026, 11, 30, 12, 0, 15, tzinfo=UTC)  # 15 s into a time step


def enrolled(services: Services, username: str = "ada", roles: tuple[str, ...] = ()) -> tuple[int, pyotp.TOTP]:
    with services.realm(actor="test") as realm:
        user_id = realm.users.create(username, password=PASSWORD, roles=list(roles)).id
        enrolment = totp.begin(realm.session, services.factor_secrets, user_id, account_name=username, issuer="test")
    app = pyotp.TOTP(enrolment.secret)
    with services.database.transaction() as session:
        assert totp.confirm(session, services.factor_secrets, user_id, app.at(NOW - timedelta(minutes=5)),
                            now=NOW - timedelta(minutes=5))
    return user_id, app


def verify(services: Services, user_id: int, code: str, at: datetime) -> bool:
    with services.database.transaction() as session:
        return totp.verify(session, services.factor_secrets, user_id, code, now=at)


DRIFT = [
    pytest.param(-30, True, id="one-step-behind"),
    pytest.param(0, True, id="this-step"),
    pytest.param(30, True, id="one-step-ahead"),
    pytest.param(-60, False, id="two-steps-behind"),
    pytest.param(60, False, id="two-steps-ahead"),
]


@pytest.mark.parametrize(("offset", "accepted"), DRIFT)
def test_a_code_is_accepted_one_step_either_side(services: Services, offset: int, accepted: bool) -> None:
    user_id, app = enrolled(services)
    assert verify(services, user_id, app.at(NOW + timedelta(seconds=offset)), NOW) is accepted


def test_a_code_is_never_accepted_twice_nor_an_older_one_after_it(services: Services) -> None:
    user_id, app = enrolled(services)
    assert verify(services, user_id, app.at(NOW), NOW)
    assert not verify(services, user_id, app.at(NOW), NOW)  # RFC 6238 §5.2
    assert not verify(services, user_id, app.at(NOW - timedelta(seconds=30)), NOW)  # older than the one used
    assert verify(services, user_id, app.at(NOW + timedelta(seconds=30)), NOW + timedelta(seconds=30))


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x", "١٢٣٤٥٦", "1" * 500, "12\x003456"])
def test_malformed_codes_are_refused_without_an_error(services: Services, code: str) -> None:
    user_id, _app = enrolled(services)
    assert verify(services, user_id, code, NOW) is False


def test_a_sealed_secret_opens_only_for_its_user(services: Services) -> None:
    sealed = services.factor_secrets.seal_totp(1, pyotp.random_base32())
    with pytest.raises(MasterKeyError):
        services.factor_secrets.open_totp(2, sealed)


def test_recovery_codes_work_once_and_a_new_set_kills_the_old(services: Services) -> None:
    user_id, _app = enrolled(services)
    secrets = services.factor_secrets
    with services.database.transaction() as session:
        codes = recovery_codes.generate(session, secrets, user_id)
    assert len(set(codes)) == recovery_codes.COUNT
    with services.database.transaction() as session:
        assert recovery_codes.use(session, secrets, user_id, codes[0].upper())
        assert not recovery_codes.use(session, secrets, user_id, codes[0])
        assert recovery_codes.remaining(session, user_id) == 9
        fresh = recovery_codes.generate(session, secrets, user_id)
        assert not recovery_codes.use(session, secrets, user_id, codes[1])
        assert recovery_codes.use(session, secrets, user_id, fresh[1])


def test_the_registry_lists_factors_without_secrets_and_recovery_codes_are_no_second_factor(services: Services) -> None:
    with services.realm(actor="test") as realm:
        user_id = realm.users.create("bo", password=PASSWORD).id
        recovery_codes.generate(realm.session, services.factor_secrets, user_id)
        assert not factors.has_second_factor(realm.session, user_id)
    user_id, _app = enrolled(services, "cy")
    with services.database.transaction() as session:
        listed = factors.factors_of(session, user_id)
        assert [(factor.kind, factor.second_factor) for factor in listed] == [("totp", True)]
        renamed = factors.rename(session, user_id, "totp", listed[0].id, "Work phone")
        assert renamed.name == "Work phone"


def test_the_admin_role_requires_mfa_once_one_admin_has_a_factor(services: Services) -> None:
    with services.realm(actor="test") as realm:
        realm.roles.create("admin")  # as `authgate init` makes it: require_mfa not set
        first = realm.users.create("root", password=PASSWORD, roles=["admin"]).id
    settings = services.settings
    with services.database.reader() as session:
        assert mfa.requirement(session, settings, first) is mfa.Requirement.NONE  # a fresh install: no lock-in
    second, _app = enrolled(services, "ops", roles=("admin",))
    with services.database.reader() as session:
        assert mfa.requirement(session, settings, second) is mfa.Requirement.SECOND_FACTOR
        assert mfa.requirement(session, settings, first) is mfa.Requirement.ENROL
    with services.realm(actor="test") as realm:
        realm.roles.set_require_mfa("admin", False)
    with services.database.reader() as session:
        assert mfa.requirement(session, settings, first) is mfa.Requirement.NONE
