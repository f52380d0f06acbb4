"""The one cache type: peek never loads, get loads once per key, TTL and refresh on a clock the test moves."""

from __future__ import annotations

import threading

import pytest

from authgate.caching import MISS, Cache
from authgate.testing.clock import FakeClock


class Loader:
    """Answers `f(key)` (or raises `error`), counting loads; `gate` holds a load in flight."""

    def __init__(self, answer=lambda key: f"value of {key}") -> None:
        self.answer = answer
        self.loads: list[object] = []
        self.error: BaseException | None = None
        self.gate: threading.Event | None = None
        self.started = threading.Event()

    def __call__(self, key):
        self.loads.append(key)
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(5)
        if self.error is not None:
            raise self.error
        return self.answer(key)


def test_peek_answers_from_memory_only_and_tells_a_miss_from_a_cached_none():
    loader = Loader(lambda key: None if key == "ghost" else key.upper())
    cache = Cache(loader, ttl=10, clock=FakeClock())
    assert cache.peek("a") is MISS and cache.peek("ghost") is MISS
    assert loader.loads == [], "peek loads nothing"
    assert cache.get("a") == "A" and cache.get("ghost") is None
    assert cache.peek("a") == "A"
    assert cache.peek("ghost") is None, "a cached negative answer is a hit, not a miss"
    assert loader.loads == ["a", "ghost"]


def test_get_loads_once_per_ttl_then_again():
    loader, clock = Loader(), FakeClock()
    cache = Cache(loader, ttl=10, clock=clock)
    for _ in range(3):
        assert cache.get("k") == "value of k"
    clock.advance(9.9)
    assert cache.get("k") == "value of k" and loader.loads == ["k"]
    clock.advance(0.1)
    assert cache.peek("k") is MISS, "no longer fresh at exactly the TTL"
    cache.get("k")
    assert loader.loads == ["k", "k"]


def test_max_age_reloads_an_entry_older_than_asked():
    loader, clock = Loader(), FakeClock()
    cache = Cache(loader, ttl=10, clock=clock)
    cache.get("k")
    clock.advance(0.4)
    cache.get("k", max_age=0.5)
    clock.advance(0.1)
    cache.get("k", max_age=0.5)
    assert loader.loads == ["k", "k"]


def test_a_lifetime_shorter_than_the_ttl_wins():
    clock = FakeClock(start=1000.0)
    cache = Cache(Loader(lambda key: 1003.0), ttl=60, clock=clock, lifetime=lambda expires: expires)
    cache.get("token")
    clock.advance(2.9)
    assert cache.peek("token") == 1003.0
    clock.advance(0.1)
    assert cache.peek("token") is MISS


def test_invalidate_and_clear_force_a_load():
    loader = Loader()
    cache = Cache(loader, ttl=10, clock=FakeClock())
    cache.get("a"), cache.get("b")
    cache.invalidate("a")
    assert cache.peek("a") is MISS and cache.peek("b") == "value of b"
    cache.clear()
    assert cache.peek("b") is MISS and len(cache) == 0
    cache.get("a")
    assert loader.loads == ["a", "b", "a"]


def test_a_load_that_raced_an_invalidation_is_not_kept():
    """Invalidated while a load was reading: what it read may predate the change, so it is not stored."""
    loader = Loader()
    loader.gate = threading.Event()
    cache = Cache(loader, ttl=10, clock=FakeClock())
    thread = threading.Thread(target=cache.get, args=("k",))
    thread.start()
    assert loader.started.wait(5)
    cache.invalidate("k")
    loader.gate.set()
    thread.join(5)
    assert cache.peek("k") is MISS


def test_a_zero_ttl_caches_nothing():
    loader = Loader()
    cache = Cache(loader, ttl=0, clock=FakeClock())
    cache.get("k"), cache.get("k")
    assert cache.peek("k") is MISS and loader.loads == ["k", "k"]


def test_the_size_is_bounded_and_the_oldest_load_makes_room():
    loader = Loader()
    cache = Cache(loader, ttl=10, clock=FakeClock(), max_entries=3)
    for key in ("a", "b", "c", "d"):
        cache.get(key)
    assert len(cache) == 3 and cache.peek("a") is MISS and cache.peek("d") == "value of d"


def test_concurrent_gets_of_one_key_share_one_load():
    loader = Loader()
    loader.gate = threading.Event()
    cache = Cache(loader, ttl=10, clock=FakeClock())
    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(cache.get("k")))
    first.start()
    assert loader.started.wait(5)
    others = [threading.Thread(target=lambda: results.append(cache.get("k"))) for _ in range(8)]
    for thread in others:
        thread.start()
    loader.gate.set()
    for thread in [first, *others]:
        thread.join(5)
    assert loader.loads == ["k"] and results == ["value of k"] * 9


def test_those_waiting_for_a_failed_load_share_its_failure_and_the_next_caller_tries_anew():
    loader = Loader()
    loader.gate, loader.error = threading.Event(), ConnectionError("database down")
    cache = Cache(loader, ttl=10, clock=FakeClock())
    failures: list[BaseException] = []

    def get() -> None:
        try:
            cache.get("k")
        except ConnectionError as error:
            failures.append(error)

    first = threading.Thread(target=get)
    first.start()
    assert loader.started.wait(5)
    waiters = [threading.Thread(target=get) for _ in range(4)]
    for thread in waiters:
        thread.start()
    loader.gate.set()
    for thread in [first, *waiters]:
        thread.join(5)
    assert len(failures) == 5 and loader.loads == ["k"], "one load; every waiter failed with it at once"
    assert cache.peek("k") is MISS, "a failure is not cached"
    loader.error = None
    assert cache.get("k") == "value of k" and loader.loads == ["k", "k"]


def test_refresh_due_keeps_entries_in_use_fresh_and_lets_the_others_expire():
    loader, clock = Loader(), FakeClock()
    cache = Cache(loader, ttl=4, clock=clock)
    cache.get("used"), cache.get("idle")
    for _ in range(12):
        assert cache.peek("used") == "value of used"
        cache.refresh_due()
        clock.advance(1)
    assert cache.peek("idle") is MISS
    assert loader.loads.count("idle") <= 2 and loader.loads.count("used") >= 5


def test_refresh_due_leaves_young_entries_alone():
    loader, clock = Loader(), FakeClock()
    cache = Cache(loader, ttl=4, clock=clock)
    cache.get("k")
    clock.advance(1.9)
    cache.refresh_due()
    assert loader.loads == ["k"]


@pytest.mark.parametrize("ttl", [0, -1])
def test_refresh_due_is_a_no_op_without_a_ttl(ttl: float):
    loader = Loader()
    cache = Cache(loader, ttl=ttl, clock=FakeClock())
    cache.get("k")
    cache.refresh_due()
    assert loader.loads == ["k"]
