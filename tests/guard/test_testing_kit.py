"""authgate.testing, the kit for the guard's users: its tokens go through a real
guard that fetches the kit issuer's keys over HTTP, through the pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import jwt
import pytest

from authgate.guard import Guard, InvalidToken
from authgate.testing import DEFAULT_AUDIENCE, FakeClock, TestIssuer

INTERVAL = 10.0  # the guard's jwks_refetch_interval in these tests


@pytest.fixture
def guard_of() -> Iterator[Callable[..., Guard]]:
    made: list[Guard] = []

    def make(issuer: TestIssuer, **settings: object) -> Guard:
        made.append(Guard(issuer=issuer.url, audience=issuer.audience, required_typ="at+jwt",
                          **settings))
        return made[-1]

    yield make
    for guard in made:
        guard.close()


def test_the_session_issuer_publishes_discovery_and_keys(
    authgate_issuer: TestIssuer, pytestconfig: pytest.Config
) -> None:
    document = httpx.get(authgate_issuer.url + "/.well-known/openid-configuration").json()
    assert document["issuer"] == authgate_issuer.url
    keys = httpx.get(document["jwks_uri"]).json()["keys"]
    assert [key["kid"] for key in keys] == [authgate_issuer.signing_key.kid]
    assert "d" not in keys[0], "only the public half is published"
    # pyproject's authgate_audience ini option sets the session issuer's audience.
    assert authgate_issuer.audience == "https://coffee.example/api" != DEFAULT_AUDIENCE
    assert pytestconfig.getini("authgate_audience") == authgate_issuer.audience


def test_a_token_carries_the_permissions_and_claims_asked_for(
    authgate_issuer: TestIssuer, guard_of: Callable[..., Guard]
) -> None:
    guard = guard_of(authgate_issuer)
    claims = guard.verify(authgate_issuer.token("get:drinks", "post:drinks", sub="ada",
                                                scope="openid", tenant="north"))
    assert claims.sub == "ada"
    assert claims.permissions == {"get:drinks", "post:drinks"}
    assert claims.scopes == {"openid"}
    assert claims["tenant"] == "north"
    assert claims.client_id == "test-client"
    assert jwt.get_unverified_header(authgate_issuer.token())["typ"] == "at+jwt"
    header = authgate_issuer.auth_headers("get:drinks")["Authorization"]
    assert guard.authorize(header).permissions == {"get:drinks"}
    assert "jti" not in guard.verify(authgate_issuer.token(jti=None))


@pytest.mark.parametrize(
    ("mint", "reason"),
    [
        pytest.param(TestIssuer.expired_token, "token expired", id="expired"),
        pytest.param(TestIssuer.not_yet_valid_token, r"not yet valid \(nbf\)", id="nbf-in-future"),
        pytest.param(TestIssuer.wrong_audience_token, "wrong audience", id="wrong-audience"),
        pytest.param(TestIssuer.forged_token, "signature verification failed", id="forged"),
    ],
)
def test_the_bad_tokens_are_refused_for_the_right_reason(
    authgate_issuer: TestIssuer, guard_of: Callable[..., Guard],
    mint: Callable[..., str], reason: str,
) -> None:
    guard = guard_of(authgate_issuer)
    assert guard.verify(authgate_issuer.token("get:drinks")), "the same issuer's good token passes"
    with pytest.raises(InvalidToken, match=reason):
        guard.verify(mint(authgate_issuer, "get:drinks"))


def test_expiry_follows_the_injected_clock(
    authgate_issuer_factory: Callable[..., TestIssuer], authgate_clock: FakeClock,
    guard_of: Callable[..., Guard],
) -> None:
    issuer = authgate_issuer_factory(clock=authgate_clock)
    guard = guard_of(issuer, clock=authgate_clock, leeway=0, claims_cache_size=0)
    token = issuer.token(expires_in=60)
    assert guard.verify(token).expires_at == int(authgate_clock.now) + 60
    authgate_clock.advance(61)
    with pytest.raises(InvalidToken, match="token expired"):
        guard.verify(token)


def test_rotation_a_guard_with_cached_keys_refetches_on_the_unknown_kid(
    authgate_issuer_factory: Callable[..., TestIssuer], authgate_clock: FakeClock,
    guard_of: Callable[..., Guard],
) -> None:
    issuer = authgate_issuer_factory()
    guard = guard_of(issuer, monotonic=authgate_clock, jwks_refetch_interval=INTERVAL)
    before = issuer.token(sub="before")
    assert guard.verify(before).sub == "before"
    assert issuer.jwks_fetches == 1

    new_key = issuer.rotate()
    after = issuer.token(sub="after")
    assert jwt.get_unverified_header(after)["kid"] == new_key.kid
    authgate_clock.advance(INTERVAL)
    assert guard.verify(after).sub == "after"  # unknown kid: one refetch, no restart
    assert issuer.jwks_fetches == 2
    assert guard.verify(issuer.token(sub="again")).sub == "again"
    assert issuer.jwks_fetches == 2, "the new key is cached now"
    assert guard_of(issuer).verify(before).sub == "before", "the old key stays published"

    issuer.rotate(keep_previous=False)
    authgate_clock.advance(INTERVAL)
    assert guard.verify(issuer.token(sub="latest")).sub == "latest"
    with pytest.raises(InvalidToken, match="no matching signing key"):
        guard_of(issuer).verify(issuer.token(key=new_key))


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"])
def test_every_algorithm_the_kit_generates_verifies(
    authgate_issuer_factory: Callable[..., TestIssuer], guard_of: Callable[..., Guard], alg: str
) -> None:
    issuer = authgate_issuer_factory()
    issuer.rotate(alg, keep_previous=False)
    guard = guard_of(issuer, algorithms=[alg])
    assert jwt.get_unverified_header(issuer.token())["alg"] == alg
    assert guard.verify(issuer.token("get:drinks")).permissions == {"get:drinks"}


def test_permissions_are_given_one_way_only(authgate_issuer: TestIssuer) -> None:
    with pytest.raises(TypeError, match="not both"):
        authgate_issuer.token("a", permissions=["b"])


def test_an_issuer_that_is_down_answers_503(
    authgate_issuer_factory: Callable[..., TestIssuer],
) -> None:
    issuer = authgate_issuer_factory()
    issuer.down = True
    assert httpx.get(issuer.jwks_uri).status_code == 503
    issuer.down = False
    assert httpx.get(issuer.jwks_uri).status_code == 200
    assert issuer.hits["/jwks"] == 2
