"""Verifier details the attack table does not show: what is accepted, and how."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
from guard_testkit import AUDIENCE, forge
from jwt.algorithms import ECAlgorithm
from jwt.api_jws import PyJWS

from authgate.guard import Guard, GuardConfig, InvalidToken
from authgate.guard.errors import InsufficientPermission
from authgate.testing import TestIssuer


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/At+Jwt"])
def test_typ_accepted_in_every_spelling_rfc9068_allows(make_guard: Any, issuer: TestIssuer, keys: Any,
                                                      typ: str) -> None:
    guard: Guard = make_guard(kind=Guard)
    assert guard.verify(issuer.token(key=keys.es, headers={"typ": typ})).sub == "user-abe"


def test_typ_not_checked_unless_required(make_guard: Any, issuer: TestIssuer, keys: Any) -> None:
    guard: Guard = make_guard(kind=Guard, required_typ=None)
    assert guard.verify(issuer.token(key=keys.es, headers={"typ": "JWT"})).sub == "user-abe"


def test_audience_list_and_several_accepted_audiences(make_guard: Any, issuer: TestIssuer, keys: Any) -> None:
    guard: Guard = make_guard(kind=Guard)
    assert guard.verify(issuer.token(key=keys.es, aud=["https://other.example", AUDIENCE]))
    multi = Guard(issuer=issuer.url, audience=["https://a.example", "https://b.example"])
    try:
        assert multi.verify(issuer.token(key=keys.es, aud="https://b.example"))
        with pytest.raises(InvalidToken, match="audience"):
            multi.verify(issuer.token(key=keys.es, aud=AUDIENCE))
    finally:
        multi.close()


def test_small_clock_skew_is_tolerated(make_guard: Any, issuer: TestIssuer, keys: Any) -> None:
    guard: Guard = make_guard(kind=Guard, leeway=30)
    now = int(time.time())
    assert guard.verify(issuer.token(key=keys.es, exp=now - 10))
    assert guard.verify(issuer.token(key=keys.es, nbf=now + 10, iat=now + 10))
    strict: Guard = make_guard(kind=Guard, leeway=0)
    with pytest.raises(InvalidToken, match="expired"):
        strict.verify(issuer.token(key=keys.es, exp=now - 10))


def test_algorithm_allow_list_is_enforced(make_guard: Any, issuer: TestIssuer, keys: Any) -> None:
    guard: Guard = make_guard(kind=Guard, algorithms=["ES256"])
    assert guard.verify(issuer.token(key=keys.es))
    with pytest.raises(InvalidToken, match="algorithm not allowed"):
        guard.verify(issuer.token(key=keys.rs))


@pytest.mark.parametrize("algorithms", [["HS256"], ["none"], ["ES256", "HS512"], []])
def test_symmetric_and_none_algorithms_cannot_be_configured(algorithms: list[str]) -> None:
    with pytest.raises(ValueError, match="algorithms"):
        GuardConfig(issuer="http://127.0.0.1:8000", audience=AUDIENCE, algorithms=algorithms)


@pytest.mark.parametrize(("crit", "reason"), [
    (["urn:x"], "unsupported critical header extension"),
    ([], "crit header must be a non-empty array"),
])
def test_crit_refused_even_by_a_pyjwt_that_does_not_check_it(
    make_guard: Any, issuer: TestIssuer, keys: Any, monkeypatch: pytest.MonkeyPatch,
    crit: list[str], reason: str,
) -> None:
    # PyJWT < 2.10 (allowed by our PyJWT>=2.8) did not validate crit itself.
    monkeypatch.setattr(PyJWS, "_validate_crit", lambda self, headers: None)
    guard: Guard = make_guard(kind=Guard)
    token = forge({"alg": "ES256", "kid": keys.es.kid, "typ": "at+jwt", "crit": crit, "urn:x": 1},
                  issuer.claims(), key=keys.es)
    with pytest.raises(InvalidToken, match=reason):
        guard.verify(token)


def test_unexpected_internal_error_is_401_not_500(
    make_guard: Any, issuer: TestIssuer, keys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any) -> bool:
        raise ValueError("library surprise")

    monkeypatch.setattr(ECAlgorithm, "verify", explode)
    guard: Guard = make_guard(kind=Guard)
    with pytest.raises(InvalidToken, match=r"could not be verified \(ValueError\)"):
        guard.verify(issuer.token(key=keys.es))


def test_non_ascii_token_is_refused_before_parsing(make_guard: Any, issuer: TestIssuer, keys: Any) -> None:
    guard: Guard = make_guard(kind=Guard)
    with pytest.raises(InvalidToken, match="malformed token"):
        guard.verify(issuer.token(key=keys.es) + "é")


def test_claims_are_typed_and_read_only(make_guard: Any, issuer: TestIssuer, keys: Any) -> None:
    guard: Guard = make_guard(kind=Guard)
    claims = guard.verify(issuer.token(key=keys.es, permissions=["get:drinks"], scope="openid profile",
                                      realm_access={"roles": ["barista"]}))
    assert claims.sub == "user-abe" and claims.client_id == "coffee-spa"
    assert claims.permissions == frozenset({"get:drinks"})
    assert claims.scopes == frozenset({"openid", "profile"})
    assert claims["permissions"] == ("get:drinks",) and "jti" in claims
    with pytest.raises(dataclasses.FrozenInstanceError):
        claims.sub = "mallory"  # type: ignore[misc]
    with pytest.raises(TypeError):
        claims.raw["sub"] = "mallory"  # type: ignore[index]
    with pytest.raises(TypeError):
        claims["realm_access"]["roles"] = ["manager"]
    plain = claims.to_dict()
    plain["realm_access"]["roles"].append("manager")  # a copy: the cached claims stay intact
    assert json.loads(json.dumps(plain))["realm_access"] == {"roles": ["barista", "manager"]}
    assert claims["realm_access"]["roles"] == ("barista",)


def test_challenge_never_carries_characters_that_break_the_header() -> None:
    err = InsufficientPermission('needs "x"\r\nSet-Cookie: a=b', scope="x")
    challenge = err.www_authenticate('realm "q"')
    assert "\r" not in challenge and "\n" not in challenge
    assert challenge.count('"') == 8  # realm, error, error_description, scope: each quoted once
