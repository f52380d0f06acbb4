"""Users through the service layer, on both databases: login checks, rehash, domain errors."""

import argon2
import pytest
from sqlalchemy import select

from authgate.accounts.passwords import PasswordHasher
from authgate.errors import AlreadyExists, InvalidInput, NotFound, WeakPassword
from authgate.services import Services
from authgate.storage.models import AuditEvent, User

PASSWORD = "a perfectly fine passphrase"


def test_usernames_are_case_insensitive_and_unique(services):
    with services.realm() as realm:
        realm.users.create("Abe", password=PASSWORD)
    with services.realm() as realm, pytest.raises(AlreadyExists):
        realm.users.create("ABE")
    with services.reader() as realm:
        assert realm.users.get("aBe").username == "abe"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"username": "has space"}, InvalidInput, id="username with space"),
        pytest.param({"username": ""}, InvalidInput, id="empty username"),
        pytest.param({"username": "ok", "email": "not-an-email"}, InvalidInput, id="bad email"),
        pytest.param({"username": "ok", "password": "password1"}, WeakPassword, id="common password"),
        pytest.param({"username": "ok", "roles": ["ghost"]}, NotFound, id="unknown role"),
    ],
)
def test_bad_input_is_a_domain_error_and_writes_nothing(services, kwargs, error):
    with pytest.raises(error), services.realm() as realm:
        realm.users.create(**kwargs)
    with services.reader() as realm:
        assert realm.users.count() == 0
        assert realm.session.scalars(select(AuditEvent)).all() == []


def test_check_password(services):
    with services.realm() as realm:
        realm.users.create("abe", password=PASSWORD)
        realm.users.create("off", password=PASSWORD, disabled=True)
    with services.realm() as realm:
        assert realm.users.check_password("abe", PASSWORD) is not None
        assert realm.users.check_password("abe", "wrong") is None
        assert realm.users.check_password("off", PASSWORD) is None, "disabled accounts cannot log in"
        assert realm.users.check_password("nobody", PASSWORD) is None
        assert realm.users.check_password("bad name!", PASSWORD) is None


def test_login_rehashes_when_parameters_change(settings):
    weak = Services(settings)
    weak.__dict__["hasher"] = PasswordHasher(memory_kib=19456, time_cost=2)
    from authgate import bootstrap

    bootstrap.prepare(weak)
    with weak.realm() as realm:
        realm.users.create("abe", password=PASSWORD)
    stronger = Services(settings, weak.database)
    stronger.__dict__["hasher"] = PasswordHasher(memory_kib=19456, time_cost=3)
    with stronger.realm() as realm:
        assert realm.users.check_password("abe", PASSWORD)
    with stronger.reader() as realm:
        stored = realm.session.scalar(select(User.password_hash).where(User.username == "abe"))
    assert argon2.extract_parameters(stored).time_cost == 3


def test_unknown_user_costs_the_same_argon2_work(services, monkeypatch):
    calls = []
    hasher = services.hasher
    monkeypatch.setattr(hasher, "burn", lambda password: calls.append("burn"))
    with services.realm() as realm:
        realm.users.check_password("ghost", PASSWORD)
    assert calls == ["burn"]


def test_password_hash_is_never_in_repr(services):
    with services.realm() as realm:
        user = realm.users.create("abe", password=PASSWORD)
        assert "argon2" not in repr(user) and PASSWORD not in repr(user)


def test_signing_keys_are_encrypted_at_rest(services):
    from sqlalchemy import text

    from authgate.masterkey import MasterKey, MasterKeyError
    from authgate.storage.models import SigningKey

    with services.reader() as realm:
        blobs = realm.session.execute(text("SELECT private_key_encrypted FROM signing_keys")).scalars().all()
        key = realm.session.scalars(select(SigningKey)).first()
    assert blobs and all(b"PRIVATE" not in bytes(b) and b"\x30\x81" not in bytes(b)[:12] for b in blobs)
    with pytest.raises(MasterKeyError):
        MasterKey(b"\x00" * 32).decrypt(key.private_key_encrypted, key.kid)


def test_a_new_password_revokes_the_users_refresh_tokens(services):
    from datetime import timedelta

    from authgate.clock import utcnow
    from authgate.storage.models import RefreshToken

    with services.realm() as realm:
        abe = realm.users.create("abe", password=PASSWORD)
        other = realm.users.create("bob", password=PASSWORD)
        later = utcnow() + timedelta(days=1)
        for index, user in enumerate((abe, abe, other)):
            realm.session.add(RefreshToken(
                token_hash=f"{index:064d}", family_id=f"family-{index}", client_id="app", user_id=user.id,
                expires_at=later, family_expires_at=later,
            ))
    with services.realm(actor="test") as realm:
        realm.users.set_password("abe", "another perfectly fine passphrase")
    with services.reader() as realm:
        rows = {row.family_id: row for row in realm.session.scalars(select(RefreshToken))}
    assert rows["family-0"].revoked_at and rows["family-1"].revoked_at
    assert rows["family-2"].revoked_at is None, "other users keep theirs"
