"""The key set over real HTTP: rotation, refetch rate limit, outages."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from guard_testkit import forge

from authgate.guard import Guard, InvalidToken, KeysUnavailable
from authgate.testing import FakeClock, TestIssuer, TestKey, new_key

INTERVAL = 10.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def guard_for(make_guard: Any, server: TestIssuer, clock: FakeClock, **settings: Any) -> Guard:
    guard: Guard = make_guard(issuer_url=server.url, kind=Guard, monotonic=clock,
                              jwks_refetch_interval=INTERVAL, **settings)
    return guard


def test_rotated_key_is_picked_up_with_one_refetch(
    make_issuer: Callable[[list[TestKey]], TestIssuer], make_guard: Any, clock: FakeClock
) -> None:
    old, new = new_key("ES256", "2024-old"), new_key("ES256", "2025-new")
    server = make_issuer([old])
    guard = guard_for(make_guard, server, clock)
    assert guard.verify(server.token(key=old)).sub == "user-abe"
    assert server.jwks_fetches == 1

    server.keys = [old, new]  # the issuer rotates, publishing both during the overlap
    clock.advance(INTERVAL)
    assert guard.verify(server.token(key=new)).sub == "user-abe"  # no restart needed
    assert server.jwks_fetches == 2
    assert guard.verify(server.token(key=new, jti="another")).sub == "user-abe"
    assert server.jwks_fetches == 2  # the new key is cached now


def test_refetch_waits_for_the_interval(
    make_issuer: Callable[[list[TestKey]], TestIssuer], make_guard: Any, clock: FakeClock
) -> None:
    old, new = new_key("ES256", "old"), new_key("ES256", "new")
    server = make_issuer([old])
    guard = guard_for(make_guard, server, clock)
    guard.verify(server.token(key=old))
    server.keys = [old, new]
    clock.advance(INTERVAL / 2)
    with pytest.raises(InvalidToken, match="no matching signing key"):
        guard.verify(server.token(key=new))
    assert server.jwks_fetches == 1
    clock.advance(INTERVAL / 2)
    guard.verify(server.token(key=new))
    assert server.jwks_fetches == 2


def test_flood_of_unknown_kids_fetches_at_most_once_per_interval(
    make_issuer: Callable[[list[TestKey]], TestIssuer], make_guard: Any, clock: FakeClock
) -> None:
    real, attacker = new_key("ES256", "real"), new_key("ES256", "attacker")
    server = make_issuer([real])
    guard = guard_for(make_guard, server, clock)
    guard.verify(server.token(key=real))
    baseline = sum(server.hits.values())  # discovery + JWKS

    def flood(count: int) -> None:
        for _ in range(count):
            token = forge({"alg": "ES256", "kid": uuid.uuid4().hex, "typ": "at+jwt"},
                          server.claims(), key=attacker)
            with pytest.raises(InvalidToken):
                guard.verify(token)

    for window in range(1, 4):
        clock.advance(INTERVAL)
        threads = [threading.Thread(target=flood, args=(25,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # 200 tokens with random kids in this window: exactly one more JWKS request.
        assert server.jwks_fetches == 1 + window
    assert sum(server.hits.values()) == baseline + 3


def test_concurrent_refreshes_share_one_fetch(
    make_issuer: Callable[[list[TestKey]], TestIssuer], make_guard: Any, clock: FakeClock
) -> None:
    key = new_key("ES256", "real")
    server = make_issuer([key])
    guard = guard_for(make_guard, server, clock)
    guard.verify(server.token(key=key))
    clock.advance(INTERVAL)
    server.delay = 0.1  # a slow issuer: every caller arrives while the fetch is in flight
    start = threading.Barrier(6)

    def refresh() -> None:
        start.wait()
        guard.verifier.jwks.refresh()

    threads = [threading.Thread(target=refresh) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.jwks_fetches == 2  # the initial fetch and one single-flight refetch


def test_issuer_down_cached_keys_still_verify(
    make_issuer: Callable[[list[TestKey]], TestIssuer], make_guard: Any, clock: FakeClock
) -> None:
    key = new_key("ES256", "k")
    server = make_issuer([key])
    guard = guard_for(make_guard, server, clock, jwks_max_age=60.0)
    guard.verify(server.token(key=key))
    server.down = True  # the issuer answers 503 from now on
    clock.advance(3600)  # keys are stale: the guard tries to refresh, and fails
    assert guard.verify(server.token(key=key, jti="fresh-token")).sub == "user-abe"
    assert server.hits["/jwks"] + server.hits["/.well-known/openid-configuration"] >= 3

    server.stop()  # now nothing listens at all
    clock.advance(3600)
    assert guard.verify(server.token(key=key, jti="yet-another")).sub == "user-abe"


def test_no_keys_ever_fetched_is_503_not_401(make_guard: Any, clock: FakeClock,
                                            make_issuer: Callable[[list[TestKey]], TestIssuer]) -> None:
    key = new_key("ES256", "k")
    server = make_issuer([key])
    server.down = True
    guard = guard_for(make_guard, server, clock)
    with pytest.raises(KeysUnavailable) as refused:
        guard.verify(server.token(key=key))
    assert refused.value.status_code == 503
    server.down = False
    clock.advance(INTERVAL)
    assert guard.verify(server.token(key=key)).sub == "user-abe"  # recovers by itself


def test_discovery_for_another_issuer_is_not_trusted(
    make_issuer: Callable[[list[TestKey]], TestIssuer], make_guard: Any, clock: FakeClock
) -> None:
    key = new_key("ES256", "k")
    server = make_issuer([key])
    # OIDC Discovery §4.3: the document's issuer must be the one we asked.
    guard: Guard = make_guard(issuer_url=server.url + "/tenant", kind=Guard, monotonic=clock)
    with pytest.raises(KeysUnavailable):
        guard.verify(server.token(key=key, iss=server.url + "/tenant"))
    assert server.jwks_fetches == 0


def test_jwks_keys_that_cannot_verify_are_ignored(
    make_issuer: Callable[[list[TestKey]], TestIssuer], make_guard: Any, clock: FakeClock
) -> None:
    good, enc, liar = new_key("ES256", "good"), new_key("ES256", "enc"), new_key("ES256", "liar")
    server = make_issuer([good])
    server.extra_jwks = [
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},  # a shared secret is never trusted
        {**enc.jwk, "use": "enc"},  # RFC 7517 §4.2: an encryption key
        {**liar.jwk, "alg": "RS256"},  # the declared alg disagrees with the key
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        "not even an object",
    ]
    guard = guard_for(make_guard, server, clock)
    assert guard.verify(server.token(key=good)).sub == "user-abe"
    held = guard.verifier.jwks.keys
    assert held is not None and [key.kid for key in held.keys] == ["good"]
    for key in (enc, liar):
        with pytest.raises(InvalidToken, match="no matching signing key"):
            guard.verify(server.token(key=key))


def test_async_verification_fetches_keys_off_the_event_loop(
    make_issuer: Callable[[list[TestKey]], TestIssuer], make_guard: Any, clock: FakeClock
) -> None:
    key = new_key("EdDSA", "ed")
    server = make_issuer([key])
    guard = guard_for(make_guard, server, clock)
    loop_thread: list[int] = []
    fetch_threads: list[int] = []
    original = guard.verifier.jwks.refresh

    def spying_refresh() -> None:
        fetch_threads.append(threading.get_ident())
        original()

    guard.verifier.jwks.refresh = spying_refresh  # type: ignore[method-assign]

    async def main() -> str | None:
        loop_thread.append(threading.get_ident())
        return (await guard.verify_async(server.token(key=key))).sub

    # A thread of its own: another test (Playwright's sync API) may have left this thread's loop running.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, main()).result() == "user-abe"
    assert fetch_threads and fetch_threads[0] != loop_thread[0]
