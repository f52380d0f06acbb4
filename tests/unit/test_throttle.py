"""The brute-force counters: growth, caps, windows, clearing — in the database and in Redis."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select, update

from authgate.accounts.throttle import DatabaseCounters, RedisCounters, Rule, Throttle, account_key
from authgate.clock import utcnow
from authgate.storage.models import LoginThrottle

REDIS = "redis://127.0.0.1:6379/0"
RULE = Rule(threshold=3, base_delay=2.0, max_duration=20.0, window=900)


@pytest.mark.parametrize(("failures", "seconds"), [
    (1, 0.0), (2, 0.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 16.0), (7, 20.0), (10_000, 20.0),
])
def test_locks_grow_and_are_capped(failures, seconds):
    assert RULE.lock_seconds(failures) == seconds


@pytest.mark.parametrize(("typed", "key"), [
    ("Barista", "barista"), ("  BARISTA ", "barista"), ("ｂａｒｉｓｔａ", "barista"), ("a_b", "a_b"),
])
def test_account_keys_follow_username_normalisation(typed, key):
    assert account_key(typed) == key


@pytest.mark.parametrize("typed", ["x" * 400, "wild*card", "pipe|name", "bad name with spaces?"])
def test_odd_account_names_become_digests(typed):
    key = account_key(typed)
    assert key.startswith("h-") and len(key) == 66 and key == account_key(typed)


@pytest.fixture
def database_counters(services):
    return DatabaseCounters(services.database)


@pytest.fixture(params=["database", "redis"])
def counters(request, services):
    database = DatabaseCounters(services.database)
    if request.param == "database":
        yield database
        return
    prefix = f"authgate-unit-{uuid.uuid4().hex}:"
    counters = RedisCounters(REDIS, prefix, fallback=database)
    yield counters
    keys = list(counters.client.scan_iter(match=prefix + "*"))
    if keys:
        counters.client.delete(*keys)


def test_failures_count_then_lock(counters):
    results = [counters.add_failures([("pair:a|1.2.3.4", RULE)])[0] for _ in range(4)]
    assert [n for n, _ in results] == [1, 2, 3, 4]
    assert [s for _, s in results] == [0.0, 0.0, 2.0, 4.0]
    assert 3.0 < counters.state(["pair:a|1.2.3.4", "account:a"]).locked_for <= 4.0
    assert counters.state(["pair:b|1.2.3.4"]).locked_for == 0.0


def test_several_counters_in_one_call(counters):
    rules = [
        ("pair:a|ip", Rule(1, 1.0, 10, 900)),
        ("account:a", Rule(5, 1.0, 10, 900)),
        ("address:ip", Rule(2, 1.0, 10, 900)),
    ]
    assert counters.add_failures(rules) == [(1, 1.0), (1, 0.0), (1, 0.0)]
    assert counters.add_failures(rules) == [(2, 2.0), (2, 0.0), (2, 1.0)]


def test_clear_and_unlock_by_account(counters):
    for key in ("account:a_b", "pair:a_b|1.1.1.1", "pair:a_b|2.2.2.2", "pair:axb|1.1.1.1", "address:1.1.1.1"):
        counters.add_failures([(key, Rule(1, 5.0, 10, 900))])
    counters.clear(["pair:a_b|2.2.2.2"])
    assert counters.state(["pair:a_b|2.2.2.2"]).locked_for == 0.0
    assert counters.clear_prefixed("account:a_b", "pair:a_b|") >= 2
    assert counters.state(["account:a_b", "pair:a_b|1.1.1.1"]).locked_for == 0.0
    # "_" is a LIKE wildcard: the neighbour account and the address must survive.
    assert counters.state(["pair:axb|1.1.1.1"]).locked_for > 0 and counters.state(["address:1.1.1.1"]).locked_for > 0


def test_state_tells_which_keys_have_a_count(counters, services):
    counters.add_failures([("pair:c|ip", RULE)])
    assert counters.state(["pair:c|ip", "account:c"]).counted == {"pair:c|ip"}
    with services.database.reader() as session:
        assert counters.state(["pair:c|ip"], session).counted == {"pair:c|ip"}, "read in the caller's session"
    with services.database.transaction() as session:
        counters.clear(["pair:c|ip"], session)
    assert counters.state(["pair:c|ip"]).counted == frozenset()


def test_redis_state_counts_what_the_database_kept_from_an_outage(services):
    database = DatabaseCounters(services.database)
    database.add_failures([("pair:o|ip", RULE)])
    prefix = f"authgate-unit-{uuid.uuid4().hex}:"
    counters = RedisCounters(REDIS, prefix, fallback=database)
    assert counters.state(["pair:o|ip"]).counted == {"pair:o|ip"}, "so that a success clears it there too"
    counters.clear(["pair:o|ip"])
    assert database.state(["pair:o|ip"]).counted == frozenset()


def test_the_database_window_restarts_the_count(services, database_counters):
    database_counters.add_failures([("account:w", RULE)] * 1)
    database_counters.add_failures([("account:w", RULE)])
    with services.database.transaction() as session:
        session.execute(update(LoginThrottle).where(LoginThrottle.key == "account:w")
                        .values(window_started_at=utcnow() - timedelta(seconds=RULE.window + 1)))
    assert database_counters.add_failures([("account:w", RULE)]) == [(1, 0.0)]
    with services.database.reader() as session:
        assert session.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == "account:w")) == 1


def test_redis_keys_carry_the_prefix_and_expire(services):
    prefix = f"authgate-unit-{uuid.uuid4().hex}:"
    counters = RedisCounters(REDIS, prefix, fallback=DatabaseCounters(services.database))
    counters.add_failures([("account:r", Rule(1, 3.0, 10, 60))])
    client = redis.Redis.from_url(REDIS)
    try:
        assert 0 < client.pttl(prefix + "throttle:account:r") <= 60_000
        assert 0 < client.pttl(prefix + "throttle-lock:account:r") <= 3_000
    finally:
        client.delete(prefix + "throttle:account:r", prefix + "throttle-lock:account:r")


def test_redis_down_falls_back_to_the_database(services):
    database = DatabaseCounters(services.database)
    down = RedisCounters("redis://127.0.0.1:1/0", "x:", fallback=database)
    assert down.add_failures([("account:d", RULE)] * 1) == [(1, 0.0)]
    assert down.add_failures([("account:d", RULE)]) == [(2, 0.0)]
    assert database.add_failures([("account:d", RULE)]) == [(3, 2.0)], "the counts landed in the database"
    assert down.state(["account:d"]).locked_for > 0
    assert down.clear_prefixed("account:d", "pair:d|") == 1


def test_throttle_sets_pair_account_and_address_locks(services, make_settings):
    settings = make_settings(lockout_pair_threshold=2, lockout_account_threshold=3, lockout_ip_threshold=4)
    throttle = Throttle(DatabaseCounters(services.database), settings)
    assert throttle.failed("abe", "10.0.0.1") == []
    assert [lock.kind for lock in throttle.failed("abe", "10.0.0.1")] == ["pair"]
    assert throttle.retry_after("abe", "10.0.0.1") > 0 and throttle.retry_after("abe", "10.0.0.2") == 0
    assert [lock.kind for lock in throttle.failed("abe", "10.0.0.2")] == ["account"]
    assert throttle.retry_after("abe", "10.0.0.3") > 0, "the account is slowed from everywhere"
    throttle.failed("bob", "10.0.0.1")
    assert throttle.retry_after("carol", "10.0.0.1") == 0
    assert "address" in [lock.kind for lock in throttle.failed("dave", "10.0.0.1")]
    assert throttle.retry_after("carol", "10.0.0.1") > 0, "the address is stopped for every account"
    assert throttle.unlock("abe") == 3
    assert throttle.retry_after("abe", "10.0.0.3") == 0
