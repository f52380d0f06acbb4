"""The verified-claims cache: hits skip the crypto, never outlive exp, stay bounded."""

from __future__ import annotations

from typing import Any

import pytest
from jwt.algorithms import ECAlgorithm

from authgate.guard import Guard, InvalidToken
from authgate.testing import FakeClock, TestIssuer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every ES256 signature check PyJWT performs, recorded."""
    seen: list[bytes] = []
    original = ECAlgorithm.verify

    def spy(self: ECAlgorithm, msg: bytes, key: Any, sig: bytes) -> bool:
        seen.append(msg)
        return original(self, msg, key, sig)

    monkeypatch.setattr(ECAlgorithm, "verify", spy)
    return seen


def test_repeated_token_is_served_from_cache_without_crypto(
    make_guard: Any, issuer: TestIssuer, keys: Any, clock: FakeClock, signature_checks: list[bytes]
) -> None:
    guard: Guard = make_guard(kind=Guard, clock=clock)
    token = issuer.token(key=keys.es)
    first = guard.verify(token)
    for _ in range(50):
        assert guard.verify(token) is first
    assert len(signature_checks) == 1
    assert guard.verifier.full_verifications == 1
    assert guard.verifier.cache.hits == 50


def test_cache_never_serves_a_token_past_its_exp(
    make_guard: Any, issuer: TestIssuer, keys: Any, clock: FakeClock, signature_checks: list[bytes]
) -> None:
    guard: Guard = make_guard(kind=Guard, clock=clock, leeway=0)
    token = issuer.token(key=keys.es, iat=int(clock.now), exp=int(clock.now) + 60)
    guard.verify(token)
    clock.advance(59)
    guard.verify(token)
    assert len(signature_checks) == 1
    clock.advance(1)  # now == exp: RFC 7519 §4.1.4 says no longer valid
    with pytest.raises(InvalidToken, match="expired"):
        guard.verify(token)
    assert len(signature_checks) == 2  # the cache did not answer; full verification did


def test_within_leeway_after_exp_the_token_is_verified_again_not_cached(
    make_guard: Any, issuer: TestIssuer, keys: Any, clock: FakeClock, signature_checks: list[bytes]
) -> None:
    guard: Guard = make_guard(kind=Guard, clock=clock, leeway=30)
    token = issuer.token(key=keys.es, iat=int(clock.now), exp=int(clock.now) + 60)
    guard.verify(token)
    clock.advance(70)  # past exp, within leeway
    guard.verify(token)
    guard.verify(token)
    assert len(signature_checks) == 3  # every call past exp pays the full check
    clock.advance(30)
    with pytest.raises(InvalidToken, match="expired"):
        guard.verify(token)


def test_cache_ttl_caps_long_lived_tokens(
    make_guard: Any, issuer: TestIssuer, keys: Any, clock: FakeClock, signature_checks: list[bytes]
) -> None:
    guard: Guard = make_guard(kind=Guard, clock=clock, claims_cache_ttl=120)
    token = issuer.token(key=keys.es, iat=int(clock.now), exp=int(clock.now) + 86400)
    guard.verify(token)
    clock.advance(119)
    guard.verify(token)
    assert len(signature_checks) == 1
    clock.advance(1)
    guard.verify(token)
    assert len(signature_checks) == 2


def test_cache_is_bounded_and_evicts_least_recently_used(
    make_guard: Any, issuer: TestIssuer, keys: Any, clock: FakeClock, signature_checks: list[bytes]
) -> None:
    guard: Guard = make_guard(kind=Guard, clock=clock, claims_cache_size=3)
    tokens = [issuer.token(key=keys.es, jti=f"t{n}") for n in range(5)]
    for token in tokens:
        guard.verify(token)
    assert len(guard.verifier.cache) == 3
    guard.verify(tokens[4])  # still cached
    assert len(signature_checks) == 5
    guard.verify(tokens[0])  # evicted: verified again
    assert len(signature_checks) == 6


def test_cache_keys_are_digests_not_tokens(make_guard: Any, issuer: TestIssuer, keys: Any) -> None:
    guard: Guard = make_guard(kind=Guard)
    token = issuer.token(key=keys.es)
    guard.verify(token)
    stored = list(guard.verifier.cache._entries)
    assert stored and all(isinstance(key, bytes) and len(key) == 32 for key in stored)
    assert token.encode() not in stored


def test_failed_tokens_are_not_cached(
    make_guard: Any, issuer: TestIssuer, keys: Any, signature_checks: list[bytes]
) -> None:
    guard: Guard = make_guard(kind=Guard)
    token = issuer.token(key=keys.es, aud="https://elsewhere.example")
    for _ in range(3):
        with pytest.raises(InvalidToken, match="audience"):
            guard.verify(token)
    assert len(signature_checks) == 3
    assert len(guard.verifier.cache) == 0


def test_permissions_are_checked_on_cached_claims_too(make_guard: Any, issuer: TestIssuer, keys: Any) -> None:
    from authgate.guard import InsufficientPermission, Requirement

    guard: Guard = make_guard(kind=Guard)
    token = issuer.token(key=keys.es, permissions=["get:drinks"])
    assert guard.authorize(f"Bearer {token}", Requirement.of("get:drinks")).sub == "user-abe"
    with pytest.raises(InsufficientPermission):
        guard.authorize(f"Bearer {token}", Requirement.of("delete:drinks"))
