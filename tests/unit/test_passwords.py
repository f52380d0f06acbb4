"""argon2id hashing, rehash on parameter change, the policy, and legacy imports."""

import base64
import hashlib

import argon2
import bcrypt
import pytest

from authgate.accounts import legacy_hashes
from authgate.accounts.passwords import PasswordHasher, PasswordPolicy, validate_imported_hash
from authgate.errors import InvalidInput, WeakPassword

GOOD = "correct horse battery staple"


@pytest.fixture(scope="module")
def hasher():
    return PasswordHasher()


def test_hash_is_argon2id_at_owasp_cost_or_more(hasher):
    params = argon2.extract_parameters(hasher.hash(GOOD))
    assert params.type is argon2.Type.ID
    assert params.memory_cost >= 19456 and params.time_cost >= 2


def test_verify_accepts_right_and_rejects_wrong(hasher):
    stored = hasher.hash(GOOD)
    assert hasher.verify(stored, GOOD).ok
    assert not hasher.verify(stored, GOOD + "x").ok
    assert not hasher.verify("not a hash", GOOD).ok


def test_changed_parameters_trigger_rehash(hasher):
    old = PasswordHasher(memory_kib=19456, time_cost=2).hash(GOOD)
    stronger = PasswordHasher(memory_kib=19456, time_cost=3)
    result = stronger.verify(old, GOOD)
    assert result.ok and result.new_hash
    assert argon2.extract_parameters(result.new_hash).time_cost == 3
    assert stronger.verify(result.new_hash, GOOD).new_hash is None


class _CountingArgon2:
    def __init__(self, inner):
        self.inner, self.verified = inner, []

    def verify(self, stored, password):
        self.verified.append(stored)
        return self.inner.verify(stored, password)


def test_missing_hash_costs_one_verification_and_fails(hasher, monkeypatch):
    spy = _CountingArgon2(hasher._argon2)
    monkeypatch.setattr(hasher, "_argon2", spy)
    assert not hasher.verify(None, GOOD).ok
    assert spy.verified == [hasher._dummy_hash]


@pytest.mark.parametrize(
    ("password", "error"),
    [
        pytest.param("short1!", WeakPassword, id="under 8 characters (NIST 800-63B)"),
        pytest.param("password1", WeakPassword, id="common password"),
        pytest.param("qwertyuiop", WeakPassword, id="keyboard walk"),
        pytest.param("abeabeabe1", WeakPassword, id="built from the username"),
        pytest.param("x" * 300, WeakPassword, id="over the maximum length"),
        pytest.param("good pass\x00phrase here", InvalidInput, id="NUL character"),
    ],
)
def test_policy_rejects(password, error):
    with pytest.raises(error):
        PasswordPolicy().check(password, user_inputs=("abe",))


@pytest.mark.parametrize(
    "password",
    [
        GOOD,
        "Tr0ub4dor&3-horse",
        "ünïcödé pässphrâse wörks",
        "a long passphrase of sixty-four characters is welcome here ok!!",
    ],
)
def test_policy_accepts_long_and_unicode_passphrases(password):
    PasswordPolicy().check(password, user_inputs=("abe",))


def test_policy_errors_never_contain_the_password():
    with pytest.raises(WeakPassword) as raised:
        PasswordPolicy().check("password1")
    assert "password1" not in str(raised.value)


def _django(password: str, salt: str = "seasalt", iterations: int = 1000) -> str:
    raw = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(raw).decode()}"


def _keycloak(password: str, algorithm: str = "pbkdf2-sha512", iterations: int = 1000) -> dict:
    salt = b"0123456789abcdef"
    digest = {"pbkdf2-sha512": "sha512", "pbkdf2-sha256": "sha256", "pbkdf2": "sha1"}[algorithm]
    size = {"sha512": 64, "sha256": 64, "sha1": 64}[digest]
    raw = hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations, dklen=size)
    return {
        "credentialData": f'{{"hashIterations":{iterations},"algorithm":"{algorithm}"}}',
        "secretData": f'{{"value":"{base64.b64encode(raw).decode()}","salt":"{base64.b64encode(salt).decode()}"}}',
    }


@pytest.mark.parametrize(
    "make_hash",
    [
        pytest.param(lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=4)).decode(), id="bcrypt"),
        pytest.param(_django, id="django pbkdf2_sha256"),
        pytest.param(lambda pw: legacy_hashes.from_keycloak(_keycloak(pw)), id="keycloak pbkdf2-sha512"),
        pytest.param(lambda pw: legacy_hashes.from_keycloak(_keycloak(pw, "pbkdf2-sha256")),
                     id="keycloak pbkdf2-sha256"),
        pytest.param(lambda pw: argon2.PasswordHasher(type=argon2.Type.I, memory_cost=8192, time_cost=1).hash(pw),
                     id="argon2i"),
    ],
)
def test_imported_hashes_verify_and_upgrade_to_argon2id(hasher, make_hash):
    stored = validate_imported_hash(make_hash(GOOD)) if isinstance(make_hash(GOOD), str) else make_hash(GOOD)
    assert not hasher.verify(stored, "wrong password").ok
    result = hasher.verify(stored, GOOD)
    assert result.ok
    assert result.new_hash and argon2.extract_parameters(result.new_hash).type is argon2.Type.ID


@pytest.mark.parametrize(
    "bad",
    ["$2b$too-short", "pbkdf2_sha256$notanumber$salt$aGFzaA==", "md5$abc$def", "$argon2id$v=19$garbage",
     "keycloak:pbkdf2-md5$1000$c2FsdA==$aGFzaA==", "pbkdf2_sha256$1000$salt$not base64!"],
)
def test_malformed_imports_are_refused(bad):
    with pytest.raises(InvalidInput):
        validate_imported_hash(bad)
